"""Strategic pivot frequency (``domain.md``, "Strategic pivot frequency"): how often the
portfolio changes course, counted as events on decision items in a period.

Events, each at a moment inside the period:

- **re_parent**: a change of ``parent``, ``epic_link`` or ``parent_link`` *from* a value: the
  item moved to another parent, or was detached from its parent. A first assignment (from
  empty) does not count: filing an epic and then placing it under its initiative is ordinary
  grooming, not a change of direction, and counting it would make every new epic a pivot.
  Several hierarchy fields changed in one history (Jira writes Parent and Parent Link for the
  same move on some instances) are one move.
- **theme_change**: the item's theme changed (``model.history.ThemeChange``): with the graph with
  memory, at the changelog moment or membership change that caused it, the cause named in the
  detail; otherwise between two metric runs. The caller passes them; only those of the items
  passed count.
- **priority_change**: any change of ``priority``.
- **cancellation**: the item's timeline ends in the period with the outcome ``cancelled``.

A change whose old and new values are equal is not an event.

**Rate** = events ÷ active decision items. A decision item is active in the period when it was
created before the period's end and had not finished before its start (no end, or an end at
or after the start): these are the items that could have pivoted in it. An event on an item
that finished earlier (a finished epic moved to another initiative) still counts as an event.
The rate is None when no decision item was active.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple, get_args

from restrat_sync.model.history import ThemeChange
from restrat_sync.model.items import HIERARCHY_FIELDS, PRIORITY, FieldChange, WorkItem
from restrat_sync.model.timeline import Timeline

if TYPE_CHECKING:
    from restrat_sync.model.periods import Period

PivotKind = Literal["re_parent", "theme_change", "priority_change", "cancellation"]
KINDS: tuple[PivotKind, ...] = get_args(PivotKind)


@dataclass(frozen=True, slots=True)
class PivotEvent:
    key: str
    at: datetime
    kind: PivotKind
    detail: str  # e.g. "parent_link: INIT-1 → INIT-2", "High → Low", "Won't Do"


@dataclass(frozen=True, slots=True)
class Pivots:
    count: int
    by_kind: dict[PivotKind, int]  # every kind, 0 included
    active_decisions: int
    rate: float | None  # events per active decision item; None when none was active
    events: tuple[PivotEvent, ...]  # in time order
    keys: tuple[str, ...]  # the items with an event


def pivots(
    items: Iterable[WorkItem],
    timelines: Mapping[str, Timeline],
    theme_changes: Sequence[ThemeChange],
    period: Period,
) -> Pivots:
    """The pivot events on the decision items ``items`` in ``period``, and their rate.
    ``timelines`` must hold every item's key; theme changes of other items are ignored."""
    found = [item_pivots(item, timelines[item.key], period) for item in items]
    return pivots_of(found, theme_changes, period)


class ItemPivots(NamedTuple):
    """What one decision item contributes to a period, whichever scopes it is counted in."""

    key: str
    active: bool
    events: tuple[PivotEvent, ...]  # re-parents, priority changes, its cancellation


def item_pivots(item: WorkItem, timeline: Timeline, period: Period) -> ItemPivots:
    """Whether ``item`` was active in ``period``, and its events there other than theme
    changes (those come from the attribution history, per scope)."""
    start, end = period.start, period.end
    finished = timeline.end
    active = item.created < end and (finished is None or finished >= start)
    events: tuple[PivotEvent, ...] = ()
    if item.field_changes:
        events = tuple(_field_events(item, period))
    if timeline.outcome == "cancelled" and finished is not None and start <= finished < end:
        events += (PivotEvent(item.key, finished, "cancellation", item.status),)
    return ItemPivots(item.key, active, events)


def pivots_of(
    found: Iterable[ItemPivots], theme_changes: Sequence[ThemeChange], period: Period
) -> Pivots:
    """The pivots of the items behind ``found`` (each once) in ``period``, with their theme
    changes; theme changes of other items are ignored."""
    events: list[PivotEvent] = []
    active = 0
    keys: set[str] = set()
    for item in found:
        keys.add(item.key)
        if item.active:
            active += 1
        events += item.events
    events.extend(_theme_events(theme_changes, keys, period))
    return _result(events, active)


def _result(events: list[PivotEvent], active: int) -> Pivots:
    ordered = tuple(sorted(events, key=lambda e: (e.at, e.key, e.kind, e.detail)))
    by_kind = dict.fromkeys(KINDS, 0)
    for event in ordered:
        by_kind[event.kind] += 1
    return Pivots(
        count=len(ordered),
        by_kind=by_kind,
        active_decisions=active,
        rate=len(ordered) / active if active else None,
        events=ordered,
        keys=tuple(sorted({event.key for event in ordered})),
    )


def _field_events(item: WorkItem, period: Period) -> Iterator[PivotEvent]:
    """Re-parents (one per history) and priority changes of ``item`` inside ``period``."""
    moves: dict[int, FieldChange] = {}
    for change in item.field_changes:
        if not period.contains(change.at) or change.from_string == change.to_string:
            continue
        if change.field == PRIORITY:
            detail = f"{_shown(change.from_string)} → {_shown(change.to_string)}"
            yield PivotEvent(item.key, change.at, "priority_change", detail)
        elif change.field in HIERARCHY_FIELDS and change.from_string:
            # The same move written to several fields: keep one, the same whatever the order.
            kept = moves.get(change.history_id)
            if kept is None or _field_order(change) < _field_order(kept):
                moves[change.history_id] = change
    for change in moves.values():
        detail = f"{change.field}: {change.from_string} → {_shown(change.to_string)}"
        yield PivotEvent(item.key, change.at, "re_parent", detail)


def _theme_events(
    changes: Sequence[ThemeChange], keys: set[str], period: Period
) -> Iterator[PivotEvent]:
    for change in changes:
        if (
            change.key in keys
            and period.contains(change.at)
            and (change.from_theme != change.to_theme)
        ):
            yield PivotEvent(change.key, change.at, "theme_change", _theme_detail(change))


def _theme_detail(change: ThemeChange) -> str:
    """``GROWTH → RELIABILITY``, with what caused it where history knows:
    ``GROWTH → RELIABILITY (PAY-12 parent_link: INIT-1 → INIT-2)``."""
    detail = f"{change.from_theme} → {change.to_theme}"
    causes = "; ".join(f"{cause.key} {cause.detail}" for cause in change.causes)
    return f"{detail} ({causes})" if causes else detail


def _field_order(change: FieldChange) -> tuple[int, datetime, str, str]:
    field = HIERARCHY_FIELDS.index(change.field)
    return (field, change.at, change.from_string or "", change.to_string or "")


def _shown(value: str | None) -> str:
    return value if value else "none"
