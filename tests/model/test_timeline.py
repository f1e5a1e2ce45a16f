"""Timelines: status changelogs replayed as flow-state intervals, with start, end and times.

Every test builds one or two items by hand. The status catalogue below is a small Jira: ids to
categories, and a ``status_map`` that overrides some names (Blocked and "In Prüfung" wait,
Won't Do cancels). Times are UTC; a day is 86,400 s of calendar time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import FlowState
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.timeline import FlowStates, Interval, Timeline, build_timeline

IDS = {
    "To Do": "1",
    "In Progress": "3",
    "Blocked": "10",
    "Done": "5",
    "Won't Do": "6",
    "In Prüfung": "7",
    "QA": "8",
    "Review": "11",
}
CATEGORIES = {
    "1": "new",
    "3": "indeterminate",
    "10": "indeterminate",
    "5": "done",
    "6": "done",
    "7": "indeterminate",
    "8": "indeterminate",
    "11": "indeterminate",
}
STATUS_MAP: dict[str, FlowState] = {
    "To Do": "new",
    "In Progress": "active",
    "Review": "active",
    "Blocked": "waiting",
    "In Prüfung": "waiting",
    "Done": "done",
    "Won't Do": "cancelled",
}


def at(text: str) -> datetime:
    """``"2026-01-05 09:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def change(when: str, old: str, new: str, history_id: int = 0, index: int = 0) -> StatusChange:
    """A status change between two statuses named as in ``IDS`` (unknown names get id "99")."""
    return StatusChange(
        at=at(when),
        history_id=history_id,
        item_index=index,
        from_status_id=IDS.get(old, "99"),
        from_status=old,
        to_status_id=IDS.get(new, "99"),
        to_status=new,
    )


def item(
    status: str,
    *changes: StatusChange,
    key: str = "A-1",
    created: str = "2026-01-05 09:00",
    status_id: str | None = None,
) -> WorkItem:
    """A story currently in ``status`` with the given status changes."""
    return WorkItem(
        key=key,
        summary=key,
        project=key.split("-")[0],
        issuetype="Story",
        level=0,
        status_id=status_id or IDS.get(status, "99"),
        status=status,
        created=at(created),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority=None,
        parent_key=None,
        status_changes=changes,
    )


def states(status_map: dict[str, FlowState] | None = None) -> FlowStates:
    return FlowStates(STATUS_MAP if status_map is None else status_map, CATEGORIES)


def timeline_of(work: WorkItem, category: str | None = None) -> Timeline:
    return build_timeline(work, states(), category)


# The usual life of a story, used by several tests:
#   created 01-05 09:00 (To Do), In Progress 01-06 09:00, Blocked 01-07 09:00,
#   In Progress 01-08 21:00, Done 01-09 09:00.
USUAL = (
    change("2026-01-06 09:00", "To Do", "In Progress", 1),
    change("2026-01-07 09:00", "In Progress", "Blocked", 2),
    change("2026-01-08 21:00", "Blocked", "In Progress", 3),
    change("2026-01-09 09:00", "In Progress", "Done", 4),
)


def test_item_that_never_changed_sits_in_its_current_state_from_creation() -> None:
    """No changes: one open interval in the current status's state; no start, no end."""
    line = timeline_of(item("To Do"))
    assert line.intervals == (Interval("new", at("2026-01-05 09:00"), None),)
    assert (line.start, line.end, line.state) == (None, None, "new")
    assert not line.finished
    assert line.outcome is None
    assert line.flow_days is None
    assert (line.active_days, line.waiting_days) == (0.0, 0.0)


def test_item_created_straight_in_done_is_finished_at_creation_without_start() -> None:
    """Never changed but created in Done: end = created, no start, so no flow time."""
    line = timeline_of(item("Done"))
    assert (line.start, line.end, line.outcome) == (None, at("2026-01-05 09:00"), "done")
    assert line.flow_days is None


def test_straight_from_new_to_done_has_no_start_but_is_finished() -> None:
    """To Do -> Done on 01-07: end 01-07 09:00, start None; velocity counts it, flow time
    cannot (flow_days None, active = waiting = 0)."""
    line = timeline_of(item("Done", change("2026-01-07 09:00", "To Do", "Done", 1)))
    assert line.start is None
    assert line.end == at("2026-01-07 09:00")
    assert line.finished
    assert line.outcome == "done"
    assert line.flow_days is None
    assert (line.active_days, line.waiting_days) == (0.0, 0.0)


def test_usual_life_gives_start_end_flow_active_and_waiting_time() -> None:
    """Start 01-06 09:00, end 01-09 09:00: flow 3.0 days; active 01-06 09:00..01-07 09:00 (1.0)
    + 01-08 21:00..01-09 09:00 (0.5) = 1.5; waiting (Blocked) 01-07 09:00..01-08 21:00 = 1.5."""
    line = timeline_of(item("Done", *USUAL))
    assert line.start == at("2026-01-06 09:00")
    assert line.end == at("2026-01-09 09:00")
    assert line.flow_days == 3.0
    assert line.active_days == 1.5
    assert line.waiting_days == 1.5
    assert [i.state for i in line.intervals] == ["new", "active", "waiting", "active", "done"]
    assert line.intervals[-1] == Interval("done", at("2026-01-09 09:00"), None)


def test_reopened_item_is_not_finished() -> None:
    """Done 01-09, back to In Progress 01-10: no end, no outcome, still started on 01-06."""
    reopened = change("2026-01-10 09:00", "Done", "In Progress", 5)
    line = timeline_of(item("In Progress", *USUAL, reopened))
    assert line.end is None
    assert not line.finished
    assert line.outcome is None
    assert line.flow_days is None
    assert line.state == "active"
    assert line.start == at("2026-01-06 09:00")


def test_reopened_then_done_again_ends_at_the_last_entry_into_done() -> None:
    """Done 01-09, reopened 01-10, Done 01-11 09:00: end 01-11 09:00, flow 5.0 days; active
    1.0 + 0.5 + 1.0 (01-10..01-11) = 2.5; the day spent in Done between counts as neither."""
    again = (
        change("2026-01-10 09:00", "Done", "In Progress", 5),
        change("2026-01-11 09:00", "In Progress", "Done", 6),
    )
    line = timeline_of(item("Done", *USUAL, *again))
    assert line.end == at("2026-01-11 09:00")
    assert line.flow_days == 5.0
    assert line.active_days == 2.5
    assert line.waiting_days == 1.5


def test_cancelled_item_is_finished_with_outcome_cancelled() -> None:
    """In Progress 01-06 09:00 -> Won't Do 01-06 21:00: end 01-06 21:00, outcome cancelled."""
    line = timeline_of(
        item(
            "Won't Do",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-06 21:00", "In Progress", "Won't Do", 2),
        )
    )
    assert line.outcome == "cancelled"
    assert line.end == at("2026-01-06 21:00")
    assert line.flow_days == 0.5


def test_done_then_cancelled_ends_at_the_entry_into_cancelled() -> None:
    """Done 01-09, then Won't Do 01-10: the last entry into done-or-cancelled is 01-10."""
    line = timeline_of(item("Won't Do", *USUAL, change("2026-01-10 09:00", "Done", "Won't Do", 5)))
    assert (line.end, line.outcome) == (at("2026-01-10 09:00"), "cancelled")


def test_neighbouring_statuses_in_one_state_merge_into_one_interval() -> None:
    """In Progress -> Review (both active) -> Done: one active run 01-06..01-08, 2.0 days."""
    line = timeline_of(
        item(
            "Done",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-07 09:00", "In Progress", "Review", 2),
            change("2026-01-08 09:00", "Review", "Done", 3),
        )
    )
    assert [i.state for i in line.intervals] == ["new", "active", "done"]
    assert line.intervals[1] == Interval("active", at("2026-01-06 09:00"), at("2026-01-08 09:00"))
    assert line.active_days == 2.0


def test_blocked_maps_to_waiting_time() -> None:
    """In Progress 1 day, Blocked 2 days, In Progress 1 day, Done: waiting 2.0, active 2.0."""
    line = timeline_of(
        item(
            "Done",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-07 09:00", "In Progress", "Blocked", 2),
            change("2026-01-09 09:00", "Blocked", "In Progress", 3),
            change("2026-01-10 09:00", "In Progress", "Done", 4),
        )
    )
    assert (line.active_days, line.waiting_days, line.flow_days) == (2.0, 2.0, 4.0)


@pytest.mark.parametrize("name", ["In Prüfung", "IN PRÜFUNG", "in prüfung", "In PRÜFUNG"])
def test_localised_status_names_match_the_map_case_insensitively(name: str) -> None:
    """ "In Prüfung" is mapped to waiting; any casing of the German name is waiting too."""
    flow = states()
    assert flow.of("7", name) == "waiting"
    assert flow.fallbacks == set()


def test_status_names_match_by_unicode_casefold_not_lower() -> None:
    """Map key "Abnahme Groß"; Jira writes "ABNAHME GROSS": casefold makes both "abnahme gross"
    (str.lower would keep "ß" and miss)."""
    flow = states({"Abnahme Groß": "waiting"})
    assert flow.of("8", "ABNAHME GROSS") == "waiting"


def test_localised_status_in_a_changelog_gives_waiting_time() -> None:
    """In Progress 01-06 09:00, "IN PRÜFUNG" 01-07 09:00, Done 01-07 21:00: waiting 0.5."""
    line = timeline_of(
        item(
            "Done",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-07 09:00", "In Progress", "IN PRÜFUNG", 2),
            change("2026-01-07 21:00", "IN PRÜFUNG", "Done", 3),
        )
    )
    assert (line.active_days, line.waiting_days) == (1.0, 0.5)


@pytest.mark.parametrize(
    ("status_id", "name", "expected"),
    [("8", "QA", "active"), ("1", "Backlog", "new"), ("5", "Erledigt", "done")],
)
def test_unmapped_status_falls_back_to_its_category_and_is_recorded(
    status_id: str, name: str, expected: FlowState
) -> None:
    """Not in status_map: the catalogue's category decides, and the name joins ``fallbacks``."""
    flow = states()
    assert flow.of(status_id, name) == expected
    assert flow.fallbacks == {name}
    assert flow.unknown == set()


def test_status_nobody_knows_is_new_and_recorded_as_unknown() -> None:
    """Neither mapped nor in the catalogue, no category given: ``new``, listed in ``unknown``."""
    flow = states()
    assert flow.of("99", "Mystery") == "new"
    assert flow.unknown == {"Mystery"}
    assert flow.fallbacks == set()


def test_a_status_asked_about_again_gets_the_same_answer_and_stays_recorded() -> None:
    """QA (unmapped, category indeterminate) asked twice: active both times, one fallback;
    Mystery (unknown) asked twice: new both times, one unknown."""
    flow = states()
    assert [flow.of("8", "QA"), flow.of("8", "QA")] == ["active", "active"]
    assert [flow.of("99", "Mystery"), flow.of("99", "Mystery")] == ["new", "new"]
    assert (flow.fallbacks, flow.unknown) == ({"QA"}, {"Mystery"})


def test_current_status_missing_from_catalogue_uses_the_given_category() -> None:
    """Current status "Archiviert" (id 42, deleted from the catalogue since) with category done:
    the change into it means done, and the name is a fallback."""
    flow = states()
    work = item(
        "Archiviert",
        change("2026-01-06 09:00", "To Do", "In Progress", 1),
        StatusChange(at("2026-01-07 09:00"), 2, 0, "3", "In Progress", "42", "Archiviert"),
        status_id="42",
    )
    line = build_timeline(work, flow, "done")
    assert (line.state, line.end) == ("done", at("2026-01-07 09:00"))
    assert flow.fallbacks == {"Archiviert"}


def test_changes_given_out_of_order_are_sorted_by_time() -> None:
    """The usual life given backwards yields the same timeline."""
    assert timeline_of(item("Done", *reversed(USUAL))) == timeline_of(item("Done", *USUAL))


def test_changes_at_the_same_moment_are_ordered_by_history_id() -> None:
    """At 01-07 09:00: history 4 In Progress -> Blocked, history 5 Blocked -> Done (given 5 first).
    Sorted by history id the item ends Done at 01-07 09:00; flow 1.0 day, no waiting time."""
    line = timeline_of(
        item(
            "Done",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-07 09:00", "Blocked", "Done", 5),
            change("2026-01-07 09:00", "In Progress", "Blocked", 4),
        )
    )
    assert (line.state, line.end, line.flow_days) == ("done", at("2026-01-07 09:00"), 1.0)
    assert line.waiting_days == 0.0


def test_several_status_items_in_one_history_are_ordered_by_item_index() -> None:
    """One history (id 4) holding two status items, index 1 given before index 0: index 0
    (In Progress -> Blocked) replays first, so the item ends Done."""
    line = timeline_of(
        item(
            "Done",
            change("2026-01-06 09:00", "To Do", "In Progress", 1),
            change("2026-01-07 09:00", "Blocked", "Done", 4, index=1),
            change("2026-01-07 09:00", "In Progress", "Blocked", 4, index=0),
        )
    )
    assert (line.state, line.end) == ("done", at("2026-01-07 09:00"))


def test_flow_time_is_calendar_time_across_a_daylight_saving_change() -> None:
    """Europe's clocks go forward on 2026-03-29; UTC maths do not care: 2026-03-28 12:00Z ->
    2026-03-30 12:00Z is exactly 2.0 days (48 h), all of it active."""
    line = timeline_of(
        item(
            "Done",
            change("2026-03-28 12:00", "To Do", "In Progress", 1),
            change("2026-03-30 12:00", "In Progress", "Done", 2),
            created="2026-03-27 12:00",
        )
    )
    assert line.flow_days == 2.0
    assert line.active_days == 2.0


def test_change_stamped_before_creation_counts_from_creation() -> None:
    """A clock-skewed change 1 h before creation moves the item at creation, not before it."""
    line = timeline_of(
        item(
            "In Progress",
            change("2026-01-05 08:00", "To Do", "In Progress", 1),
            created="2026-01-05 09:00",
        )
    )
    assert line.intervals == (Interval("active", at("2026-01-05 09:00"), None),)
    assert line.start == at("2026-01-05 09:00")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-01-05 08:59", None),  # before creation
        ("2026-01-05 09:00", "new"),  # at creation
        ("2026-01-06 08:59", "new"),
        ("2026-01-06 09:00", "active"),  # a change takes effect at its own instant
        ("2026-01-08 12:00", "waiting"),
        ("2026-01-09 09:00", "done"),
        ("2027-01-01 00:00", "done"),  # the last interval is open
    ],
)
def test_state_at_gives_the_state_holding_at_a_moment(
    moment: str, expected: FlowState | None
) -> None:
    """state_at over the usual life: None before creation, the entered state from its instant."""
    assert timeline_of(item("Done", *USUAL)).state_at(at(moment)) == expected


def test_days_in_clips_intervals_to_the_window() -> None:
    """Active 01-06 09:00..01-07 09:00 and 01-08 21:00..01-09 09:00; window 01-07 00:00..01-09
    00:00 holds 9 h + 3 h = 0.5 day of active time."""
    line = timeline_of(item("Done", *USUAL))
    assert line.days_in(("active",), at("2026-01-07 00:00"), at("2026-01-09 00:00")) == 0.5


def test_active_days_within_a_window_in_epoch_seconds() -> None:
    """The same window as above, 01-07 00:00..01-09 00:00, given as datetimes or as epoch
    seconds: 9 h + 3 h = 0.5 active day either way."""
    line = timeline_of(item("Done", *USUAL))
    since, until = at("2026-01-07 00:00"), at("2026-01-09 00:00")
    assert line.active_days_within(since, until) == 0.5
    assert line.active_days_between(since.timestamp(), until.timestamp()) == 0.5


STATUS_NAMES = ["To Do", "In Progress", "Blocked", "Review", "QA", "Done", "Won't Do"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[StatusChange, ...]:
    """A consistent chain of status changes at distinct or equal minutes after creation."""
    names = draw(st.lists(st.sampled_from(STATUS_NAMES), min_size=1, max_size=8))
    minutes = sorted(
        draw(st.lists(st.integers(0, 20_000), min_size=len(names), max_size=len(names)))
    )
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    chain: list[StatusChange] = []
    previous = "To Do"
    for number, (name, minute) in enumerate(zip(names, minutes, strict=True), start=1):
        when = start + timedelta(minutes=minute)
        chain.append(StatusChange(when, number, 0, IDS[previous], previous, IDS[name], name))
        previous = name
    return tuple(chain)


@given(histories(), st.randoms())
def test_timeline_does_not_depend_on_the_order_changes_are_given(
    chain: tuple[StatusChange, ...], rng: Random
) -> None:
    """Shuffling the changelog never changes the timeline."""
    shuffled = list(chain)
    rng.shuffle(shuffled)
    current = chain[-1].to_status or "To Do"
    assert timeline_of(item(current, *shuffled)) == timeline_of(item(current, *chain))


@given(histories())
def test_intervals_are_consecutive_and_times_fit_in_flow_time(
    chain: tuple[StatusChange, ...],
) -> None:
    """Intervals tile creation..now; active + waiting never exceed flow time."""
    line = timeline_of(item(chain[-1].to_status or "To Do", *chain))
    assert line.intervals[0].start == line.created
    for before, after in zip(line.intervals, line.intervals[1:], strict=False):
        assert before.end == after.start
        assert before.state != after.state
    assert line.intervals[-1].end is None
    if line.flow_days is not None:
        assert line.active_days + line.waiting_days <= line.flow_days + 1e-9
