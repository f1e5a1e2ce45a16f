"""What a forecast samples from: weekly throughput and scope growth over the history window, and
the choice between the scope's own throughput and its theme's or the portfolio's (issue #13).

**History window.** The last ``history_weeks`` (default 12) complete ISO weeks before ``now``,
cut at local Monday midnights in the configured zone (``periods``): the current, unfinished week
is never sampled. A moment belongs to a week when ``start <= moment < end``.

**Throughput samples.** The number of flow-level items of the scope that finished (as done) in
each week of the window. When the scope's work began inside the window, only the weeks from the
one in which it began are sampled: the weeks before would add zeros that say nothing about its
pace.

**Growth samples.** The number of items that joined the scope after its work began, per week,
over the same weeks. A scope whose work has not begun, or began in the current week, has no
growth samples: its growth is taken as 0 and the summary shows 0 weeks.

**Too little history.** A scope needs at least ``min_active_weeks`` (default 3) sampled weeks with
finished work. With fewer, one or two weeks would decide its whole forecast, and the other draws
would be zeros; the theme's samples are used instead, then the portfolio's, and the choice says
which and why.

Pure: moments in, counts out; the order of the moments never matters.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from restrat_sync.model.periods import Period, last_complete, previous

ThroughputSource = Literal["scope", "theme", "portfolio"]


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """The complete weeks sampled, oldest first, as of ``now``."""

    now: datetime
    zone: str
    weeks: tuple[Period, ...]

    @property
    def bounds(self) -> tuple[datetime, ...]:
        """The weeks' starts and the last week's end: ``len(weeks) + 1`` instants."""
        return (*(week.start for week in self.weeks), self.weeks[-1].end)


@dataclass(frozen=True, slots=True)
class WeeklySamples:
    """A count per sampled week of one scope, oldest first."""

    scope: str
    weeks: tuple[str, ...]  # ISO week labels, "2026-W47"
    counts: tuple[int, ...]

    @property
    def active_weeks(self) -> int:
        """Weeks with a count above 0."""
        return sum(1 for count in self.counts if count)


@dataclass(frozen=True, slots=True)
class SampleSummary:
    scope: str
    weeks: tuple[str, ...]
    counts: tuple[int, ...]
    total: int
    active_weeks: int  # weeks with a count above 0
    mean: float | None  # None: no weeks sampled
    median: float | None


@dataclass(frozen=True, slots=True)
class ThroughputChoice:
    source: ThroughputSource | None  # None: no scope had enough history
    samples: WeeklySamples | None
    reason: str  # which samples, and why: shown beside the forecast


def history_window(now: datetime, zone: str = "UTC", weeks: int = 12) -> HistoryWindow:
    """The last ``weeks`` complete ISO weeks of ``zone`` before ``now``."""
    if weeks < 1:
        raise ValueError(f"forecast.history_weeks must be at least 1, not {weeks}")
    found = [last_complete("week", now, zone)]
    while len(found) < weeks:
        found.append(previous(found[-1], zone))
    return HistoryWindow(now=now, zone=zone, weeks=tuple(reversed(found)))


def throughput_samples(
    scope: str,
    finished: Iterable[datetime],
    window: HistoryWindow,
    work_began: datetime | None = None,
) -> WeeklySamples:
    """Items finished per week of ``window``, from the week in which work began."""
    return _samples(scope, window, _first_week(window, work_began, scope), finished)


def growth_samples(
    scope: str,
    joined: Iterable[datetime],
    window: HistoryWindow,
    work_began: datetime | None,
) -> WeeklySamples:
    """Items that joined after ``work_began``, per week of ``window`` from the week it began;
    no weeks at all when work has not begun."""
    if work_began is None:
        return WeeklySamples(scope, (), ())
    first = _first_week(window, work_began, scope)
    return _samples(scope, window, first, (moment for moment in joined if moment > work_began))


def summarize_samples(samples: WeeklySamples) -> SampleSummary:
    counts = samples.counts
    return SampleSummary(
        scope=samples.scope,
        weeks=samples.weeks,
        counts=counts,
        total=sum(counts),
        active_weeks=samples.active_weeks,
        mean=statistics.fmean(counts) if counts else None,
        median=float(statistics.median(counts)) if counts else None,
    )


def choose_throughput(
    own: WeeklySamples,
    theme: WeeklySamples | None,
    portfolio: WeeklySamples | None,
    min_active_weeks: int,
) -> ThroughputChoice:
    """The first of the scope's, the theme's and the portfolio's samples that have at least
    ``min_active_weeks`` weeks with finished work."""
    candidates: list[tuple[ThroughputSource, WeeklySamples]] = [("scope", own)]
    if theme is not None:
        candidates.append(("theme", theme))
    if portfolio is not None:
        candidates.append(("portfolio", portfolio))
    short: list[str] = []
    for source, samples in candidates:
        if samples.active_weeks >= min_active_weeks:
            used = _describe(samples)
            reason = used if not short else f"{'; '.join(short)}: using the {source}'s, {used}"
            return ThroughputChoice(source, samples, reason)
        short.append(
            f"{samples.scope} has too little history ({samples.active_weeks} of "
            f"{len(samples.counts)} weeks with finished work, fewer than {min_active_weeks})"
        )
    if not any(sum(samples.counts) for _, samples in candidates):
        scopes = ", ".join(samples.scope for _, samples in candidates)
        weeks = max(len(samples.counts) for _, samples in candidates)
        return ThroughputChoice(
            None, None, f"throughput is zero: no items finished in {scopes} in {weeks} weeks"
        )
    return ThroughputChoice(None, None, "; ".join(short))


def _first_week(window: HistoryWindow, work_began: datetime | None, scope: str) -> int:
    """The index of the first sampled week: the one in which work began (0 before the window,
    ``len(weeks)`` when it began after it)."""
    if work_began is None:
        return 0
    _require_aware(work_began, f"{scope}: work_began")
    return max(0, bisect_right(window.bounds, work_began) - 1)


def _samples(
    scope: str, window: HistoryWindow, first: int, moments: Iterable[datetime]
) -> WeeklySamples:
    bounds = window.bounds
    counts = [0] * len(window.weeks)
    for moment in moments:
        _require_aware(moment, scope)
        index = bisect_right(bounds, moment) - 1
        if 0 <= index < len(counts):
            counts[index] += 1
    labels = tuple(week.label for week in window.weeks)
    return WeeklySamples(scope, labels[first:], tuple(counts[first:]))


def _require_aware(moment: datetime, what: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{what}: {moment.isoformat()} has no time zone; forecasts need UTC")


def _describe(samples: WeeklySamples) -> str:
    return (
        f"{samples.scope}'s throughput: {sum(samples.counts)} items finished in "
        f"{len(samples.counts)} weeks, {samples.active_weeks} of them with finished work"
    )
