"""Restatements, pure: which numbers of a closed period a recomputation changed, the issues that
caused it, and how a restatement reads (``restated on 2026-11-12: AV 18.4 pp → 19.1 pp
(PAY-12, PAY-40)``).

**Headline numbers.** A snapshot is a whole result with its key lists, and those change for
benign reasons (an item's key, the order of a tie); a reader follows the numbers. So a
restatement is a change of one of the numbers below, compared as stored (rounded to 4 places):

| metric | numbers |
|---|---|
| ``alignment`` | AV; each bucket's actual share |
| ``flow`` | velocity; flow time median; flow efficiency; load |
| ``decision_lag`` | decision lag median; decisions measured; pending decisions over the alert |
| ``pivots`` | pivots (events) |
| ``predictability`` | on-time rate |

**Causes.** The issues a sync changed after the old value was computed (the changes the syncs
queue, ``cache.changes``) that the number is about: those in the old or the new result's key
lists; failing those, the changed issues below one that is (a story whose start moved its
epic's decision lag). None when neither (a config edit, a new release).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from restrat_sync.cache.restatements import NumberChange, RestatementRecord

Unit = Literal["pp", "share", "days", "count"]
SHARE = "share:"  # the number of a bucket's actual share: "share:GROWTH"
MAX_CAUSES = 5  # causes a line names; the rest are counted
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+")


@dataclass(frozen=True, slots=True)
class Headline:
    number: str  # as stored: "velocity"
    label: str  # as shown: "velocity"
    unit: Unit
    path: tuple[str, ...]  # where the value sits in the snapshot's JSON


HEADLINES: dict[str, tuple[Headline, ...]] = {
    "alignment": (Headline("av", "AV", "pp", ("av",)),),  # and each bucket's share
    "flow": (
        Headline("velocity", "velocity", "count", ("velocity", "count")),
        Headline("flow_time_median", "flow time median", "days", ("flow_time", "median_days")),
        Headline("efficiency", "flow efficiency", "share", ("efficiency", "value")),
        Headline("load", "load", "count", ("load", "count")),
    ),
    "decision_lag": (
        Headline("decision_lag_median", "decision lag median", "days", ("median_days",)),
        Headline("decisions_measured", "decisions measured", "count", ("count",)),
        Headline(
            "pending_over_alert",
            "pending decisions over the alert",
            "count",
            ("pending_over_alert",),
        ),
    ),
    "pivots": (Headline("pivots", "pivots", "count", ("count",)),),
    "predictability": (Headline("on_time_rate", "on-time rate", "share", ("rate",)),),
}
_BY_NUMBER = {h.number: h for found in HEADLINES.values() for h in found}


def headline_numbers(metric: str, value: Any) -> dict[str, float | None]:
    """The headline numbers of one snapshot's JSON (none for a metric without any)."""
    numbers = {h.number: _number(value, h.path) for h in HEADLINES.get(metric, ())}
    if metric == "alignment" and isinstance(value, dict):
        for bucket in value.get("buckets") or ():
            numbers[SHARE + str(bucket.get("bucket"))] = _number(bucket, ("actual",))
    return numbers


def _number(value: Any, path: Sequence[str]) -> float | None:
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def issue_keys(value: Any) -> set[str]:
    """Every issue key anywhere in a snapshot's JSON: its key lists, ``(key, age)`` pairs,
    events' keys."""
    found: set[str] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if ISSUE_KEY.fullmatch(current):
                found.add(current)
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
    return found


@dataclass(frozen=True)
class Restater:
    """Finds the restated numbers of a changed snapshot (``cache.restatements.Restate``)."""

    # Issue -> when a sync last changed it (the queued changes), asked for only when a number
    # was restated: reading a long queue costs more than most computations restate.
    changed: Callable[[], Mapping[str, datetime]]
    ancestors: Callable[[str], Iterable[str]]  # the items above an issue, now

    def __call__(
        self, scope: str, metric: str, old: Any, computed_at: datetime, new: Any
    ) -> list[NumberChange]:
        before, after = headline_numbers(metric, old), headline_numbers(metric, new)
        numbers = [n for n in dict.fromkeys([*before, *after]) if before.get(n) != after.get(n)]
        if not numbers:
            return []
        causes = self.causes(issue_keys(old) | issue_keys(new), computed_at)
        return [NumberChange(n, before.get(n), after.get(n), causes) for n in numbers]

    def causes(self, keys: Collection[str], since: datetime) -> tuple[str, ...]:
        """The issues changed after ``since`` among ``keys``; failing those, the issues changed
        after it below one of ``keys``."""
        changed = [key for key, at in self.changed().items() if at > since]
        direct = sorted(key for key in changed if key in keys)
        if direct:
            return tuple(direct)
        return tuple(
            sorted(k for k in changed if any(above in keys for above in self.ancestors(k)))
        )


# --- how a restatement reads -------------------------------------------------------------------

NO_DATA = "no data"


def number_label(number: str, bucket_name: Callable[[str], str] = str) -> str:
    """What a number is called: "AV", "GROWTH share" (``bucket_name`` names the bucket)."""
    if number.startswith(SHARE):
        return f"{bucket_name(number.removeprefix(SHARE))} share"
    headline = _BY_NUMBER.get(number)
    return number if headline is None else headline.label


def shown_change(number: str, old: float | None, new: float | None) -> str:
    """``18.4 pp → 19.1 pp``; with more decimals when the usual ones would show no change."""
    unit: Unit = "share" if number.startswith(SHARE) else _unit(number)
    for decimals in (1, 3):
        before, after = _shown(unit, old, decimals), _shown(unit, new, decimals)
        if before != after:
            break
    return f"{before} → {after}"


def _unit(number: str) -> Unit:
    headline = _BY_NUMBER.get(number)
    return "count" if headline is None else headline.unit


def _shown(unit: Unit, value: float | None, decimals: int) -> str:
    if value is None:
        return NO_DATA
    if unit == "pp":
        return f"{value * 100:.{decimals}f} pp"
    if unit == "share":
        return f"{value * 100:.{decimals}f}%"
    if unit == "days":
        return f"{value:.{decimals}f} d"
    return f"{value:g}"


def listed_causes(causes: Sequence[str], limit: int = MAX_CAUSES) -> str:
    """``PAY-12, PAY-40``, or ``PAY-1, ..., PAY-5 and 3 more``."""
    shown = ", ".join(causes[:limit])
    return shown + (f" and {len(causes) - limit} more" if len(causes) > limit else "")


def restatement_line(
    record: RestatementRecord,
    zone: str,
    scope_name: str | None = None,
    bucket_name: Callable[[str], str] = str,
) -> str:
    """``restated on 2026-11-12: AV 18.4 pp → 19.1 pp (PAY-12, PAY-40)``, the day in ``zone``;
    ``scope_name`` (None for the whole portfolio) comes before the number's name."""
    day = _local_day(record.restated_at, zone)
    label = number_label(record.number, bucket_name)
    what = label if scope_name is None else f"{scope_name} {label}"
    causes = f" ({listed_causes(record.causes)})" if record.causes else ""
    return (
        f"restated on {day}: {what} {shown_change(record.number, record.old, record.new)}{causes}"
    )


def _local_day(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()
