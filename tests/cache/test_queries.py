"""The reads the sync engine needs: live keys, updated stamps, levels and the hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from restrat_sync.cache import Cache
from restrat_sync.jira.records import IssueRecord
from tests.cache.conftest import CREATED, NOW, issue

# INIT-1 <-Parent Link- EPIC-2 <-Epic Link- PAY-3 <-parent- PAY-4, with beside it a deleted
# child of the epic (PAY-5) and its own child (PAY-6), a Cloud-style child (PAY-7) and an
# unrelated issue.
HIERARCHY = (
    issue(1, "INIT", issuetype="Initiative", hierarchy_level=2),
    issue(2, "EPIC", issuetype="Epic", hierarchy_level=1, parent_link_key="INIT-1"),
    issue(3, issuetype="Story", epic_link_key="EPIC-2"),
    issue(4, issuetype="Sub-task", hierarchy_level=-1, subtask=True, parent_key="PAY-3"),
    issue(5, epic_link_key="EPIC-2"),
    issue(6, parent_key="PAY-5"),
    issue(7, parent_key="EPIC-2"),
    issue(8, "OTHER", hierarchy_level=None),
)


def store(cache: Cache, records: Sequence[IssueRecord], deleted: Sequence[str] = ()) -> None:
    """Upsert ``records``, then mark ``deleted`` as deleted."""
    with cache.transaction() as session:
        cache.upsert_issues(session, records, NOW)
        cache.mark_deleted(session, deleted, NOW)


@pytest.mark.parametrize(
    ("roots", "expected"),
    [
        ({"INIT-1"}, {"INIT-1", "EPIC-2", "PAY-3", "PAY-4", "PAY-7"}),
        ({"EPIC-2"}, {"EPIC-2", "PAY-3", "PAY-4", "PAY-7"}),
        ({"PAY-4"}, {"PAY-4"}),
        ({"PAY-3", "OTHER-8"}, {"PAY-3", "PAY-4", "OTHER-8"}),
        ({"NEW-1"}, {"NEW-1"}),
        (set(), set()),
    ],
    ids=["initiative", "epic", "leaf", "two-roots", "uncached-root", "no-roots"],
)
def test_children_parents_closes_the_hierarchy_below_the_roots(
    cache: Cache, roots: set[str], expected: set[str]
) -> None:
    """Parent Link, Epic Link and parent are all followed down; deleted issues cut the path."""
    store(cache, HIERARCHY, deleted=["PAY-5"])
    assert cache.children_parents(roots) == expected


def test_children_parents_survives_a_cycle(cache: Cache) -> None:
    """Two issues naming each other as parent do not loop forever."""
    store(cache, [issue(1, parent_key="PAY-2"), issue(2, epic_link_key="PAY-1")])
    assert cache.children_parents({"PAY-1"}) == {"PAY-1", "PAY-2"}


def test_issue_kinds_of_cached_keys(cache: Cache) -> None:
    """Levels as Jira sent them (None when it did not), with type and sub-task flag; unknown
    keys are absent."""
    store(cache, HIERARCHY)
    kinds = cache.issue_kinds(["INIT-1", "EPIC-2", "PAY-4", "OTHER-8", "NEW-1"])
    assert {key: level for key, (level, _, _) in kinds.items()} == {
        "INIT-1": 2,
        "EPIC-2": 1,
        "PAY-4": -1,
        "OTHER-8": None,
    }
    assert kinds["PAY-4"][2] is True
    assert kinds["INIT-1"][2] is False


def test_issue_keys_leave_out_deleted_and_out_of_scope_issues(cache: Cache) -> None:
    """Live keys by default; every cached key with include_deleted."""
    store(cache, [issue(1), issue(2), issue(3)], deleted=["PAY-1"])
    with cache.transaction() as session:
        cache.mark_out_of_scope(session, ["PAY-2"], NOW)
    assert cache.issue_keys() == {"PAY-3"}
    assert cache.issue_keys(include_deleted=True) == {"PAY-1", "PAY-2", "PAY-3"}


def test_updated_by_key_reads_more_keys_than_one_in_list_holds(cache: Cache) -> None:
    """Thousands of keys are read in chunks; unknown keys are absent."""
    records = [issue(n, updated=CREATED + timedelta(minutes=n)) for n in range(2_000)]
    store(cache, records)
    keys = [r.key for r in records] + ["NEW-1"]
    assert cache.updated_by_key(keys) == {r.key: r.updated for r in records}


def test_keys_among_gives_live_cached_keys_and_those_written_since(cache: Cache) -> None:
    """keys_among: cached, not deleted or out of scope; synced_since narrows to a run's writes."""
    store(cache, [issue(1), issue(2), issue(3)], deleted=["PAY-3"])
    later = NOW + timedelta(minutes=10)
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(2)], later)
    keys = ["PAY-1", "PAY-2", "PAY-3", "NEW-1"]
    assert cache.keys_among(keys) == {"PAY-1", "PAY-2"}
    assert cache.keys_among(keys, synced_since=later) == {"PAY-2"}


def test_stale_keys_are_live_issues_not_written_since(cache: Cache) -> None:
    """After a run that wrote some issues, the others are stale; deleted ones are not listed."""
    store(cache, [issue(1), issue(2), issue(3)], deleted=["PAY-3"])
    later = NOW + timedelta(minutes=10)
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(1)], later)
    assert cache.stale_keys(later) == {"PAY-2"}
