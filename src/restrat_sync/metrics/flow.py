"""Flow metrics (``domain.md``, "Flow metrics"): velocity, flow time, flow efficiency, flow load
and flow distribution of the timelines passed, for one period.

The caller picks the timelines: flow-level items of one scope. Every metric is computed in one
pass over them, so a call is O(n); only the handful of items a result lists get sorted.

- **Velocity**: items whose end falls in the period (``period.contains(end)``) with outcome
  ``done``. Cancelled items do not count.
- **Flow time**: median and 85th percentile of ``flow_days`` over the velocity items that have a
  start. Items without one are listed in ``no_start`` (counted, never guessed); items above
  the 85th percentile are ``outliers``.
- **Flow efficiency**: pooled Σ active ÷ Σ (active + waiting) over the same items.
- **Flow load**: items in ``active`` or ``waiting`` at the end of the period, that is in the
  state holding at the last instant inside it (``period.end`` is exclusive, so
  ``period.end - 1 µs``, the finest step a datetime has). Age = ``period.end - start`` in days.
  For a period not over yet the caller passes it ending at now (``compute.observed``).
- **Flow distribution**: the velocity items per category. An item's category is that of its
  issue type when ``issue_types`` names it; else that of the first label in the config's
  ``labels`` order that the item carries; else ``default``. Issue types and labels match
  case-insensitively (Unicode casefold), as status names do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import get_args

from restrat_sync import config
from restrat_sync.config import FlowCategory
from restrat_sync.metrics.results import median, p85
from restrat_sync.model.items import WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.spans import EARLIEST, LATEST
from restrat_sync.model.timeline import DAY_SECONDS, STARTED, Timeline

CATEGORIES: tuple[FlowCategory, ...] = get_args(FlowCategory)
Credited = tuple[Timeline, datetime, datetime]  # an item counted in a scope during [since, until)
# The last instant inside a period whose end is exclusive.
INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Velocity:
    count: int
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlowTime:
    count: int  # velocity items with a start: the ones measured
    median_days: float | None
    p85_days: float | None
    keys: tuple[str, ...]  # the items measured
    no_start: tuple[str, ...]  # velocity items without a start: counted, not measured
    outliers: tuple[str, ...]  # measured items above the 85th percentile


@dataclass(frozen=True, slots=True)
class FlowEfficiency:
    value: float | None  # None when the items spent no time active or waiting
    active_days: float
    waiting_days: float
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlowLoad:
    count: int
    age_p85_days: float | None
    ages: tuple[tuple[str, float], ...]  # (key, age in days), oldest first
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlowDistribution:
    counts: dict[FlowCategory, int]  # every category, 0 included
    shares: dict[FlowCategory, float] | None  # None when nothing finished
    keys: dict[FlowCategory, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class FlowMetrics:
    velocity: Velocity
    flow_time: FlowTime
    efficiency: FlowEfficiency
    load: FlowLoad
    distribution: FlowDistribution


class Categorizer:
    """Sorts items into feature / defect / risk / debt by a config ``FlowDistribution``."""

    def __init__(self, mapping: config.FlowDistribution) -> None:
        self._types = {name.casefold(): category for name, category in mapping.issue_types.items()}
        # dicts keep the YAML's order: the first configured label an item carries wins.
        self._labels = [(label.casefold(), category) for label, category in mapping.labels.items()]
        self._default = mapping.default
        # Items share a handful of issue types and label sets; a run asks about each finished
        # item once per period and scope.
        self._seen: dict[tuple[str, tuple[str, ...]], FlowCategory] = {}

    def of(self, item: WorkItem) -> FlowCategory:
        """The category of ``item``: issue type first, then labels, then the default."""
        asked = (item.issuetype, item.labels)
        category = self._seen.get(asked)
        if category is None:
            category = self._seen[asked] = self._category(*asked)
        return category

    def _category(self, issuetype: str, labels: tuple[str, ...]) -> FlowCategory:
        by_type = self._types.get(issuetype.casefold())
        if by_type is not None:
            return by_type
        if labels:
            carried = {label.casefold() for label in labels}
            for label, category in self._labels:
                if label in carried:
                    return category
        return self._default


@dataclass
class FlowTally:
    """What one pass over a scope's timelines collects. The tallies of disjoint scopes merge
    into the tally of their union, so the overall scope need not visit its items again."""

    done: list[Timeline] = field(default_factory=list)  # the velocity items
    measured: list[tuple[str, float]] = field(default_factory=list)  # (key, flow days)
    no_start: list[str] = field(default_factory=list)
    # Summed with fsum at the end: exact, so the total does not depend on the items' order.
    active: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    loaded: list[tuple[str, float]] = field(default_factory=list)  # (key, age in days)

    def add_done(self, line: Timeline) -> None:
        self.done.append(line)
        if line.flow_days is None:
            self.no_start.append(line.key)
            return
        self.measured.append((line.key, line.flow_days))
        self.active.append(line.active_days)
        self.waiting.append(line.waiting_days)

    @classmethod
    def merged(cls, tallies: Iterable[FlowTally]) -> FlowTally:
        """The tally of the union of the (disjoint) timelines behind ``tallies``."""
        union = cls()
        for part in tallies:
            union.done += part.done
            union.measured += part.measured
            union.no_start += part.no_start
            union.active += part.active
            union.waiting += part.waiting
            union.loaded += part.loaded
        return union


def flow_metrics(
    timelines: Iterable[Timeline],
    items: Mapping[str, WorkItem],
    period: Period,
    distribution: config.FlowDistribution,
) -> FlowMetrics:
    """All flow metrics of ``timelines`` in ``period``. ``items`` must hold every timeline's key
    (the distribution needs their issue types and labels)."""
    return summarize(tally(timelines, period), items, Categorizer(distribution))


def tally(timelines: Iterable[Timeline], period: Period) -> FlowTally:
    """The velocity items and the load of ``timelines`` in ``period``, in one pass."""
    return tally_credited(((line, EARLIEST, LATEST) for line in timelines), period)


def tally_credited(credited: Iterable[Credited], period: Period) -> FlowTally:
    """As ``tally``, for items credited to the scope only during [since, until) (the graph
    with memory: the scope an item belonged to then). An item is velocity where its finish
    falls in that span, load where the period's last instant does."""
    found = FlowTally()
    start, end = period.start, period.end
    last = end - INSTANT
    for line, since, until in credited:
        finished = line.end
        if finished is not None and finished < end:
            # Finished by the period's last instant: never load, velocity if done inside it.
            if finished >= start and line.state == "done" and since <= finished < until:
                found.add_done(line)
        elif (
            since <= last < until
            and line.start is not None
            and line.start <= last
            and line.state_at(last) in STARTED
        ):
            found.loaded.append((line.key, (end - line.start).total_seconds() / DAY_SECONDS))
    return found


def summarize(
    tally: FlowTally, items: Mapping[str, WorkItem], categorizer: Categorizer
) -> FlowMetrics:
    """The flow metrics of a tally. ``items`` must hold the key of every item done."""
    measured = tuple(sorted(key for key, _ in tally.measured))
    return FlowMetrics(
        velocity=Velocity(len(tally.done), tuple(sorted(line.key for line in tally.done))),
        flow_time=_flow_time(tally, measured),
        efficiency=_efficiency(tally, measured),
        load=_load(tally.loaded),
        distribution=_distribution(tally.done, items, categorizer),
    )


def _flow_time(tally: FlowTally, keys: tuple[str, ...]) -> FlowTime:
    days = [value for _, value in tally.measured]
    high = p85(days)
    outliers = [key for key, value in tally.measured if high is not None and value > high]
    return FlowTime(
        count=len(days),
        median_days=median(days),
        p85_days=high,
        keys=keys,
        no_start=tuple(sorted(tally.no_start)),
        outliers=tuple(sorted(outliers)),
    )


def _efficiency(tally: FlowTally, keys: tuple[str, ...]) -> FlowEfficiency:
    active, waiting = math.fsum(tally.active), math.fsum(tally.waiting)
    return FlowEfficiency(
        value=active / (active + waiting) if active + waiting > 0 else None,
        active_days=active,
        waiting_days=waiting,
        keys=keys,
    )


def _load(loaded: list[tuple[str, float]]) -> FlowLoad:
    # Oldest first, then by key: a stable sort by age of the pairs in key order.
    ages = tuple(sorted(sorted(loaded), key=itemgetter(1), reverse=True))
    return FlowLoad(
        count=len(ages),
        age_p85_days=p85([age for _, age in ages]),
        ages=ages,
        keys=tuple(sorted(key for key, _ in ages)),
    )


def _distribution(
    done: list[Timeline], items: Mapping[str, WorkItem], categorizer: Categorizer
) -> FlowDistribution:
    found: dict[FlowCategory, list[str]] = {category: [] for category in CATEGORIES}
    for line in done:
        found[categorizer.of(items[line.key])].append(line.key)
    counts = {category: len(keys) for category, keys in found.items()}
    total = len(done)
    shares = {c: n / total for c, n in counts.items()} if total else None
    keys = {category: tuple(sorted(keys)) for category, keys in found.items()}
    return FlowDistribution(counts=counts, shares=shares, keys=keys)
