"""Issues, their history, links and statuses are stored idempotently, with honest counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from restrat_sync.cache import Cache, UpsertCounts
from restrat_sync.cache.changes import pending_changes
from restrat_sync.cache.models import (
    FieldChange,
    Issue,
    IssueLink,
    PendingChange,
    Status,
    StatusTransition,
)
from restrat_sync.jira.records import (
    PARENT,
    FieldChangeRecord,
    FixVersion,
    IssueRecord,
    StatusRecord,
)
from tests.cache.conftest import CREATED, NOW, issue, link, transition

LATER = NOW + timedelta(hours=1)


def upsert(cache: Cache, records: Sequence[IssueRecord], now: datetime = NOW) -> UpsertCounts:
    """Upsert ``records`` in a transaction of their own."""
    with cache.transaction() as session:
        return cache.upsert_issues(session, records, now)


def stored_issue(cache: Cache, key: str) -> Issue:
    """The cached row of ``key``."""
    with cache.transaction() as session:
        return session.scalars(select(Issue).where(Issue.key == key)).one()


def started(number: int) -> IssueRecord:
    """An issue with two status changes, a field change and a link."""
    return issue(
        number,
        status="Done",
        transitions=(
            transition(100 * number, "In Progress", CREATED + timedelta(days=1)),
            transition(100 * number + 1, "Done", CREATED + timedelta(days=3)),
        ),
        field_changes=(
            FieldChangeRecord(
                history_id=100 * number,
                item_index=1,
                at=CREATED + timedelta(days=1),
                field=PARENT,
                from_value=None,
                from_string=None,
                to_value="10000",
                to_string="PAY-0",
            ),
        ),
        links=(link(f"L{number}", "PAY-0"),),
        changelog_total=2,
    )


def test_first_upsert_counts_new_issues_and_transitions(cache: Cache) -> None:
    """Every issue is new; every status change is added."""
    counts = upsert(cache, [started(1), started(2), issue(3)])
    assert counts == UpsertCounts(new=3, updated=0, unchanged=0, transitions_added=4)
    tables = cache.counts()
    assert (tables["issues"], tables["status_transitions"], tables["field_changes"]) == (3, 4, 2)
    assert tables["issue_links"] == 2


def test_upserting_the_same_issues_again_changes_nothing(cache: Cache) -> None:
    """The second upsert finds every issue unchanged and adds no history."""
    records = [started(1), started(2), issue(3)]
    upsert(cache, records)
    before = cache.counts()
    assert upsert(cache, records, LATER) == UpsertCounts(0, 0, 3, 0)
    assert cache.counts() == before


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "In Progress", "status_id": "3", "status_category": "indeterminate"},
        {"summary": "Renamed"},
        {"updated": CREATED + timedelta(days=9)},
        {"resolved": CREATED + timedelta(days=5)},
        {"duedate": date(2026, 12, 24)},
        {"priority": None},
        {"story_points": 5.0},
        {"labels": ("tech-debt",)},
        {"fix_versions": (FixVersion("2026.12", released=False, release_date=date(2026, 12, 1)),)},
        {"parent_key": "PAY-0"},
        {"epic_link_key": "EPIC-1"},
        {"parent_link_key": "INIT-1"},
        {"hierarchy_level": None},
        {"changelog_total": 4},
    ],
    ids=lambda changes: "-".join(changes),
)
def test_a_changed_field_counts_as_updated(cache: Cache, changes: dict[str, Any]) -> None:
    """Any stored value that differs makes the issue updated, and the new value is stored."""
    upsert(cache, [issue(1), issue(2)])
    assert upsert(cache, [issue(1, **changes), issue(2)], LATER) == UpsertCounts(0, 1, 1, 0)
    row = stored_issue(cache, "PAY-1")
    for name, value in changes.items():
        stored = getattr(row, name)
        if name == "labels":
            stored = tuple(stored)
        if name == "fix_versions":
            stored = tuple(
                FixVersion(v["name"], v["released"], date.fromisoformat(v["release_date"]))
                for v in stored
            )
        assert stored == value


def test_first_seen_is_kept_and_synced_at_moves(cache: Cache) -> None:
    """Bookkeeping: first_seen_at is the first upsert, synced_at the last, changed or not."""
    upsert(cache, [issue(1)])
    upsert(cache, [issue(1)], LATER)
    row = stored_issue(cache, "PAY-1")
    assert (row.first_seen_at, row.synced_at) == (NOW, LATER)


def test_transitions_are_never_duplicated(cache: Cache) -> None:
    """Only status changes the cache lacks are added; known ones are left alone."""
    first = transition(1, "In Progress", CREATED + timedelta(days=1))
    second = transition(2, "Done", CREATED + timedelta(days=2))
    assert upsert(cache, [issue(1, transitions=(first,))]).transitions_added == 1
    counts = upsert(cache, [issue(1, transitions=(first, second))], LATER)
    assert counts == UpsertCounts(new=0, updated=1, unchanged=0, transitions_added=1)
    assert upsert(cache, [issue(1, transitions=(first, second))]).transitions_added == 0
    assert cache.counts()["status_transitions"] == 2


def test_a_batch_holding_an_issue_twice_stores_it_once(cache: Cache) -> None:
    """The last record of an issue in a batch wins; its history is stored once."""
    first = transition(1, "In Progress", CREATED + timedelta(days=1))
    records = [issue(1, transitions=(first,)), issue(1, summary="Last", transitions=(first,))]
    assert upsert(cache, records) == UpsertCounts(1, 0, 0, 1)
    assert stored_issue(cache, "PAY-1").summary == "Last"


def test_links_are_replaced(cache: Cache) -> None:
    """The stored links are those of the last upsert, whatever was there before."""
    upsert(cache, [issue(1, links=(link("a", "PAY-7"), link("b", "PAY-8", "inward")))])
    assert upsert(cache, [issue(1, links=(link("a", "PAY-7"), link("c", "PAY-9")))]).updated == 1
    with cache.transaction() as session:
        stored = {(x.link_id, x.other_key) for x in session.scalars(select(IssueLink))}
    assert stored == {("a", "PAY-7"), ("c", "PAY-9")}
    assert upsert(cache, [issue(1)]).updated == 1
    assert cache.counts()["issue_links"] == 0


@pytest.mark.parametrize("flag", ["deleted_at", "out_of_scope_at"])
def test_an_issue_seen_again_is_no_longer_flagged(cache: Cache, flag: str) -> None:
    """A deleted or out-of-scope issue that Jira returns again is live again (and updated)."""
    upsert(cache, [issue(1), issue(2)])
    with cache.transaction() as session:
        mark = cache.mark_deleted if flag == "deleted_at" else cache.mark_out_of_scope
        assert mark(session, ["PAY-1", "PAY-404"], NOW) == 1
    assert cache.issue_keys() == {"PAY-2"}
    assert upsert(cache, [issue(1), issue(2)], LATER) == UpsertCounts(0, 1, 1, 0)
    assert cache.issue_keys() == {"PAY-1", "PAY-2"}
    assert getattr(stored_issue(cache, "PAY-1"), flag) is None


@pytest.mark.parametrize("mark", ["mark_deleted", "mark_out_of_scope"])
def test_flagging_keeps_the_first_time(cache: Cache, mark: str) -> None:
    """Flagging an issue again counts nothing and keeps the moment it was first noticed."""
    upsert(cache, [issue(1)])
    for now, expected in ((NOW, 1), (LATER, 0)):
        with cache.transaction() as session:
            assert getattr(cache, mark)(session, {"PAY-1"}, now) == expected
    row = stored_issue(cache, "PAY-1")
    assert NOW in (row.deleted_at, row.out_of_scope_at)


def test_issues_written_out_of_scope_are_marked_once_with_the_first_time(cache: Cache) -> None:
    """Keys given as out of scope are written marked (with their current fields) and counted
    when newly marked; written so again, the first moment stays; written plainly, live again."""
    upsert(cache, [issue(1), issue(2)])
    with cache.transaction() as session:
        counts = cache.upsert_issues(
            session, [issue(1, parent_key="PAY-9"), issue(2)], NOW, out_of_scope={"PAY-1"}
        )
    assert counts == UpsertCounts(0, 1, 1, 0, out_of_scope=1)
    assert (stored_issue(cache, "PAY-1").parent_key, cache.issue_keys()) == ("PAY-9", {"PAY-2"})
    with cache.transaction() as session:
        again = cache.upsert_issues(session, [issue(1, parent_key="PAY-9")], LATER, {"PAY-1"})
    assert again == UpsertCounts(0, 0, 1, 0, out_of_scope=0)
    assert stored_issue(cache, "PAY-1").out_of_scope_at == NOW
    assert upsert(cache, [issue(1, parent_key="PAY-9")], LATER).updated == 1
    assert cache.issue_keys() == {"PAY-1", "PAY-2"}


def test_a_key_given_to_another_issue_replaces_the_stale_one(cache: Cache) -> None:
    """When Jira reuses a key for a new issue id, the stale issue and its history go."""
    upsert(cache, [started(1)])
    assert upsert(cache, [issue(1, id=99, summary="Reborn")]) == UpsertCounts(1, 0, 0, 0)
    assert stored_issue(cache, "PAY-1").id == 99
    assert cache.counts()["status_transitions"] == 0


def test_history_rows_are_stored_as_sent(cache: Cache) -> None:
    """Transitions and field changes keep Jira's ids, times and values."""
    record = started(1)
    upsert(cache, [record])
    with cache.transaction() as session:
        transitions = session.scalars(select(StatusTransition).order_by(StatusTransition.at))
        assert [(t.history_id, t.at, t.to_status) for t in transitions] == [
            (t.history_id, t.at, t.to_status) for t in record.transitions
        ]
        change = session.scalars(select(FieldChange)).one()
    assert (change.field, change.to_string, change.item_index) == (PARENT, "PAY-0", 1)


def test_statuses_are_added_and_renamed(cache: Cache) -> None:
    """Statuses are upserted by id: a renamed status keeps one row with the new name."""
    with cache.transaction() as session:
        cache.upsert_statuses(session, [StatusRecord("1", "To Do", "new")])
        cache.upsert_statuses(
            session,
            [StatusRecord("1", "Backlog", "new"), StatusRecord("3", "Doing", "indeterminate")],
        )
    with cache.transaction() as session:
        statuses = {(s.id, s.name, s.category) for s in session.scalars(select(Status))}
    assert statuses == {("1", "Backlog", "new"), ("3", "Doing", "indeterminate")}


def test_an_empty_batch_is_a_no_op(cache: Cache) -> None:
    """Nothing to write, nothing counted."""
    assert upsert(cache, []) == UpsertCounts(0, 0, 0, 0)


def test_a_link_sent_twice_is_stored_once(cache: Cache) -> None:
    """Links are keyed by (link id, direction): a repeated one is not a conflict."""
    twice = (link("a", "PAY-7"), link("a", "PAY-7"), link("a", "PAY-6", "inward"))
    upsert(cache, [issue(1, links=twice)])
    assert cache.counts()["issue_links"] == 2
    assert upsert(cache, [issue(1, links=twice)]).unchanged == 1


def test_a_moved_issue_keeps_its_id_and_history(cache: Cache) -> None:
    """A new key for a known id (the issue moved project) updates the row in place."""
    upsert(cache, [started(1)])
    moved = dataclasses.replace(started(1), key="OPS-1", project="OPS")
    assert upsert(cache, [moved], LATER) == UpsertCounts(0, 1, 0, 0)
    assert cache.issue_keys() == {"OPS-1"}
    assert cache.counts()["status_transitions"] == 2


def queued(cache: Cache) -> set[tuple[str, bool, bool]]:
    """The issue changes waiting for the metrics, as (key, new, moved); the queue emptied."""
    changes = pending_changes(cache)
    with cache.transaction() as session:
        session.execute(delete(PendingChange))
    return {(change.key, change.new, change.moved) for change in changes.issues}


def test_only_a_change_is_queued_for_the_metrics(cache: Cache) -> None:
    """New issues and issues whose fields or history changed are queued for the metrics; an
    issue seen again unchanged is not, however often it is seen."""
    upsert(cache, [started(1), issue(2)])
    assert queued(cache) == {("PAY-1", True, False), ("PAY-2", True, False)}
    upsert(cache, [started(1), dataclasses.replace(issue(2), summary="Renamed")], LATER)
    upsert(cache, [started(1)], LATER)
    assert queued(cache) == {("PAY-2", False, False)}
    more_history = dataclasses.replace(
        started(1),
        transitions=(*started(1).transitions, transition(199, "In Progress", NOW)),
    )
    upsert(cache, [more_history], LATER)
    assert queued(cache) == {("PAY-1", False, False)}


@pytest.mark.parametrize(
    "moved",
    [
        {"parent_key": "PAY-9"},
        {"epic_link_key": "PAY-9"},
        {"key": "PAY-99"},
        {"links": (link("L7", "PAY-9"),)},
    ],
)
def test_a_new_place_in_the_graph_is_queued_as_a_move(cache: Cache, moved: Any) -> None:
    """A new parent, Epic Link, key or set of links is a move as well as a change."""
    upsert(cache, [started(1)])
    queued(cache)
    upsert(cache, [dataclasses.replace(started(1), **moved)], LATER)
    assert queued(cache) == {("PAY-99" if "key" in moved else "PAY-1", False, True)}


def test_flags_are_queued_as_moves_once(cache: Cache) -> None:
    """Deleting or leaving the scope takes an issue out of the graph: a move, queued once and
    not again when flagged a second time; coming back is a move too."""
    upsert(cache, [issue(1), issue(2)])
    queued(cache)
    with cache.transaction() as session:
        cache.mark_deleted(session, ["PAY-1"], LATER)
        cache.mark_out_of_scope(session, ["PAY-2"], LATER)
    with cache.transaction() as session:
        cache.mark_deleted(session, ["PAY-1"], LATER)
    assert queued(cache) == {("PAY-1", False, True), ("PAY-2", False, True)}
    upsert(cache, [issue(2)], LATER)  # listed again: back in scope
    assert queued(cache) == {("PAY-2", False, True)}


def test_a_key_given_to_another_issue_is_queued_as_a_move(cache: Cache) -> None:
    """The issue that held a reused key is gone from the graph: a move, besides the new one."""
    upsert(cache, [started(1)])
    queued(cache)
    upsert(cache, [issue(1, id=99, summary="Reborn")], LATER)
    changes = pending_changes(cache)
    assert [(c.key, c.new, c.moved) for c in changes.issues] == [("PAY-1", True, True)]


def test_queued_changes_of_one_issue_are_read_as_one(cache: Cache) -> None:
    """An issue that came and then moved before the metrics looked is read once, as new and
    moved, with every row's id."""
    upsert(cache, [started(1)])
    upsert(cache, [dataclasses.replace(started(1), parent_key="PAY-9")], LATER)
    changes = pending_changes(cache)
    assert [(c.key, c.new, c.moved) for c in changes.issues] == [("PAY-1", True, True)]
    assert len(changes.ids) == 2
