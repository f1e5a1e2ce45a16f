"""Effort, allocation and alignment variance (``domain.md``, "Effort, allocation, alignment
variance").

- **Effort** of one item in a period, by the configured measure:
  ``active_days``: days in ``active`` states inside the period, clipped to [start, end),
  finished or not; ``story_points``: the item's points if it finished as done (not cancelled)
  inside the period; ``items``: 1 if it finished as done inside the period.
- **Actual share** of a bucket (each theme, then ``UNALIGNED``) = its effort ÷ the total effort.
  With no effort at all there is no data: shares, deviations and AV are None, never 0.
- **Alignment variance** AV = ½ Σ_b |actual_b − planned_b|, from 0 (as planned) to 1; each
  bucket also reports its signed deviation, actual − planned.

Sums use ``math.fsum``: correctly rounded, so the result does not depend on the order in which
the items come.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

from restrat_sync.config import EffortMeasure
from restrat_sync.model.timeline import Timeline

if TYPE_CHECKING:
    from restrat_sync.model.items import WorkItem
    from restrat_sync.model.periods import Period


def effort(timeline: Timeline, item: WorkItem, measure: EffortMeasure, period: Period) -> float:
    """The effort ``item`` put into ``period`` by ``measure``.

    Only flow-level items (stories, tasks, bugs by default) count towards allocation. This
    function does not check the level: the caller passes only items at
    ``hierarchy.flow_level``, so that a story and its sub-tasks are not counted twice.
    """
    if measure == "active_days":
        return timeline.active_days_within(period.start, period.end)
    if not _done_in(timeline, period):
        return 0.0
    if measure == "items":
        return 1.0
    points = item.story_points
    # Negative points are a data-entry error; counting them would push shares outside [0, 1].
    return points if points is not None and points > 0 else 0.0


def efforts(
    timelines: Iterable[Timeline],
    items: Mapping[str, WorkItem],
    measure: EffortMeasure,
    period: Period,
) -> dict[str, float]:
    """``effort`` of each timeline's item (``items`` must hold its key), by key. The same
    numbers as one call per item, with the period's bounds converted to epoch seconds once."""
    if measure == "active_days":
        since, until = period.start.timestamp(), period.end.timestamp()
        return {line.key: line.active_days_between(since, until) for line in timelines}
    return {line.key: effort(line, items[line.key], measure, period) for line in timelines}


def _done_in(timeline: Timeline, period: Period) -> bool:
    """Finished as done (not cancelled, not reopened since) inside the period."""
    end = timeline.end
    return end is not None and timeline.outcome == "done" and period.start <= end < period.end


@dataclass(frozen=True, slots=True)
class BucketShare:
    bucket: str  # a theme key or UNALIGNED
    planned: float
    actual: float | None  # None: no effort at all in the period
    deviation: float | None  # actual - planned, signed
    effort: float
    keys: tuple[str, ...]  # the items that contributed effort > 0, sorted


@dataclass(frozen=True, slots=True)
class Alignment:
    measure: EffortMeasure
    quarter: str  # the quarter whose planned shares apply
    total_effort: float
    av: float | None  # alignment variance in [0, 1]; None: no data
    buckets: tuple[BucketShare, ...]  # the themes in config order, then UNALIGNED

    @property
    def has_data(self) -> bool:
        return self.av is not None

    @property
    def keys(self) -> tuple[str, ...]:
        """Every item that contributed effort, sorted."""
        return tuple(sorted(key for bucket in self.buckets for key in bucket.keys))


def alignment(
    effort_by_item: Mapping[str, float],
    bucket_of: Mapping[str, str],
    planned: Mapping[str, float],
    measure: EffortMeasure,
    quarter: str,
) -> Alignment:
    """Actual against planned shares of effort, and the alignment variance.

    ``effort_by_item`` is each flow-level item's effort in the period (see ``effort``);
    ``bucket_of`` maps item keys to a theme key or ``UNALIGNED`` (``Attribution.theme``);
    ``planned`` is the planned share of each bucket in ``quarter``, themes then ``UNALIGNED``
    (``Config.planned_shares``). The buckets reported are exactly those of ``planned``, in
    its order. Raises ``ValueError`` naming the item and bucket for an item whose bucket is not
    planned or that has none, and for a negative effort: programming errors, since the
    attribution and the plan come from the same config and ``effort`` is never negative.
    """
    return alignment_of(
        ((key, bucket_of.get(key), value) for key, value in effort_by_item.items()),
        planned,
        measure,
        quarter,
    )


def alignment_of(
    efforts_by_bucket: Iterable[tuple[str, str | None, float]],
    planned: Mapping[str, float],
    measure: EffortMeasure,
    quarter: str,
) -> Alignment:
    """``alignment`` from (item key, bucket, effort) triples: an item may put effort into
    several buckets in one period when its theme changed inside it (``credited_efforts``)."""
    efforts: dict[str, list[float]] = {bucket: [] for bucket in planned}
    keys: dict[str, list[str]] = {bucket: [] for bucket in planned}
    for key, bucket, value in efforts_by_bucket:
        if bucket is None or bucket not in efforts or not value >= 0:  # `not >=`: NaN too
            _refuse(key, value, bucket, efforts)
        if value > 0:
            efforts[bucket].append(value)
            keys[bucket].append(key)
    sums = {bucket: math.fsum(values) for bucket, values in efforts.items()}
    total = math.fsum(value for values in efforts.values() for value in values)
    buckets = tuple(
        _share(bucket, planned[bucket], sums[bucket], total, sorted(set(keys[bucket])))
        for bucket in planned
    )
    return Alignment(measure, quarter, total, _av(buckets), buckets)


def credited_efforts(
    credited: Iterable[tuple[Timeline, datetime, datetime]],
    bucket: str,
    items: Mapping[str, WorkItem],
    measure: EffortMeasure,
    period: Period,
) -> Iterator[tuple[str, str, float]]:
    """(key, ``bucket``, effort) of items credited to ``bucket`` during [since, until): active
    days within that span and the period; points or items where the finish falls in it."""
    start, end = period.start, period.end
    start_ts, end_ts = start.timestamp(), end.timestamp()
    for line, since, until in credited:
        if measure == "active_days":
            if since <= start and until >= end:  # the whole period: most items
                value = line.active_days_between(start_ts, end_ts)
            else:
                low, high = max(start, since), min(end, until)
                value = (
                    line.active_days_between(low.timestamp(), high.timestamp())
                    if low < high
                    else 0.0
                )
        elif line.end is not None and since <= line.end < until:
            value = effort(line, items[line.key], measure, period)
        else:
            value = 0.0
        yield line.key, bucket, value


def _refuse(key: str, value: float, bucket: str | None, planned: Container[str]) -> NoReturn:
    """Says what is wrong with ``key``: these are programming errors, not data problems."""
    if bucket is None:
        raise ValueError(f"item {key} has no bucket")
    if bucket not in planned:
        raise ValueError(f"bucket {bucket!r} (of item {key}) has no planned share")
    raise ValueError(f"item {key} has effort {value}; effort is never negative")


def _share(
    bucket: str, planned: float, effort: float, total: float, keys: list[str]
) -> BucketShare:
    actual = effort / total if total > 0 else None
    deviation = actual - planned if actual is not None else None
    return BucketShare(bucket, planned, actual, deviation, effort, tuple(sorted(keys)))


def _av(buckets: tuple[BucketShare, ...]) -> float | None:
    deviations = [bucket.deviation for bucket in buckets]
    if any(deviation is None for deviation in deviations):
        return None
    value = 0.5 * math.fsum(abs(d) for d in deviations if d is not None)
    # Targets may sum to 1 ± 0.001 (config tolerance) and floats round: AV is defined on [0, 1].
    return min(value, 1.0)
