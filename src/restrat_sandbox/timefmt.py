"""Jira's timestamp format: ``2026-03-01T10:15:30.000+0100``, in the caller's time zone.

Jira renders every timestamp in the calling user's profile time zone, with a colon-less offset.
The sandbox keeps UTC inside and converts only here, at the edge.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_JIRA_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})$"
)


def format_jira_datetime(moment: datetime, time_zone: str) -> str:
    """Render an aware datetime as Jira does for a user in ``time_zone``."""
    local = moment.astimezone(ZoneInfo(time_zone))
    millis = local.microsecond // 1000
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}" + local.strftime("%z")


def parse_jira_datetime(text: str) -> datetime:
    """Parse a Jira timestamp (offset with or without colon, or ``Z``) into aware UTC."""
    match = _JIRA_TS.match(text.strip())
    if not match:
        raise ValueError(f"not a Jira timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    if offset == "Z":
        delta = timedelta(0)
    else:
        digits = offset.replace(":", "")
        sign = -1 if digits[0] == "-" else 1
        delta = sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
    naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros)
    return (naive - delta).replace(tzinfo=UTC)


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def format_date(day: date | None) -> str | None:
    return day.isoformat() if day else None
