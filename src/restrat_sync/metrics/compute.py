"""Every metric, per period and scope, from the cache: the one place that wires them together.

``prepare`` builds what does not depend on the period once (timelines, the graph, the
attribution, decision facts); ``compute_periods`` then evaluates each period over only the
items whose span can touch it, found through an index rather than a scan of everything, which
keeps a year of weeks, months and quarters on 100,000 issues within seconds. Within a period
each item is visited once: it belongs to exactly one scope besides ``overall``, so the overall
results come from the scopes' tallies merged (for pivots, an item's own events are found once
and counted in every scope that holds it).

Scopes: ``overall``, ``theme:<KEY>`` per theme, and ``unaligned``. Metric names: ``alignment``
(overall only), ``flow``, ``decision_lag``, ``pivots``, ``predictability``, ``key_results``
(theme scopes), ``data_quality`` (overall only).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from itertools import pairwise
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.cache.snapshots import ThemeSpan
from restrat_sync.config import UNALIGNED, Config
from restrat_sync.metrics import alignment, decisions, flow, outcomes, pivots, quality
from restrat_sync.model.graph import Attribution, Graph, attribute
from restrat_sync.model.items import WorkItem
from restrat_sync.model.periods import Period, last_four_weeks
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

OVERALL = "overall"
UNALIGNED_SCOPE = "unaligned"
# datetime.UTC, as every moment read from the cache: comparisons of datetimes sharing one tzinfo
# skip the offset arithmetic.
FOREVER = datetime.max.replace(tzinfo=UTC)
Span = tuple[datetime, datetime, str]  # (low, high, key): when an item can matter
Near = dict[str, list[str]]  # scope (a theme or unaligned) -> the keys touching a period


def theme_scope(theme_key: str) -> str:
    return f"theme:{theme_key}"


def scope_of_bucket(bucket: str) -> str:
    return UNALIGNED_SCOPE if bucket == UNALIGNED else theme_scope(bucket)


@dataclass
class Prepared:
    """What every period shares: computed once per run."""

    config: Config
    items: dict[str, WorkItem]
    timelines: dict[str, Timeline]
    states: FlowStates
    graph: Graph
    attribution: Attribution
    scope_of: dict[str, str]  # item key -> its theme scope or "unaligned"
    flow_keys: list[str]  # items at the flow level
    decision_facts: dict[str, decisions.DecisionFacts]  # decision items
    members: dict[str, set[str]]
    theme_changes: list[pivots.ThemeChange]
    last_sync_at: datetime | None
    config_problems: tuple[str, ...] = ()
    spans: _Spans = field(init=False)

    def __post_init__(self) -> None:
        self.spans = _Spans.of(self)

    def scopes(self) -> list[str]:
        return [OVERALL, *(theme_scope(t.key) for t in self.config.themes), UNALIGNED_SCOPE]


def prepare(
    cached: CachedPortfolio,
    config: Config,
    history: Sequence[ThemeSpan] = (),
    config_problems: Sequence[str] = (),
) -> Prepared:
    """Timelines, graph, attribution and decision facts of the cached portfolio."""
    states = FlowStates(config.status_map, cached.categories)
    items = cached.items
    timelines = {
        key: build_timeline(item, states, cached.current_categories.get(key))
        for key, item in items.items()
    }
    graph = Graph(items, config.hierarchy.links)
    anchors = [(t.key, cached.members.get(f"theme:{t.key}", set())) for t in config.themes]
    attribution = attribute(graph, anchors)
    flow_level = config.hierarchy.flow_level
    flow_keys = sorted(key for key, item in items.items() if item.level == flow_level)
    facts = _decision_facts(config, items, timelines, graph)
    return Prepared(
        config=config,
        items=items,
        timelines=timelines,
        states=states,
        graph=graph,
        attribution=attribution,
        scope_of={key: scope_of_bucket(attribution.theme[key]) for key in items},
        flow_keys=flow_keys,
        decision_facts=facts,
        members=cached.members,
        theme_changes=theme_changes(history),
        last_sync_at=cached.last_sync_at,
        config_problems=tuple(config_problems),
    )


def _decision_facts(
    config: Config, items: Mapping[str, WorkItem], timelines: Mapping[str, Timeline], graph: Graph
) -> dict[str, decisions.DecisionFacts]:
    flow_level = config.hierarchy.flow_level
    facts: dict[str, decisions.DecisionFacts] = {}
    for key, item in items.items():
        if item.level < config.decision.min_level:
            continue
        starts = (
            timelines[child].start
            for child in graph.descendants(key)
            if child in items and items[child].level == flow_level
        )
        facts[key] = decisions.decision_facts(
            item, timelines[key], starts, config.decision.statuses
        )
    return facts


def theme_changes(history: Sequence[ThemeSpan]) -> list[pivots.ThemeChange]:
    """Consecutive attribution spans of one item with different themes: a theme change at the
    moment the new span began."""
    spans = sorted(history, key=lambda s: (s.issue_key, s.since))
    return [
        pivots.ThemeChange(later.issue_key, later.since, earlier.theme, later.theme)
        for earlier, later in pairwise(spans)
        if earlier.issue_key == later.issue_key and earlier.theme != later.theme
    ]


# --- per period ----------------------------------------------------------------------------------


@dataclass
class PeriodMetrics:
    period: Period
    results: dict[tuple[str, str], Any]  # (scope, metric) -> result dataclass

    def of(self, scope: str, metric: str) -> Any:
        return self.results.get((scope, metric))


def compute_periods(
    prepared: Prepared, periods: Sequence[Period], now: datetime
) -> list[PeriodMetrics]:
    """Every metric of every scope for each period."""
    run = _Run.of(prepared, now)
    flow_near = prepared.spans.flow.touching(periods)
    due_near = prepared.spans.due.touching(periods)
    decision_near = prepared.spans.decisions.touching(periods)
    return [
        _period(run, period, flow_near[i], due_near[i], decision_near[i])
        for i, period in enumerate(periods)
    ]


@dataclass
class _Run:
    """What every period of one computation shares."""

    prepared: Prepared
    now: datetime
    zone: ZoneInfo
    categorizer: flow.Categorizer
    changes: dict[str, list[pivots.ThemeChange]]  # scope -> the theme changes touching it
    # scope -> decision items that moved into or out of it: an item that left a theme is not
    # in the scope any more, but its move is a pivot of that theme too (the move only: its
    # other events and its activity count where it belongs now).
    moved: dict[str, set[str]]

    @classmethod
    def of(cls, prepared: Prepared, now: datetime) -> _Run:
        changes = {scope: _changes_in_scope(prepared, scope) for scope in prepared.scopes()}
        moved = {
            scope: {c.key for c in found if c.key in prepared.decision_facts}
            for scope, found in changes.items()
        }
        config = prepared.config
        categorizer = flow.Categorizer(config.flow_distribution)
        return cls(prepared, now, ZoneInfo(config.timezone), categorizer, changes, moved)


def _period(
    run: _Run, period: Period, flow_near: Near, due_near: Near, decision_near: Near
) -> PeriodMetrics:
    by_metric: dict[str, Mapping[str, Any]] = {
        "flow": _flow(run, period, flow_near),
        "decision_lag": _decision_lag(run, period, decision_near),
        "pivots": _pivots(run, period, decision_near),
        "predictability": _predictability(run, period, due_near),
    }
    results = {
        (scope, metric): found[scope]
        for scope in run.prepared.scopes()
        for metric, found in by_metric.items()
    }
    results[(OVERALL, "alignment")] = _alignment(
        run.prepared, observed(period, run.now), _all(flow_near)
    )
    return PeriodMetrics(period, results)


def _all(near: Near) -> list[str]:
    return [key for keys in near.values() for key in keys]


def observed(period: Period, now: datetime) -> Period:
    """The part of ``period`` that has happened by ``now``: a week, month or quarter not over
    yet ends at now for the measures that accumulate time (effort in active days, load ages),
    so the current period never counts days still to come."""
    if period.end <= now:
        return period
    return replace(period, end=max(period.start, now))


def _flow(run: _Run, period: Period, near: Near) -> dict[str, flow.FlowMetrics]:
    timelines = run.prepared.timelines
    period = observed(period, run.now)
    tallies = {
        scope: flow.tally([timelines[key] for key in keys], period) for scope, keys in near.items()
    }
    tallies[OVERALL] = flow.FlowTally.merged(list(tallies.values()))
    items, categorizer = run.prepared.items, run.categorizer
    return {
        scope: flow.summarize(tallies.get(scope, flow.FlowTally()), items, categorizer)
        for scope in run.prepared.scopes()
    }


def _decision_lag(run: _Run, period: Period, near: Near) -> dict[str, decisions.DecisionLag]:
    as_of = min(run.now, period.end)
    facts = run.prepared.decision_facts
    tallies = {
        scope: decisions.tally([facts[key] for key in keys], period, as_of)
        for scope, keys in near.items()
    }
    tallies[OVERALL] = decisions.DecisionTally.merged(list(tallies.values()))
    alert_days = run.prepared.config.decision.alert_days
    return {
        scope: decisions.summarize(tallies.get(scope, decisions.DecisionTally()), alert_days)
        for scope in run.prepared.scopes()
    }


def _pivots(run: _Run, period: Period, near: Near) -> dict[str, pivots.Pivots]:
    items, timelines = run.prepared.items, run.prepared.timelines
    everything = _all(near)
    # An item's own events are the same in every scope that counts it: found once.
    found = {
        key: pivots.item_pivots(items[key], timelines[key], period)
        for key in [*everything, *run.moved[OVERALL]]
    }
    results: dict[str, pivots.Pivots] = {}
    for scope in run.prepared.scopes():
        held = set(everything if scope == OVERALL else near.get(scope, ()))
        # Items that only passed through the scope bring their theme changes, nothing else.
        passed = [pivots.ItemPivots(key, False, ()) for key in run.moved[scope] - held]
        results[scope] = pivots.pivots_of(
            [*(found[key] for key in held), *passed], run.changes[scope], period
        )
    return results


def _predictability(run: _Run, period: Period, near: Near) -> dict[str, outcomes.Predictability]:
    items, timelines = run.prepared.items, run.prepared.timelines
    found = {
        scope: outcomes.verdicts([items[key] for key in keys], timelines, period, run.zone, run.now)
        for scope, keys in near.items()
    }
    found[OVERALL] = outcomes.merged_verdicts(list(found.values()))
    return {
        scope: outcomes.summarize(found.get(scope) or outcomes.merged_verdicts([]))
        for scope in run.prepared.scopes()
    }


def _changes_in_scope(prepared: Prepared, scope: str) -> list[pivots.ThemeChange]:
    if scope == OVERALL:
        return prepared.theme_changes
    return [
        c
        for c in prepared.theme_changes
        if scope in (scope_of_bucket(c.from_theme), scope_of_bucket(c.to_theme))
    ]


def _alignment(prepared: Prepared, period: Period, keys: Sequence[str]) -> alignment.Alignment:
    measure = prepared.config.effort.measure
    timelines = [prepared.timelines[key] for key in keys]
    efforts = alignment.efforts(timelines, prepared.items, measure, period)
    return alignment.alignment(
        efforts,
        prepared.attribution.theme,
        prepared.config.planned_shares(period.quarter),
        measure,
        period.quarter,
    )


CURRENT = "current"  # the snapshot label of what does not depend on a period


def compute_current(prepared: Prepared, now: datetime) -> dict[tuple[str, str], Any]:
    """What describes the portfolio now rather than a period: key-result progress (from the
    key results' current membership) and data quality (with the unaligned share of the last
    four weeks)."""
    results: dict[tuple[str, str], Any] = {}
    for theme in prepared.config.themes:
        results[(theme_scope(theme.key), "key_results")] = tuple(
            outcomes.key_result_progress(
                kr.name,
                kr.measure,
                kr.target,
                prepared.members.get(f"kr:{theme.key}:{index}", set()),
                prepared.items,
                prepared.timelines,
            )
            for index, kr in enumerate(theme.key_results)
        )
    recent = last_four_weeks(now, prepared.config.timezone)
    shares = _alignment(prepared, recent, _all(prepared.spans.flow.touching([recent])[0]))
    unaligned = next((b.actual for b in shares.buckets if b.bucket == UNALIGNED), None)
    results[(OVERALL, "data_quality")] = _data_quality(prepared, now, unaligned)
    return results


def _data_quality(
    prepared: Prepared, now: datetime, unaligned_share: float | None
) -> quality.DataQuality:
    graph = prepared.graph
    return quality.data_quality(
        fallback_statuses=prepared.states.fallbacks,
        unknown_statuses=prepared.states.unknown,
        items=prepared.items,
        timelines=prepared.timelines,
        flow_level=prepared.config.hierarchy.flow_level,
        decision_level=prepared.config.decision.min_level,
        conflicts=prepared.attribution.conflicts,
        unaligned_share=unaligned_share,
        last_sync_at=prepared.last_sync_at,
        now=now,
        config_problems=prepared.config_problems,
        # A parent through a link rule is a parent too.
        linked=[
            key
            for key, item in prepared.items.items()
            if any(parent != item.parent_key for parent in graph.parents(key))
        ],
    )


# --- spans: which items can touch which period ---------------------------------------------------


@dataclass
class _SpanIndex:
    """Items with a time span [low, high]; finds those overlapping each period. The items are
    kept apart by scope, as every metric takes them, and in key order, so that every list of
    keys a result holds comes out sorted already (sorting a sorted list takes one pass)."""

    by_scope: dict[str, list[Span]]

    @classmethod
    def build(cls, spans: Iterable[Span], scope_of: Mapping[str, str]) -> _SpanIndex:
        by_scope: dict[str, list[Span]] = defaultdict(list)
        for span in sorted(spans, key=itemgetter(2)):
            by_scope[scope_of[span[2]]].append(span)
        return cls(by_scope)

    def touching(self, periods: Sequence[Period]) -> list[Near]:
        """For each period, the keys whose span overlaps [start, end), by scope."""
        found: list[Near] = [{} for _ in periods]
        for chain in _chains(periods):
            starts = [periods[i].start for i in chain]
            ends = [periods[i].end for i in chain]
            for scope, entries in self.by_scope.items():
                near: list[list[str]] = [[] for _ in chain]
                for low, high, key in entries:
                    # Overlap: the period starts at or before `high` and ends after `low`.
                    for position in range(bisect_right(ends, low), bisect_right(starts, high)):
                        near[position].append(key)
                for index, keys in zip(chain, near, strict=True):
                    found[index][scope] = keys
        return found

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.by_scope.values())


def _chains(periods: Sequence[Period]) -> list[list[int]]:
    """The periods' indexes split into runs that do not overlap, each in time order (the weeks,
    the months, ...), so that bisection finds the periods an item touches."""
    chains: list[list[int]] = []
    for index in sorted(range(len(periods)), key=lambda i: periods[i].start):
        chain = next((c for c in chains if periods[c[-1]].end <= periods[index].start), None)
        if chain is None:
            chains.append([index])
        else:
            chain.append(index)
    return chains


@dataclass
class _Spans:
    flow: _SpanIndex
    due: _SpanIndex
    decisions: _SpanIndex

    @classmethod
    def of(cls, prepared: Prepared) -> _Spans:
        scope_of = prepared.scope_of
        return cls(
            flow=_SpanIndex.build(_flow_spans(prepared), scope_of),
            due=_SpanIndex.build(_due_spans(prepared), scope_of),
            decisions=_SpanIndex.build(_decision_spans(prepared), scope_of),
        )


def _flow_spans(prepared: Prepared) -> Iterator[Span]:
    """A flow item matters from its start (or its end, if it never started) to its end."""
    for key in prepared.flow_keys:
        timeline = prepared.timelines[key]
        low = timeline.start or timeline.end
        if low is not None:
            yield (low, timeline.end or FOREVER, key)


def _due_spans(prepared: Prepared) -> Iterator[Span]:
    """An item due on a day matters to the periods holding that day's local midnight."""
    zone = ZoneInfo(prepared.config.timezone)
    for key, item in prepared.items.items():
        due = item.due
        if due is not None and item.level >= prepared.config.hierarchy.flow_level:
            moment = datetime.combine(due, time(), zone).astimezone(UTC)
            yield (moment, moment, key)


def _decision_spans(prepared: Prepared) -> Iterator[Span]:
    """A decision item matters from its creation until it ended, and to the periods of any
    later event on it (a re-parent of a finished epic, say)."""
    for key, facts in prepared.decision_facts.items():
        item = prepared.items[key]
        events = [change.at for change in item.field_changes]
        high = FOREVER if facts.end is None else max([facts.end, *events])
        yield (item.created, high, key)
