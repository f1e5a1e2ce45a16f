"""Strategic pivots: re-parents, theme changes, priority changes and cancellations of decision
items in a period, and their rate per active decision item.

The period is March 2026 in UTC: [03-01 00:00, 04-01 00:00). Every item is an epic created on
02-01 in Open; Won't Do maps to ``cancelled``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import FlowState
from restrat_sync.metrics.pivots import (
    ItemPivots,
    PivotEvent,
    ThemeChange,
    item_pivots,
    pivots,
    pivots_of,
)
from restrat_sync.model.items import FieldChange, StatusChange, WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

CATEGORIES = {"Open": "new", "In Progress": "indeterminate", "Done": "done", "Won't Do": "done"}
STATUS_MAP: dict[str, FlowState] = {"Won't Do": "cancelled"}
MARCH = Period(
    "2026-03",
    "month",
    datetime(2026, 3, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
    "2026-Q1",
)
NO_KIND = {"re_parent": 0, "theme_change": 0, "priority_change": 0, "cancellation": 0}


def at(text: str) -> datetime:
    """``"2026-03-05"`` or ``"2026-03-05 12:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def field(
    when: str, name: str, old: str | None, new: str | None, history_id: int = 1
) -> FieldChange:
    return FieldChange(at(when), history_id, name, old, new)


def epic(
    key: str,
    *changes: FieldChange,
    moves: tuple[tuple[str, str, str], ...] = (),
    created: str = "2026-02-01",
) -> WorkItem:
    """An epic created in Open with field changes and status changes ``(when, from, to)``."""
    status_changes = tuple(
        StatusChange(at(when), 100 + i, 0, old, old, new, new)
        for i, (when, old, new) in enumerate(moves)
    )
    status = moves[-1][2] if moves else "Open"
    return WorkItem(
        key=key,
        summary=key,
        project="P",
        issuetype="Epic",
        level=1,
        status_id=status,
        status=status,
        created=at(created),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority="High",
        parent_key="INIT-2",
        status_changes=status_changes,
        field_changes=changes,
    )


def timelines(*items: WorkItem) -> dict[str, Timeline]:
    states = FlowStates(STATUS_MAP, CATEGORIES)
    return {item.key: build_timeline(item, states) for item in items}


@pytest.mark.parametrize(
    ("work", "themes", "event"),
    [
        (
            epic("E-1", field("2026-03-05", "parent", "INIT-1", "INIT-2")),
            (),
            PivotEvent("E-1", at("2026-03-05"), "re_parent", "parent: INIT-1 → INIT-2"),
        ),
        (
            epic("E-1", field("2026-03-05", "parent_link", "INIT-1", None)),
            (),
            PivotEvent("E-1", at("2026-03-05"), "re_parent", "parent_link: INIT-1 → none"),
        ),
        (
            epic("E-1", field("2026-03-05", "epic_link", "EPIC-7", "EPIC-8")),
            (),
            PivotEvent("E-1", at("2026-03-05"), "re_parent", "epic_link: EPIC-7 → EPIC-8"),
        ),
        (
            epic("E-1"),
            (ThemeChange("E-1", at("2026-03-09"), "GROW", "CORE"),),
            PivotEvent("E-1", at("2026-03-09"), "theme_change", "GROW → CORE"),
        ),
        (
            epic("E-1", field("2026-03-07", "priority", "High", "Low")),
            (),
            PivotEvent("E-1", at("2026-03-07"), "priority_change", "High → Low"),
        ),
        (
            epic("E-1", moves=(("2026-03-08", "Open", "Won't Do"),)),
            (),
            PivotEvent("E-1", at("2026-03-08"), "cancellation", "Won't Do"),
        ),
    ],
    ids=["re-parent", "detached", "epic-link", "theme", "priority", "cancellation"],
)
def test_each_kind_of_pivot_is_one_event(
    work: WorkItem, themes: tuple[ThemeChange, ...], event: PivotEvent
) -> None:
    """One event of each kind on one active epic: count 1, rate 1 / 1 = 1.0, by_kind 1 of it."""
    result = pivots([work], timelines(work), themes, MARCH)
    assert result.events == (event,)
    assert result.by_kind == {**NO_KIND, event.kind: 1}
    assert (result.count, result.active_decisions, result.rate) == (1, 1, 1.0)
    assert result.keys == ("E-1",)


def test_a_first_parent_assignment_is_not_a_re_parent() -> None:
    """parent None -> INIT-1 on 03-06 (and "" -> INIT-1 on Data Center) is placing a new epic,
    not moving it: 0 events."""
    work = epic(
        "E-1",
        field("2026-03-06", "parent", None, "INIT-1", history_id=1),
        field("2026-03-07", "parent_link", "", "INIT-1", history_id=2),
    )
    result = pivots([work], timelines(work), (), MARCH)
    assert (result.count, result.events, result.rate) == (0, (), 0.0)


def test_one_move_written_to_two_hierarchy_fields_is_one_re_parent() -> None:
    """History 5 on 03-05 changes parent and parent_link from INIT-1 to INIT-2: one move, kept
    as the parent change (the first field in HIERARCHY_FIELDS)."""
    work = epic(
        "E-1",
        field("2026-03-05", "parent_link", "INIT-1", "INIT-2", history_id=5),
        field("2026-03-05", "parent", "INIT-1", "INIT-2", history_id=5),
    )
    result = pivots([work], timelines(work), (), MARCH)
    assert result.by_kind["re_parent"] == 1
    assert result.events[0].detail == "parent: INIT-1 → INIT-2"


@pytest.mark.parametrize("when", ["2026-02-28 23:59", "2026-04-01 00:00"])
def test_events_outside_the_period_are_ignored(when: str) -> None:
    """A re-parent, a priority change, a theme change and a cancellation just before March
    or at its exclusive end: 0 events."""
    work = epic(
        "E-1",
        field(when, "parent", "INIT-1", "INIT-2", history_id=1),
        field(when, "priority", "High", "Low", history_id=2),
        moves=((when, "Open", "Won't Do"),),
    )
    themes = (ThemeChange("E-1", at(when), "GROW", "CORE"),)
    result = pivots([work], timelines(work), themes, MARCH)
    assert result.count == 0


def test_theme_changes_of_other_items_are_ignored() -> None:
    """A theme change of STORY-9 (not a decision item passed) in March: 0 events."""
    work = epic("E-1")
    themes = (ThemeChange("STORY-9", at("2026-03-09"), "GROW", "CORE"),)
    assert pivots([work], timelines(work), themes, MARCH).count == 0


def test_a_change_to_the_same_value_is_no_event() -> None:
    """priority High -> High and a theme GROW -> GROW on 03-07: nothing changed, 0 events."""
    work = epic("E-1", field("2026-03-07", "priority", "High", "High"))
    themes = (ThemeChange("E-1", at("2026-03-07"), "GROW", "GROW"),)
    assert pivots([work], timelines(work), themes, MARCH).count == 0


def test_rate_is_events_per_active_decision_item() -> None:
    """Active in March: A (open), B (done 03-10), C (done 03-01 00:00, at the start). Not
    active: OLD (done 02-20, before the start), NEW (created 04-01, at the end). Events: A is
    re-parented 03-02 and changes priority 03-03, B changes priority 03-04: 3 events, rate
    3 / 3 = 1.0; keys A, B; events in time order."""
    items = [
        epic(
            "A",
            field("2026-03-02", "parent", "INIT-1", "INIT-2", history_id=1),
            field("2026-03-03", "priority", "High", "Low", history_id=2),
        ),
        epic(
            "B",
            field("2026-03-04", "priority", "Low", "High"),
            moves=(("2026-03-10", "Open", "Done"),),
        ),
        epic("C", moves=(("2026-03-01", "Open", "Done"),)),
        epic("OLD", moves=(("2026-02-20", "Open", "Done"),)),
        epic("NEW", created="2026-04-01"),
    ]
    result = pivots(items, timelines(*items), (), MARCH)
    assert (result.count, result.active_decisions, result.rate) == (3, 3, 1.0)
    assert result.keys == ("A", "B")
    assert [(e.key, e.kind) for e in result.events] == [
        ("A", "re_parent"),
        ("A", "priority_change"),
        ("B", "priority_change"),
    ]


def test_rate_over_a_partly_active_portfolio() -> None:
    """Active: A, B, C (all open); one event (C re-parented 03-20): rate 1 / 3."""
    items = [
        epic("A"),
        epic("B"),
        epic("C", field("2026-03-20", "parent", "INIT-1", "INIT-3")),
    ]
    assert pivots(items, timelines(*items), (), MARCH).rate == pytest.approx(1 / 3)


def test_no_active_decision_item_means_no_rate() -> None:
    """OLD finished 02-20, so it is not active in March; moving it to another initiative on
    03-05 is still an event: count 1, active 0, rate None (not a division by zero, not 0)."""
    work = epic(
        "OLD",
        field("2026-03-05", "parent", "INIT-1", "INIT-2"),
        moves=(("2026-02-20", "Open", "Done"),),
    )
    result = pivots([work], timelines(work), (), MARCH)
    assert (result.count, result.active_decisions, result.rate) == (1, 0, None)


def test_no_decision_items_means_no_rate() -> None:
    """No items at all: count 0, rate None, every kind 0."""
    result = pivots([], {}, (), MARCH)
    assert (result.count, result.rate, result.by_kind) == (0, None, NO_KIND)


def test_an_items_own_events_are_found_once_and_counted_with_its_theme_changes() -> None:
    """E-1 has a priority change 03-07 and is cancelled 03-08: its own two events, active in
    March. Counted with the theme change GROW -> CORE of 03-09, the pivots are those of
    ``pivots`` over E-1: three events on one active item, rate 3.0."""
    work = epic(
        "E-1",
        field("2026-03-07", "priority", "High", "Low"),
        moves=(("2026-03-08", "Open", "Won't Do"),),
    )
    own = item_pivots(work, timelines(work)["E-1"], MARCH)
    assert own == ItemPivots(
        "E-1",
        True,
        (
            PivotEvent("E-1", at("2026-03-07"), "priority_change", "High → Low"),
            PivotEvent("E-1", at("2026-03-08"), "cancellation", "Won't Do"),
        ),
    )
    themes = (ThemeChange("E-1", at("2026-03-09"), "GROW", "CORE"),)
    result = pivots_of([own], themes, MARCH)
    assert result == pivots([work], timelines(work), themes, MARCH)
    assert (result.count, result.rate) == (3, 3.0)


# --- properties ------------------------------------------------------------------------------

BASE = at("2026-02-20")
field_changes = st.lists(
    st.builds(
        FieldChange,
        st.integers(0, 45 * 24).map(lambda hours: BASE + timedelta(hours=hours)),
        st.integers(1, 6),
        st.sampled_from(["parent", "epic_link", "parent_link", "priority", "labels"]),
        st.sampled_from([None, "", "A", "B", "C"]),
        st.sampled_from([None, "", "A", "B", "C"]),
    ),
    max_size=12,
)


@given(field_changes, st.randoms(use_true_random=False))
def test_pivots_do_not_depend_on_the_order_of_field_changes(
    changes: list[FieldChange], random: Random
) -> None:
    """Shuffling an epic's field changes (and the items) changes nothing in the result."""
    shuffled = list(changes)
    random.shuffle(shuffled)
    first = [epic("E-1", *changes), epic("E-2", *changes[::2])]
    second = [epic("E-2", *changes[::2][::-1]), epic("E-1", *shuffled)]
    assert pivots(second, timelines(*second), (), MARCH) == pivots(
        first, timelines(*first), (), MARCH
    )
