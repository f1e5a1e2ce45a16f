"""The portfolio as it was at an instant, rebuilt from the changelogs (``model.asof``).

Times are days of October 2026 at 09:00 UTC (``day(12)`` is 12 October); the moment asked is
``day(15)`` unless a test says otherwise. Statuses: To Do (1), In Progress (2), Done (3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from restrat_sync.model.asof import item_as_of, items_as_of, spans_as_of
from restrat_sync.model.items import FieldChange, Link, StatusChange, WorkItem
from restrat_sync.model.structure import MemberSpan, link_verbs

VERBS = link_verbs([("Implements", "is implemented by", "implements")])
IDS = {"To Do": "1", "In Progress": "2", "Done": "3"}
MOMENT = datetime(2026, 10, 15, 9, tzinfo=UTC)


def day(n: int) -> datetime:
    return datetime(2026, 10, 1, 9, tzinfo=UTC) + timedelta(days=n - 1)


def status(at: datetime, old: str, new: str, history_id: int = 1) -> StatusChange:
    return StatusChange(at, history_id, 0, IDS[old], old, IDS[new], new)


def item(key: str = "S-1", **fields: Any) -> WorkItem:
    values: dict[str, Any] = {
        "key": key, "summary": key, "project": "S", "issuetype": "Story", "level": 0,
        "status_id": "1", "status": "To Do", "created": day(1), "resolved": None,
        "duedate": None, "release_date": None, "story_points": None, "labels": (),
        "priority": "Medium", "parent_key": None,
    }  # fmt: skip
    values.update(fields)
    return WorkItem(**values)


def test_an_item_created_after_the_moment_did_not_exist() -> None:
    assert item_as_of(item(created=day(16)), MOMENT, VERBS) is None
    assert item_as_of(item(created=MOMENT), MOMENT, VERBS) is not None


def test_an_item_nothing_happened_to_since_is_itself() -> None:
    """No change after the moment: the very same value (today's fields win, as in the graph
    with memory, where an incomplete changelog disagrees with them)."""
    now = item(status_id="3", status="Done", status_changes=(status(day(3), "To Do", "Done"),))
    assert item_as_of(now, MOMENT, VERBS) is now


def test_the_status_is_the_one_held_at_the_moment_and_later_changes_are_dropped() -> None:
    """In Progress on day 10, Done on day 20: at day 15 it is In Progress, with one change;
    resolved on day 20 is cleared."""
    changes = (
        status(day(10), "To Do", "In Progress", 1),
        status(day(20), "In Progress", "Done", 2),
    )
    now = item(status_id="3", status="Done", resolved=day(20), status_changes=changes)
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert (then.status_id, then.status, then.resolved) == ("2", "In Progress", None)
    assert then.status_changes == changes[:1]


def test_before_its_first_change_an_item_had_the_status_that_change_left() -> None:
    now = item(status_id="2", status="In Progress",
               status_changes=(status(day(20), "To Do", "In Progress"),))  # fmt: skip
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert (then.status_id, then.status, then.status_changes) == ("1", "To Do", ())


def test_a_change_at_the_moment_itself_has_been_made() -> None:
    now = item(status_id="2", status="In Progress",
               status_changes=(status(MOMENT, "To Do", "In Progress"),))  # fmt: skip
    assert item_as_of(now, MOMENT, VERBS) is now


def test_hierarchy_fields_are_those_of_the_moment() -> None:
    """Epic Link EPIC-1 -> EPIC-2 on day 20 and Parent Link set on day 18: at day 15 the item
    hung from EPIC-1 through Epic Link alone."""
    now = item(
        parent_key="EPIC-2",
        parent_fields=(("epic_link", "EPIC-2"), ("parent_link", "INIT-9")),
        field_changes=(
            FieldChange(day(20), 5, "epic_link", "EPIC-1", "EPIC-2"),
            FieldChange(day(18), 4, "parent_link", None, "INIT-9"),
        ),
    )
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert (then.parent_key, then.parent_fields, then.field_changes) == (
        "EPIC-1", (("epic_link", "EPIC-1"),), (),
    )  # fmt: skip


def test_links_are_those_held_at_the_moment() -> None:
    """INIT-1 linked on day 5 and unlinked on day 20 (held at day 15); INIT-2 linked on day 18
    (not yet); INIT-3 held now and never in the changelog (always held)."""
    now = item(
        links=(Link("Implements", "outward", "INIT-2"), Link("Implements", "outward", "INIT-3")),
        field_changes=(
            FieldChange(day(5), 1, "link", None, "This issue implements INIT-1"),
            FieldChange(day(20), 2, "link", "This issue implements INIT-1", None),
            FieldChange(day(18), 3, "link", None, "This issue implements INIT-2"),
        ),
    )
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert then.links == (
        Link("Implements", "outward", "INIT-3"),
        Link("Implements", "outward", "INIT-1"),
    )
    assert [c.history_id for c in then.field_changes] == [1]


def test_priority_and_labels_are_those_of_the_moment() -> None:
    now = item(
        priority="High",
        labels=("tech-debt", "risk"),
        field_changes=(
            FieldChange(day(20), 1, "priority", "Low", "High"),
            FieldChange(day(21), 2, "labels", "tech-debt", "tech-debt risk"),
        ),
    )
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert (then.priority, then.labels) == ("Low", ("tech-debt",))


def test_points_due_dates_and_releases_stay_as_they_are_now() -> None:
    """The cache keeps no changelog of them: documented as the limit of an as-of run."""
    now = item(story_points=8.0, duedate=day(30).date(), release_date=day(31).date(),
               status_id="2", status="In Progress",
               status_changes=(status(day(20), "To Do", "In Progress"),))  # fmt: skip
    then = item_as_of(now, MOMENT, VERBS)
    assert then is not None
    assert (then.story_points, then.duedate, then.release_date) == (
        8.0,
        day(30).date(),
        day(31).date(),
    )


def test_items_as_of_keeps_only_those_that_existed() -> None:
    found = items_as_of({"A-1": item("A-1"), "A-2": item("A-2", created=day(16))}, MOMENT, VERBS)
    assert list(found) == ["A-1"]


def test_membership_spans_as_known_at_the_moment() -> None:
    """GROWTH first listed on day 2 (INIT-A, INIT-B); INIT-B left on day 20 (open then),
    INIT-C joined on day 18 (not yet), INIT-D joined on day 10 and left on day 12 (closed)."""
    spans = (
        MemberSpan("GROWTH", "INIT-A", day(2), None),
        MemberSpan("GROWTH", "INIT-B", day(2), day(20)),
        MemberSpan("GROWTH", "INIT-C", day(18), None),
        MemberSpan("GROWTH", "INIT-D", day(10), day(12)),
    )
    assert spans_as_of(spans, MOMENT) == (
        MemberSpan("GROWTH", "INIT-A", day(2), None),
        MemberSpan("GROWTH", "INIT-B", day(2), None),
        MemberSpan("GROWTH", "INIT-D", day(10), day(12)),
    )


def test_before_the_first_sync_its_membership_is_assumed() -> None:
    """A moment before the first listing (day 20): its members are members since forever, as
    they are for every computation; later joins are not known yet."""
    spans = (
        MemberSpan("GROWTH", "INIT-A", day(20), day(25)),
        MemberSpan("GROWTH", "INIT-C", day(22), None),
    )
    assert spans_as_of(spans, MOMENT) == (MemberSpan("GROWTH", "INIT-A", day(20), None),)
