"""Forecast accuracy: stored forecasts held against what happened (issue #13, ``domain.md``
"Outcome predictability"). Pure: stored forecasts and outcomes in, figures per quarter out.

A stored forecast is judged once its **moment of truth** has passed at ``now``:

- **Dates** (a forecast with P50 and P85): the end of its P85 day, the local midnight after it
  in the zone. A forecast without dates (no forecast was possible) is never judged.
  - It **held** when the work was done by then: ``completed <= end of the P85 day``.
  - Its **P50 error** is the number of days between the P50 date and the day the work was done
    (the local date by whose end it was done, as for the forecast dates), early or late alike.
  - Work **not done yet** is censored: it missed its P85, and its P50 error is at least
    ``today - P50`` (today: the local date of now), which is counted. The median is then a lower
    bound, and ``censored`` says how many such forecasts it holds.
- **Key results** (a forecast with a probability and a deadline): the deadline. The outcome is
  whether the target was met at the deadline; the **Brier score** is the mean of
  ``(probability - outcome)**2`` with the outcome 1 or 0: 0 is perfect, always saying 50 %
  scores 0.25, and lower is better.

Forecasts are grouped by the quarter, in the zone, in which they were made, so a page can say
"of 14 forecasts made in 2026-Q3, 11 held at P85 (79%); median P50 error 6 days"
(``describe``). ``overall`` holds every judged forecast.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from restrat_sync.metrics.outcomes import day_end
from restrat_sync.model.periods import quarter_of_moment

_TICK = timedelta(microseconds=1)
OVERALL = "all"


@dataclass(frozen=True, slots=True)
class StoredForecast:
    """A forecast as stored when it was made."""

    made_at: datetime
    scope: str
    p50: date | None
    p85: date | None
    p95: date | None
    probability: float | None = None  # key results: of meeting the target at the deadline
    target: float | None = None
    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a forecast's scope, as known at ``now``."""

    completed: datetime | None = None  # when the work was done; None: not done yet
    reached: bool | None = None  # key results: target met at the deadline; None: unknown


@dataclass(frozen=True, slots=True)
class AccuracyGroup:
    quarter: str  # the quarter the forecasts were made in, "2026-Q3"; "all" for every quarter
    judged: int  # date forecasts whose P85 day is over
    held: int  # of those, done by the end of their P85 day
    hit_rate: float | None  # held / judged; None when nothing was judged
    median_p50_error_days: float | None  # a lower bound when censored > 0
    censored: int  # judged forecasts whose work is not done yet
    key_results: int  # key-result forecasts whose deadline is over and outcome known
    brier: float | None  # None when no key result was judged
    missed: tuple[str, ...]  # the scopes of the forecasts that did not hold, sorted


@dataclass(frozen=True, slots=True)
class ForecastAccuracy:
    now: datetime
    zone: str
    quarters: tuple[AccuracyGroup, ...]  # oldest first; only quarters with something judged
    overall: AccuracyGroup


@dataclass(frozen=True, slots=True)
class _DateVerdict:
    scope: str
    held: bool
    error_days: int
    censored: bool


def forecast_accuracy(
    history: Iterable[tuple[StoredForecast, Outcome]], now: datetime, zone: str = "UTC"
) -> ForecastAccuracy:
    """The accuracy of every stored forecast whose moment of truth is over at ``now``."""
    tz = ZoneInfo(zone)
    dates: dict[str, list[_DateVerdict]] = {}
    scores: dict[str, list[float]] = {}
    for stored, outcome in history:
        quarter = _quarter(stored, zone)
        verdict = _judge_dates(stored, outcome, now, tz)
        if verdict is not None:
            dates.setdefault(quarter, []).append(verdict)
        score = _brier_term(stored, outcome, now)
        if score is not None:
            scores.setdefault(quarter, []).append(score)
    quarters = tuple(
        _group(quarter, dates.get(quarter, []), scores.get(quarter, []))
        for quarter in sorted(dates.keys() | scores.keys())
    )
    every_date = [verdict for found in dates.values() for verdict in found]
    every_score = [score for found in scores.values() for score in found]
    return ForecastAccuracy(now, zone, quarters, _group(OVERALL, every_date, every_score))


def describe(group: AccuracyGroup) -> str:
    """The group in one line: "of 14 forecasts made in 2026-Q3, 11 held at P85 (79%); median
    P50 error 6 days"."""
    made = "made in all quarters" if group.quarter == OVERALL else f"made in {group.quarter}"
    parts: list[str] = []
    if group.hit_rate is not None and group.median_p50_error_days is not None:
        error = f"{group.median_p50_error_days:g} days"
        if group.censored:
            error = f"at least {error} ({group.censored} not done yet)"
        parts.append(
            f"of {group.judged} forecasts {made}, {group.held} held at P85 "
            f"({group.hit_rate:.0%}); median P50 error {error}"
        )
    if group.brier is not None:
        noun = "key result" if group.key_results == 1 else "key results"
        parts.append(f"Brier score {group.brier:.2f} over {group.key_results} {noun} ({made})")
    return "; ".join(parts) if parts else f"no forecast {made} can be judged yet"


def _judge_dates(
    stored: StoredForecast, outcome: Outcome, now: datetime, tz: ZoneInfo
) -> _DateVerdict | None:
    if stored.p50 is None or stored.p85 is None:
        return None
    truth = day_end(stored.p85, tz)
    if now < truth:
        return None
    done = outcome.completed
    if done is None or done > now:  # not done yet as far as now can tell: censored
        today = _day_of(now, tz)
        return _DateVerdict(stored.scope, False, (today - stored.p50).days, True)
    error = abs((_day_of(done, tz) - stored.p50).days)
    return _DateVerdict(stored.scope, done <= truth, error, False)


def _brier_term(stored: StoredForecast, outcome: Outcome, now: datetime) -> float | None:
    if stored.probability is None or stored.deadline is None or outcome.reached is None:
        return None
    if now < stored.deadline:
        return None
    return (stored.probability - (1.0 if outcome.reached else 0.0)) ** 2


def _group(quarter: str, dates: list[_DateVerdict], scores: list[float]) -> AccuracyGroup:
    held = sum(1 for verdict in dates if verdict.held)
    errors = [verdict.error_days for verdict in dates]
    return AccuracyGroup(
        quarter=quarter,
        judged=len(dates),
        held=held,
        hit_rate=held / len(dates) if dates else None,
        median_p50_error_days=float(statistics.median(errors)) if errors else None,
        censored=sum(1 for verdict in dates if verdict.censored),
        key_results=len(scores),
        brier=math.fsum(scores) / len(scores) if scores else None,
        missed=tuple(sorted(verdict.scope for verdict in dates if not verdict.held)),
    )


def _quarter(stored: StoredForecast, zone: str) -> str:
    try:
        return quarter_of_moment(stored.made_at, zone).label
    except ValueError as problem:
        raise ValueError(f"the forecast of {stored.scope}: {problem}") from None


def _day_of(moment: datetime, tz: ZoneInfo) -> date:
    """The local date by whose end ``moment`` has passed (midnight belongs to the day before)."""
    return (moment - _TICK).astimezone(tz).date()
