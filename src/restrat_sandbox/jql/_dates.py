"""JQL date operands, read the way Jira reads them: in the calling user's time zone.

- ``"2026-03-29"`` / ``"2026/03/29 14:30"`` are wall-clock times in ``user.time_zone``; a date
  alone means local midnight, so ``created >= "2026-01-01"`` starts at that local midnight.
- A bare number is epoch milliseconds, the one zone-proof form (``updated >= 1732233600000``).
- A period (``-7d``, ``"4w 2d"``, ``-2h``) is an offset from ``now``. Days, weeks, months and
  years move the local calendar (like Java's ``Calendar.add``), so ``-1d`` across a DST change
  keeps the wall-clock time; hours and minutes are absolute.
- ``now()``, ``startOfDay()``, ``endOfWeek(-1)`` etc. snap in the user's zone. Weeks start on
  Monday (Jira takes this from the user's locale; the sandbox's users are European).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from restrat_sandbox.jql._errors import ValueProblem, function_arity, function_duration
from restrat_sandbox.timefmt import from_epoch_millis

_LITERAL = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?", re.ASCII)
_PERIOD = re.compile(r"([-+]?)\s*((?:\d+\s*[yMwdhm]\s*)+)", re.ASCII)
_PERIOD_PART = re.compile(r"(\d+)\s*([yMwdhm])", re.ASCII)
_INCREMENT = re.compile(r"([-+]?)(\d+)([yMwdhm]?)", re.ASCII)
_EPOCH_MILLIS = re.compile(r"\d+", re.ASCII)
_EDGE_UNITS = {"day": "d", "week": "w", "month": "M", "year": "y"}
_ONE_MS = timedelta(milliseconds=1)

Period = tuple[tuple[int, str], ...]


def parse_instant(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The aware UTC instant a JQL date literal stands for, or None when it is not a date."""
    stripped = text.strip()
    if _EPOCH_MILLIS.fullmatch(stripped):
        return from_epoch_millis(int(stripped))
    literal = _LITERAL.fullmatch(stripped)
    if literal:
        local = _literal_datetime(literal)
        return None if local is None else local.replace(tzinfo=zone).astimezone(UTC)
    period = parse_period(stripped)
    return None if period is None else shift(now, period, zone)


def parse_day(text: str, now: datetime, zone: ZoneInfo) -> date | None:
    """The calendar day a JQL date literal names, for date-only fields such as ``duedate``."""
    literal = _LITERAL.fullmatch(text.strip())
    if literal:
        local = _literal_datetime(literal)
        return None if local is None else local.date()
    instant = parse_instant(text, now, zone)
    return None if instant is None else instant.astimezone(zone).date()


def _literal_datetime(match: re.Match[str]) -> datetime | None:
    year, _, month, day, hour, minute = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:  # 2026-02-30, 25:00 ...
        return None


def parse_period(text: str) -> Period | None:
    """``-4w 2d`` -> ((-4, "w"), (-2, "d")); the sign applies to the whole period."""
    match = _PERIOD.fullmatch(text)
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return tuple((sign * int(n), unit) for n, unit in _PERIOD_PART.findall(match.group(2)))


def shift(moment: datetime, period: Period, zone: ZoneInfo) -> datetime:
    """``moment`` moved by ``period``: calendar units on the local wall clock, h/m absolute."""
    local = moment.astimezone(zone)
    for amount, unit in period:
        if unit in "hm":
            delta = timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)
            local = (local.astimezone(UTC) + delta).astimezone(zone)
        else:
            naive = _calendar_add(local.replace(tzinfo=None), amount, unit)
            local = naive.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _calendar_add(naive: datetime, amount: int, unit: str) -> datetime:
    if unit in "dw":
        return naive + timedelta(days=amount * (7 if unit == "w" else 1))
    months = naive.year * 12 + naive.month - 1 + amount * (12 if unit == "y" else 1)
    year, month = divmod(months, 12)
    day = min(naive.day, calendar.monthrange(year, month + 1)[1])  # Jan 31 + 1M = Feb 28
    return naive.replace(year=year, month=month + 1, day=day)


def is_date_function(name: str) -> bool:
    lowered = name.lower()
    return lowered == "now" or _edge_of(lowered) is not None


def _edge_of(lowered: str) -> tuple[bool, str] | None:
    for prefix, is_start in (("startof", True), ("endof", False)):
        if lowered.startswith(prefix) and lowered[len(prefix) :] in _EDGE_UNITS:
            return is_start, _EDGE_UNITS[lowered[len(prefix) :]]
    return None


def date_function(name: str, args: tuple[str, ...], now: datetime, zone: ZoneInfo) -> datetime:
    """Evaluate ``now()`` or a ``startOf…``/``endOf…`` function; raises ValueProblem."""
    edge = _edge_of(name.lower())
    if edge is None:  # now()
        if args:
            raise ValueProblem(function_arity(name, "'0'", len(args)))
        return now
    if len(args) > 1:
        raise ValueProblem(function_arity(name, "between '0' and '1'", len(args)))
    is_start, unit = edge
    amount, step = _increment(name, args[0], unit) if args else (0, unit)
    local = now.astimezone(zone)
    if step == unit:  # startOfMonth(-1): the start of last month
        local = local.replace(tzinfo=None)
        start = _start_of(unit, _calendar_add(local, amount, unit)).replace(tzinfo=zone)
        return start.astimezone(UTC) if is_start else _end_after(start, unit)
    start = _start_of(unit, local.replace(tzinfo=None)).replace(tzinfo=zone)
    edge_instant = start.astimezone(UTC) if is_start else _end_after(start, unit)
    return shift(edge_instant, ((amount, step),), zone)


def _increment(name: str, argument: str, unit: str) -> tuple[int, str]:
    match = _INCREMENT.fullmatch(argument.strip())
    if not match:
        raise ValueProblem(function_duration(name, argument))
    sign, digits, step = match.groups()
    return (-1 if sign == "-" else 1) * int(digits), step or unit


def _start_of(unit: str, naive: datetime) -> datetime:
    midnight = naive.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        return midnight - timedelta(days=midnight.weekday())
    if unit == "M":
        return midnight.replace(day=1)
    if unit == "y":
        return midnight.replace(month=1, day=1)
    return midnight


def _end_after(start: datetime, unit: str) -> datetime:
    """The last millisecond of the period beginning at local ``start``."""
    following = _calendar_add(start.replace(tzinfo=None), 1, unit).replace(tzinfo=start.tzinfo)
    return following.astimezone(UTC) - _ONE_MS
