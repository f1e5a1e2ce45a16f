"""An item's status changelog replayed as flow-state intervals, with its start and end.

Definitions (``domain.md``, "An item's timeline"):

- Every status maps to a flow state: the config's ``status_map`` by name (case-insensitive,
  Unicode casefold), else the status category (new -> new, indeterminate -> active,
  done -> done). Statuses that only had the category applied are reported as data quality.
- Status changes replay sorted by time, then history id, then item index. The first interval
  starts at creation, in the ``from`` status of the first change, or in the current status
  if the item never changed.
- **start**: the first entry into ``active`` or ``waiting`` (the commitment point).
- **end**: the last entry into ``done`` or ``cancelled``, only while the item is still there; a
  reopened item is not finished.
- **flow time** = end - start in fractional days; **active** / **waiting** time: the time in
  those states between start and end.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from restrat_sync.config import FlowState
from restrat_sync.model.items import StatusChange, WorkItem

DAY_SECONDS = 86_400.0
STARTED = ("active", "waiting")
FINISHED = ("done", "cancelled")
_BY_CATEGORY: dict[str, FlowState] = {"new": "new", "indeterminate": "active", "done": "done"}
FLOW_STATES: tuple[FlowState, ...] = get_args(FlowState)


@dataclass
class FlowStates:
    """Maps statuses to flow states and remembers which fell back to their category."""

    status_map: Mapping[str, FlowState]
    categories: Mapping[str, str]  # status id -> category ("new" | "indeterminate" | "done")
    fallbacks: set[str] = field(default_factory=set)  # names mapped by category only
    unknown: set[str] = field(default_factory=set)  # names whose category nobody knows

    def __post_init__(self) -> None:
        self._by_name = {name.casefold(): state for name, state in self.status_map.items()}
        # A portfolio repeats a few dozen statuses hundreds of thousands of times. The sets
        # above only ever gain the same label again for a repeated status, so a remembered
        # answer is exact.
        self._known: dict[tuple[str | None, str | None, str | None], FlowState] = {}

    def of(self, status_id: str | None, name: str | None, category: str | None = None) -> FlowState:
        """The flow state of a status. ``category`` is used when the catalogue does not know
        ``status_id`` (a status deleted since, say)."""
        asked = (status_id, name, category)
        state = self._known.get(asked)
        if state is None:
            state = self._known[asked] = self._look_up(status_id, name, category)
        return state

    def _look_up(self, status_id: str | None, name: str | None, category: str | None) -> FlowState:
        if name is not None and name.casefold() in self._by_name:
            return self._by_name[name.casefold()]
        known = self.categories.get(status_id or "", category)
        label = name or status_id or "?"
        if known not in _BY_CATEGORY:
            # Neither mapped nor in the catalogue: not started is the claim that invents least.
            self.unknown.add(label)
            return "new"
        self.fallbacks.add(label)
        return _BY_CATEGORY[known]


@dataclass(frozen=True, slots=True)
class Interval:
    state: FlowState
    start: datetime
    end: datetime | None  # None: the item is still in this state


@dataclass(frozen=True, slots=True)
class Timeline:
    """An item's flow-state history. The day counts are computed once when it is built: every
    period asks for them, and a portfolio holds 100,000 timelines."""

    key: str
    created: datetime
    intervals: tuple[Interval, ...]  # consecutive, in time order, the last one open
    start: datetime | None  # first entry into active or waiting
    end: datetime | None  # last entry into done or cancelled, while still there
    state: FlowState  # the current state
    flow_days: float | None  # end - start in days; None without a start or an end
    active_days: float  # days active between start and end; 0 without both
    waiting_days: float  # days waiting between start and end; 0 without both
    _starts: tuple[datetime, ...] = field(repr=False, compare=False)
    _active: tuple[tuple[float, float], ...] = field(repr=False, compare=False)  # epoch seconds

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def outcome(self) -> FlowState | None:
        """``done`` or ``cancelled`` for a finished item, else None."""
        return self.state if self.end is not None else None

    def days_in(self, states: Iterable[FlowState], since: datetime, until: datetime) -> float:
        """Days spent in ``states`` within [since, until)."""
        return _days_in(self.intervals, frozenset(states), since, until)

    def active_days_within(self, since: datetime, until: datetime) -> float:
        """Days active within [since, until)."""
        return self.active_days_between(since.timestamp(), until.timestamp())

    def active_days_between(self, since: float, until: float) -> float:
        """Days active within [since, until) given in epoch seconds: the effort measure, asked
        once per item and period, so the caller converts a period's bounds only once."""
        total = 0.0
        for low, high in self._active:
            low = since if since > low else low
            high = until if until < high else high
            if high > low:
                total += high - low
        return total / DAY_SECONDS

    def state_at(self, moment: datetime) -> FlowState | None:
        """The state at ``moment``; None before the item existed."""
        if moment < self.created:
            return None
        return self.intervals[max(0, bisect_right(self._starts, moment) - 1)].state


def _days_in(
    intervals: Iterable[Interval], wanted: frozenset[str], since: datetime, until: datetime
) -> float:
    total = 0.0
    for interval in intervals:
        if interval.state not in wanted:
            continue
        low = max(interval.start, since)
        high = until if interval.end is None else min(interval.end, until)
        if high > low:
            total += _days(low, high)
    return total


def build_timeline(item: WorkItem, states: FlowStates, category: str | None = None) -> Timeline:
    """Replay ``item``'s status changes. ``category`` is the current status's category, used
    when the status catalogue lacks it."""
    return _timeline(item, _runs(item, states, category))


Run = tuple[FlowState, datetime]  # a state and the moment it was entered


def _runs(item: WorkItem, states: FlowStates, category: str | None) -> list[Run]:
    """The states the item went through, each with the moment it was entered; a run lasts until
    the next one starts. Neighbours in the same state are one run (In Progress -> In Review,
    both active, say), so that "the last entry into done" is the entry into the final run of
    done states; a state left at the instant it was entered leaves no run."""
    changes = item.status_changes
    if len(changes) > 1:
        changes = tuple(sorted(changes, key=_change_order))
    if changes:
        state = states.of(changes[0].from_status_id, changes[0].from_status)
    else:
        state = states.of(item.status_id, item.status, category)
    runs: list[Run] = []
    since = item.created
    for change in changes:
        at = change.at if change.at > since else since  # clock skew never turns time back
        if at > since and (not runs or runs[-1][0] != state):
            runs.append((state, since))
        if change.to_status_id == item.status_id:
            state = states.of(change.to_status_id, change.to_status, category)
        else:
            state = states.of(change.to_status_id, change.to_status)
        since = at
    if not runs or runs[-1][0] != state:
        runs.append((state, since))
    return runs


def _timeline(item: WorkItem, runs: list[Run]) -> Timeline:
    starts = tuple(start for _, start in runs)
    intervals = tuple(
        Interval(state, start, end)
        for (state, start), end in zip(runs, (*starts[1:], None), strict=True)
    )
    start = next((since for state, since in runs if state in STARTED), None)
    current = intervals[-1]
    end = current.start if current.state in FINISHED else None
    flow_days, active_days, waiting_days = _measures(intervals, start, end)
    return Timeline(
        key=item.key,
        created=item.created,
        intervals=intervals,
        start=start,
        end=end,
        state=current.state,
        flow_days=flow_days,
        active_days=active_days,
        waiting_days=waiting_days,
        _starts=starts,
        _active=tuple(
            (i.start.timestamp(), math.inf if i.end is None else i.end.timestamp())
            for i in intervals
            if i.state == "active"
        ),
    )


def _measures(
    intervals: tuple[Interval, ...], start: datetime | None, end: datetime | None
) -> tuple[float | None, float, float]:
    """Flow time, active and waiting days between start and end."""
    if start is None or end is None:
        return None, 0.0, 0.0
    active = waiting = 0.0
    for interval in intervals:
        if interval.state not in STARTED:
            continue
        low = max(interval.start, start)
        high = end if interval.end is None else min(interval.end, end)
        if high > low:
            if interval.state == "active":
                active += _days(low, high)
            else:
                waiting += _days(low, high)
    return _days(start, end), active, waiting


def _change_order(change: StatusChange) -> tuple[datetime, int, int]:
    return (change.at, change.history_id, change.item_index)


def _days(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds() / DAY_SECONDS
