"""Reporting periods: the rolling last four weeks, ISO weeks, months and quarters.

Definitions (``domain.md``, "Periods and cadences"):

- Periods are cut at local midnights in an IANA time zone and stored as aware UTC instants,
  half-open: ``start <= moment < end``. A moment exactly at local midnight belongs to the period
  that begins there. A day with a DST change lasts 23 or 25 hours, so ``Period.days`` is
  fractional.
- **week** ``2026-W47``: an ISO 8601 week, Monday to Sunday, numbered in its ISO year. So
  ``2026-W01`` begins on Monday 2025-12-29, and ``W53`` exists only in ISO years that have 53
  weeks (2026 does, 2025 does not).
- **month** ``2026-11`` and **quarter** ``2026-Q4``: calendar months and quarters.
- **rolling** ``last-4-weeks``: the 28 local days ending now. It starts at local midnight of
  (today - 27 days) and ends at ``now`` itself, not at a midnight, so work in progress counts up to
  the moment of the sync. The rolling window before it is the 28 whole local days before its
  start; it cannot be called "last" anything, so its label is its first and last day
  (``2026-09-28..2026-10-25``).
- A period that has not ended yet (the current week) keeps its natural end; nothing is clipped to
  now. Only the rolling window ends at ``now``.
- ``Period.quarter`` names the quarter whose targets apply: the one holding the period's last local
  day, i.e. the day of its last instant. A week from Monday 2026-09-28 to Sunday 2026-10-04 is
  judged against 2026-Q4.

Every function takes the zone as an IANA name (``Europe/Berlin``) and rejects naive datetimes:
a naive moment would silently be read in the host's zone.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PeriodKind = Literal["rolling", "week", "month", "quarter"]
CalendarKind = Literal["week", "month", "quarter"]
CALENDAR_KINDS: tuple[CalendarKind, ...] = get_args(CalendarKind)
ROLLING_LABEL = "last-4-weeks"
ROLLING_DAYS = 28
DAY_SECONDS = 86_400.0

_FORMS = "use last-4-weeks, 2026-W47, 2026-11 or 2026-Q4"
_WEEK = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_QUARTER = re.compile(r"(\d{4})-Q(\d)", re.ASCII)
_TICK = timedelta(microseconds=1)  # datetime's resolution: end - _TICK is a period's last instant


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # "last-4-weeks", "2026-W47", "2026-11", "2026-Q4"
    kind: PeriodKind
    start: datetime  # aware UTC, inclusive: local midnight at the first day
    end: datetime  # aware UTC, exclusive: local midnight after the last day (rolling: now)
    quarter: str  # the quarter whose targets apply, e.g. "2026-Q4"

    def contains(self, moment: datetime) -> bool:
        """Whether an aware ``moment`` lies in ``[start, end)``."""
        return self.start <= moment < self.end

    @property
    def days(self) -> float:
        """The length in days of elapsed time: a DST day counts as 23/24 or 25/24."""
        return (self.end - self.start).total_seconds() / DAY_SECONDS


def parse_period(label: str, now: datetime, zone: str) -> Period:
    """The period a label names, cut in ``zone``. ``now`` only matters for ``last-4-weeks``.

    Raises ``ValueError`` naming the label and the accepted forms when it names no period.
    """
    tz = _zone(zone)
    if label == ROLLING_LABEL:
        return _last_four_weeks(now, tz)
    try:
        period = _parse_calendar(label, tz)
    except (ValueError, OverflowError):  # a year at the edge of what datetime can hold
        period = None
    if period is None:
        raise ValueError(f"{label!r} is not a period: {_hint(label)}{_FORMS}")
    return period


def parse_moment(text: str, zone: str) -> datetime:
    """An instant written in ISO 8601 (``2026-10-01T00:00``, ``2026-10-01``,
    ``2026-10-01T00:00+02:00``), read in ``zone`` unless it has an offset; in UTC.

    Raises ``ValueError`` naming the text when it is no such instant.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an instant: write it as 2026-10-01T00:00 (in {zone}) or with an "
            "offset, 2026-10-01T00:00+02:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(zone))
    return moment.astimezone(UTC)


def last_four_weeks(now: datetime, zone: str) -> Period:
    """The rolling window: from local midnight 27 days before ``now``'s local day to ``now``."""
    return _last_four_weeks(now, _zone(zone))


def period_of(kind: CalendarKind, moment: datetime, zone: str) -> Period:
    """The week, month or quarter of ``zone`` that contains ``moment``."""
    tz = _zone(zone)
    return _containing(kind, _local_day(moment, tz), tz)


def week_of(moment: datetime, zone: str) -> Period:
    """The ISO week of ``zone`` that contains ``moment``."""
    return period_of("week", moment, zone)


def month_of(moment: datetime, zone: str) -> Period:
    """The month of ``zone`` that contains ``moment``."""
    return period_of("month", moment, zone)


def quarter_of_moment(moment: datetime, zone: str) -> Period:
    """The quarter of ``zone`` that contains ``moment``."""
    return period_of("quarter", moment, zone)


def previous(period: Period, zone: str) -> Period:
    """The period of the same kind that ends where ``period`` starts.

    ``zone`` must be the zone ``period`` was cut in. Before a rolling window come the 28 whole
    local days before its start.
    """
    tz = _zone(zone)
    kind = period.kind
    if kind == "rolling":
        return _rolling_before(period.start, tz)
    return _containing(kind, _local_day(period.start, tz) - timedelta(days=1), tz)


def last_complete(kind: CalendarKind, now: datetime, zone: str) -> Period:
    """The last whole week, month or quarter that ended at or before ``now``.

    At exactly local midnight on a boundary, that is the period that has just ended.
    """
    return previous(period_of(kind, now, zone), zone)


def periods_between(
    kind: CalendarKind, since: datetime, until: datetime, zone: str
) -> list[Period]:
    """Every period of ``kind`` that overlaps ``[since, until)``, oldest first.

    The first and last may reach beyond the interval: they are not clipped.
    """
    tz = _zone(zone)
    found: list[Period] = []
    if until <= since:
        return found
    period = _containing(kind, _local_day(since, tz), tz)
    while period.start < until:
        found.append(period)
        period = _containing(kind, _local_day(period.end, tz), tz)
    return found


def recent_periods(now: datetime, zone: str, months: int = 12) -> list[Period]:
    """Every period worth a snapshot over the last ``months`` months.

    The window runs from local midnight on the same day ``months`` months ago (the month's last
    day where that day does not exist) up to ``now``, exclusive. The result is the rolling
    ``last-4-weeks``, then every week, every month and every quarter overlapping the window, each
    kind oldest first. The current week, month and quarter are included with their natural end.
    With ``now`` on Sunday 2026-11-22 in Europe/Berlin that is 1 + 53 + 13 + 5 = 72 periods.
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    tz = _zone(zone)
    since = _midnight(_months_before(_local_day(now, tz), months), tz)
    found = [_last_four_weeks(now, tz)]
    for kind in CALENDAR_KINDS:
        found.extend(periods_between(kind, since, now, zone))
    return found


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone such as Europe/Berlin") from None


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; periods need aware datetimes")
    return moment.astimezone(tz).date()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 reads an ambiguous midnight as its first occurrence, and a midnight that a DST gap
    # skips with the offset from before the gap, which lands on the first instant of the day.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def _months_before(day: date, months: int) -> date:
    year, month = _shift_month(day.year, day.month, -months)
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _calendar(kind: CalendarKind, label: str, first: date, after: date, tz: ZoneInfo) -> Period:
    last = after - timedelta(days=1)
    return Period(label, kind, _midnight(first, tz), _midnight(after, tz), _quarter_label(last))


def _week(iso_year: int, week: int, tz: ZoneInfo) -> Period:
    first = date.fromisocalendar(iso_year, week, 1)
    return _calendar("week", f"{iso_year}-W{week:02d}", first, first + timedelta(days=7), tz)


def _month(year: int, month: int, tz: ZoneInfo) -> Period:
    after = date(*_shift_month(year, month, 1), 1)
    return _calendar("month", f"{year}-{month:02d}", date(year, month, 1), after, tz)


def _quarter(year: int, quarter: int, tz: ZoneInfo) -> Period:
    first = date(year, 3 * quarter - 2, 1)
    after = date(*_shift_month(year, first.month, 3), 1)
    return _calendar("quarter", f"{year}-Q{quarter}", first, after, tz)


def _containing(kind: CalendarKind, day: date, tz: ZoneInfo) -> Period:
    if kind == "week":
        iso = day.isocalendar()
        return _week(iso.year, iso.week, tz)
    if kind == "month":
        return _month(day.year, day.month, tz)
    return _quarter(day.year, (day.month - 1) // 3 + 1, tz)


def _last_four_weeks(now: datetime, tz: ZoneInfo) -> Period:
    first = _local_day(now, tz) - timedelta(days=ROLLING_DAYS - 1)
    end = now.astimezone(UTC)
    # At exactly midnight today has no instant in the window yet: the last day is yesterday.
    last = _local_day(end - _TICK, tz)
    return Period(ROLLING_LABEL, "rolling", _midnight(first, tz), end, _quarter_label(last))


def _rolling_before(start: datetime, tz: ZoneInfo) -> Period:
    after = _local_day(start, tz)
    first = after - timedelta(days=ROLLING_DAYS)
    last = after - timedelta(days=1)
    label = f"{first.isoformat()}..{last.isoformat()}"
    return Period(label, "rolling", _midnight(first, tz), start, _quarter_label(last))


def _parse_calendar(label: str, tz: ZoneInfo) -> Period | None:
    if match := _WEEK.fullmatch(label):
        year, week = int(match[1]), int(match[2])
        return _week(year, week, tz) if 1 <= week <= _iso_weeks(year) else None
    if match := _MONTH.fullmatch(label):
        year, month = int(match[1]), int(match[2])
        return _month(year, month, tz) if 1 <= month <= 12 else None
    if match := _QUARTER.fullmatch(label):
        year, quarter = int(match[1]), int(match[2])
        return _quarter(year, quarter, tz) if 1 <= quarter <= 4 else None
    return None


def _iso_weeks(year: int) -> int:
    # 28 December always falls in the ISO year's last week.
    return date(year, 12, 28).isocalendar().week


def _hint(label: str) -> str:
    """Why a well-formed week label fails: W53 in a 52-week year is the likely slip."""
    match = _WEEK.fullmatch(label)
    if match is None or not 1 <= int(match[1]) <= 9999:
        return ""
    year, weeks = int(match[1]), _iso_weeks(int(match[1]))
    return "" if 1 <= int(match[2]) <= weeks else f"{year} has {weeks} ISO weeks; "
