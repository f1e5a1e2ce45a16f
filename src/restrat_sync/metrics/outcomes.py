"""Outcome predictability and key-result progress (``domain.md``, "Outcome predictability" and
"Key results").

**Predictability.** An item is due on ``WorkItem.due``: its due date, else its fix version's
release date. That day is a local date in the configured zone, so it falls in a period when its
local midnight lies in ``[period.start, period.end)``, and it ends at the next local midnight.
Each item due in the period is exactly one of:

- **cancelled**: its timeline's outcome is ``cancelled``; reported apart, never in the rate;
- **on time**: finished as done no later than the end of its due day;
- **late**: finished as done after the end of its due day, or not (or no longer: reopened)
  finished while its due day is over at ``now``;
- **unfinished**: not finished and its due day not over yet at ``now``; not in the rate.

The on-time rate is on time ÷ (on time + late), None when both are 0.

**Key-result progress.** ``members`` is the current membership of the key result's JQL.
``done_count`` counts members finished as done; ``count`` counts members; ``points_done`` sums
the story points of members finished as done (a done member without points adds 0).
Progress = value ÷ target (not capped: over-achievement shows as more than 1).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from restrat_sync.config import KeyResultMeasure
from restrat_sync.model.items import WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import Timeline

Verdict = Literal["on_time", "late", "unfinished", "cancelled"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True, slots=True)
class Predictability:
    due: int  # every item due in the period, whatever became of it
    on_time: int
    late: int
    unfinished: int  # due day not over yet, not done: not in the rate
    cancelled: int  # reported apart: not in the rate
    rate: float | None  # on_time / (on_time + late); None when both are 0
    on_time_keys: tuple[str, ...]
    late_keys: tuple[str, ...]
    unfinished_keys: tuple[str, ...]
    cancelled_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyResultProgress:
    name: str
    measure: KeyResultMeasure
    target: float
    value: float
    progress: float  # value / target; config makes target > 0
    keys: tuple[str, ...]  # the members the value counts


def predictability(
    items: Iterable[WorkItem],
    timelines: Mapping[str, Timeline],
    period: Period,
    zone: ZoneInfo,
    now: datetime,
) -> Predictability:
    """The on-time rate of ``items`` due in ``period``, judged at ``now``. ``timelines`` must
    hold every due item's key."""
    return summarize(verdicts(items, timelines, period, zone, now))


Verdicts = dict[Verdict, list[str]]  # verdict -> keys of the items due in a period


def verdicts(
    items: Iterable[WorkItem],
    timelines: Mapping[str, Timeline],
    period: Period,
    zone: ZoneInfo,
    now: datetime,
) -> Verdicts:
    """The verdict on each of ``items`` due in ``period``; the verdicts of disjoint scopes
    merge (by joining their lists) into those of the union."""
    found: Verdicts = {name: [] for name in VERDICTS}
    start, end = period.start, period.end
    for item in items:
        day = item.due
        if day is None or not start <= local_midnight(day, zone) < end:
            continue
        found[verdict(timelines[item.key], day_end(day, zone), now)].append(item.key)
    return found


def merged_verdicts(parts: Iterable[Verdicts]) -> Verdicts:
    """The verdicts of the union of the (disjoint) items behind ``parts``."""
    union: Verdicts = {name: [] for name in VERDICTS}
    for part in parts:
        for name, keys in part.items():
            union[name] += keys
    return union


def summarize(found: Verdicts) -> Predictability:
    """The predictability result of the verdicts on the items due in a period."""
    on_time, late = len(found["on_time"]), len(found["late"])
    keys = {name: tuple(sorted(found_keys)) for name, found_keys in found.items()}
    return Predictability(
        due=sum(len(found_keys) for found_keys in found.values()),
        on_time=on_time,
        late=late,
        unfinished=len(found["unfinished"]),
        cancelled=len(found["cancelled"]),
        rate=on_time / (on_time + late) if on_time + late else None,
        on_time_keys=keys["on_time"],
        late_keys=keys["late"],
        unfinished_keys=keys["unfinished"],
        cancelled_keys=keys["cancelled"],
    )


def verdict(line: Timeline, deadline: datetime, now: datetime) -> Verdict:
    """What became of an item due by ``deadline`` (the end of its due day), as seen at ``now``."""
    if line.outcome == "cancelled":
        return "cancelled"
    if line.outcome == "done" and line.end is not None:
        return "on_time" if line.end <= deadline else "late"
    return "late" if deadline <= now else "unfinished"


# Cached: a portfolio's due dates fall on a few hundred days, asked about once per period.
@lru_cache(maxsize=4096)
def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant ``day`` starts in ``zone``, in UTC."""
    # Where a zone skips midnight (a DST change at 00:00), fold=0 reads the missing wall time
    # with the offset before the change: that is the instant of the change, the first one of
    # the day that exists.
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=4096)
def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The end of ``day`` in ``zone``: the next local midnight."""
    return local_midnight(day + timedelta(days=1), zone)


def key_result_progress(
    name: str,
    measure: KeyResultMeasure,
    target: float,
    members: Collection[str],
    items: Mapping[str, WorkItem],
    timelines: Mapping[str, Timeline],
) -> KeyResultProgress:
    """Progress of one key result over its JQL's current ``members`` (keys missing from
    ``items`` are ignored: out of sync scope or deleted). ``timelines`` must hold every member
    found in ``items``."""
    present = [items[key] for key in set(members) if key in items]
    if measure == "count":
        counted = present
        value = float(len(counted))
    else:
        counted = [item for item in present if timelines[item.key].outcome == "done"]
        if measure == "done_count":
            value = float(len(counted))
        else:
            value = math.fsum(item.story_points or 0.0 for item in counted)
    return KeyResultProgress(
        name=name,
        measure=measure,
        target=target,
        value=value,
        progress=value / target,
        keys=tuple(sorted(item.key for item in counted)),
    )
