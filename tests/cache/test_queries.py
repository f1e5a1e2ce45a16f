"""The reads the sync engine needs: live keys, updated stamps, levels and the hierarchy, and
the run's key sets (RunKeys), which answer the same questions without the keys in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from restrat_sync.cache import Cache
from restrat_sync.cache.changes import pending_changes
from restrat_sync.cache.store import RunKeys
from restrat_sync.jira.records import IssueRecord
from tests.cache.conftest import CREATED, NOW, issue

# INIT-1 <-Parent Link- EPIC-2 <-Epic Link- PAY-3 <-parent- PAY-4, with beside it a deleted
# child of the epic (PAY-5) and its own child (PAY-6), a Cloud-style child (PAY-7), an
# unrelated issue, and a child of the epic out of scope (PAY-9) with its own child (PAY-10).
HIERARCHY = (
    issue(1, "INIT", issuetype="Initiative", hierarchy_level=2),
    issue(2, "EPIC", issuetype="Epic", hierarchy_level=1, parent_link_key="INIT-1"),
    issue(3, issuetype="Story", epic_link_key="EPIC-2"),
    issue(4, issuetype="Sub-task", hierarchy_level=-1, subtask=True, parent_key="PAY-3"),
    issue(5, epic_link_key="EPIC-2"),
    issue(6, parent_key="PAY-5"),
    issue(7, parent_key="EPIC-2"),
    issue(8, "OTHER", hierarchy_level=None),
    issue(9, epic_link_key="EPIC-2"),
    issue(10, parent_key="PAY-9"),
)


def store(
    cache: Cache,
    records: Sequence[IssueRecord],
    deleted: Sequence[str] = (),
    out_of_scope: Sequence[str] = (),
) -> None:
    """Upsert ``records``, then mark ``deleted`` as deleted and ``out_of_scope`` so."""
    with cache.transaction() as session:
        cache.upsert_issues(session, records, NOW)
        cache.mark_deleted(session, deleted, NOW)
        cache.mark_out_of_scope(session, out_of_scope, NOW)


SUBTREES = pytest.mark.parametrize(
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


@SUBTREES
def test_children_parents_closes_the_hierarchy_below_the_roots(
    cache: Cache, roots: set[str], expected: set[str]
) -> None:
    """Parent Link, Epic Link and parent are all followed down; deleted issues, and issues out
    of scope, cut the path."""
    store(cache, HIERARCHY, deleted=["PAY-5"], out_of_scope=["PAY-9"])
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


# --- the run's key sets --------------------------------------------------------------------------

LATER = NOW + timedelta(minutes=10)


@pytest.fixture
def keys(cache: Cache) -> Iterator[RunKeys]:
    with cache.run_keys() as run_keys:
        yield run_keys


def chunked(chunks: Iterator[list[str]]) -> list[list[str]]:
    return list(chunks)


def test_key_sets_hold_each_key_once_per_set(keys: RunKeys) -> None:
    """Adding a key twice keeps it once; sets are separate and clear on their own."""
    keys.add("a", ["PAY-1", "PAY-2"])
    keys.add("a", ["PAY-2", "PAY-3"])
    keys.add("b", ["PAY-1"])
    assert (keys.keys("a"), keys.count("a"), keys.keys("b")) == (
        {"PAY-1", "PAY-2", "PAY-3"},
        3,
        {"PAY-1"},
    )
    keys.clear("a")
    assert (keys.count("a"), keys.count("b")) == (0, 1)


def fail_a_run(cache: Cache) -> None:
    with cache.run_keys() as keys:
        keys.add("a", ["PAY-1"])
        raise RuntimeError("killed")


def test_key_sets_of_a_failed_run_are_gone_for_the_next(cache: Cache) -> None:
    """A run that fails leaves no keys to the next run, and no table in the cache's schema."""
    with pytest.raises(RuntimeError):
        fail_a_run(cache)
    with cache.run_keys() as keys:
        assert keys.count("a") == 0
    assert "restrat_run_keys" not in inspect(cache.engine).get_table_names()


@SUBTREES
def test_fill_tree_walks_the_hierarchy_like_children_parents(
    cache: Cache, keys: RunKeys, roots: set[str], expected: set[str]
) -> None:
    """The tree in a key set is what children_parents returns for the same roots."""
    store(cache, HIERARCHY, deleted=["PAY-5"], out_of_scope=["PAY-9"])
    keys.add("roots", roots)
    keys.add("tree", ["STALE-1"])  # replaced, not added to
    keys.fill_tree("tree", ["roots"])
    assert keys.keys("tree") == expected


def test_fill_tree_survives_a_cycle(cache: Cache, keys: RunKeys) -> None:
    """Two issues naming each other as parent do not loop forever."""
    store(cache, [issue(1, parent_key="PAY-2"), issue(2, epic_link_key="PAY-1")])
    keys.add("roots", ["PAY-1"])
    keys.fill_tree("tree", ["roots"])
    assert keys.keys("tree") == {"PAY-1", "PAY-2"}


def test_fill_tree_walks_levels_wider_than_one_statement(cache: Cache, keys: RunKeys) -> None:
    """A level of more parents than one statement names is walked in chunks, every one."""
    children = [issue(n, parent_key="EPIC-1") for n in range(2, 602)]
    grandchildren = [issue(n + 1000, "SUB", parent_key=f"PAY-{n}") for n in range(2, 602)]
    store(cache, [issue(1, "EPIC", hierarchy_level=1), *children, *grandchildren])
    keys.add("roots", ["EPIC-1"])
    keys.fill_tree("tree", ["roots"])
    assert keys.count("tree") == 1 + 600 + 600


def test_parents_leave_out_subtasks_with_levels_from_jira_or_by_type(
    cache: Cache, keys: RunKeys
) -> None:
    """Jira's level wins; without one (Data Center) the type's configured level, else -1 for a
    sub-task and 0 for anything else, uncached keys included."""
    store(
        cache,
        [
            issue(1, "INIT", issuetype="Initiative", hierarchy_level=2),
            issue(2, "EPIC", issuetype="Epic", hierarchy_level=None),
            issue(3, issuetype="Sub-task", hierarchy_level=None, subtask=True),
            issue(4, issuetype="Odd", hierarchy_level=None),
            issue(5, issuetype="Story", hierarchy_level=-1),
        ],
    )
    keys.add("tree", ["INIT-1", "EPIC-2", "PAY-3", "PAY-4", "PAY-5", "NEW-9"])
    (chunk,) = keys.parents("tree", {"Epic": 1, "Initiative": 2}, size=10)
    assert chunk == [("EPIC-2", 1), ("INIT-1", 2), ("NEW-9", 0), ("PAY-4", 0)]
    assert next(keys.parents("tree", {}, size=10))[0] == ("EPIC-2", 0)


def test_parents_come_sorted_in_chunks_among_and_without_other_sets(
    cache: Cache, keys: RunKeys
) -> None:
    """Chunks of the asked size, in key order; ``among`` narrows, ``excluded`` leaves out."""
    keys.add("tree", [f"PAY-{n}" for n in range(1, 8)])
    keys.add("asked", ["PAY-2"])
    keys.add("changed", ["PAY-3", "PAY-4", "PAY-2"])
    every = [[key for key, _ in chunk] for chunk in keys.parents("tree", {}, 3, excluded=["asked"])]
    assert every == [["PAY-1", "PAY-3", "PAY-4"], ["PAY-5", "PAY-6", "PAY-7"]]
    among = keys.parents("tree", {}, 3, among=["changed"], excluded=["asked"])
    assert [[key for key, _ in chunk] for chunk in among] == [["PAY-3", "PAY-4"]]


def test_chunks_are_read_one_at_a_time(cache: Cache, keys: RunKeys) -> None:
    """Keys added to an excluded set between two chunks are left out of the later ones."""
    keys.add("tree", [f"PAY-{n}" for n in range(1, 7)])
    chunks = keys.parents("tree", {}, 2, excluded=["asked"])
    assert [key for key, _ in next(chunks)] == ["PAY-1", "PAY-2"]
    keys.add("asked", ["PAY-3", "PAY-5"])
    assert [[key for key, _ in chunk] for chunk in chunks] == [["PAY-4", "PAY-6"]]


def test_fill_changed_takes_what_was_written_or_joined_a_theme_after_a_moment(
    cache: Cache, keys: RunKeys
) -> None:
    """Of the tree: issues written after the moment (the start of the last whole walk), and
    keys that joined a theme after it; what was written or joined at that moment is not."""
    store(cache, [issue(1), issue(2), issue(3)])
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(2)], LATER)
        cache.record_membership(session, "theme:A", {"PAY-3"}, NOW)
        cache.record_membership(session, "theme:A", {"PAY-3", "NEW-4"}, LATER)
        cache.record_membership(session, "kr:A:0", {"PAY-1"}, LATER)
    keys.add("tree", ["PAY-1", "PAY-2", "PAY-3", "NEW-4"])
    keys.fill_changed("changed", "tree", NOW, ["theme:A"])
    assert keys.keys("changed") == {"PAY-2", "NEW-4"}
    keys.fill_changed("changed", "tree", LATER, ["theme:A"])
    assert keys.keys("changed") == set()


def test_strays_are_issues_out_of_scope_below_a_set(cache: Cache, keys: RunKeys) -> None:
    """Issues out of scope (not deleted) whose parent, Epic Link or Parent Link is in the set,
    in key order; live children and children of other issues are not."""
    store(cache, HIERARCHY, deleted=["PAY-5"], out_of_scope=["PAY-3", "PAY-6", "PAY-9", "EPIC-2"])
    keys.add("tree", ["INIT-1", "EPIC-2"])
    assert chunked(keys.strays("tree", 2)) == [["EPIC-2", "PAY-3"], ["PAY-9"]]


def test_among_and_children_of(cache: Cache, keys: RunKeys) -> None:
    """among: which keys a set holds; children_of: live issues below given parents."""
    store(cache, HIERARCHY, deleted=["PAY-5"], out_of_scope=["PAY-9"])
    keys.add("tree", ["INIT-1", "EPIC-2"])
    assert keys.among("tree", ["EPIC-2", "PAY-3", "NEW-1"]) == {"EPIC-2"}
    assert cache.children_of(["EPIC-2", "PAY-5", "PAY-9"]) == {"PAY-3", "PAY-6", "PAY-7", "PAY-10"}


def test_record_memberships_opens_and_closes_spans_from_key_sets(
    cache: Cache, keys: RunKeys
) -> None:
    """The same spans as record_membership, from sets in the database; it returns counts."""
    with cache.transaction() as session:
        cache.record_membership(session, "theme:A", {"PAY-1", "PAY-2"}, NOW)
    keys.add("listed:theme:A", ["PAY-2", "PAY-3"])
    keys.add("listed:kr:A:0", ["PAY-9"])
    listings = {"theme:A": "listed:theme:A", "kr:A:0": "listed:kr:A:0"}
    counts = keys.record_memberships(listings, LATER)
    assert (counts.joined, counts.left) == (2, 1)
    assert cache.open_members("theme:A") == {"PAY-2", "PAY-3"}
    assert cache.open_members("kr:A:0") == {"PAY-9"}
    again = keys.record_memberships(listings, LATER + timedelta(hours=1))
    assert (again.joined, again.left) == (0, 0)
    # Each mapping whose members changed is queued for the metrics once per change.
    assert sorted(pending_changes(cache).mappings) == ["kr:A:0", "theme:A"]
    assert len(pending_changes(cache).ids) == 3  # theme:A twice (NOW, LATER), kr:A:0 once


def test_unfetched_gives_listed_keys_the_cache_lacks(cache: Cache, keys: RunKeys) -> None:
    """Listed keys not cached live (deleted ones count as lacking); with synced_since, those
    this run has not written; each key once however many sets hold it."""
    store(cache, [issue(1), issue(2), issue(3)], deleted=["PAY-3"])
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(2)], LATER)
    keys.add("a", ["PAY-1", "PAY-2", "PAY-3", "NEW-4"])
    keys.add("b", ["NEW-4", "NEW-5"])
    assert chunked(keys.unfetched(["a", "b"], 2)) == [["NEW-4", "NEW-5"], ["PAY-3"]]
    since = keys.unfetched(["a", "b"], 10, synced_since=LATER)
    assert chunked(since) == [["NEW-4", "NEW-5", "PAY-1", "PAY-3"]]


def test_unlisted_gives_live_keys_no_listing_returned(cache: Cache, keys: RunKeys) -> None:
    """Live cached keys in none of the listed sets; with synced_before, only older writes; with
    among, only keys in those sets."""
    store(cache, [issue(n) for n in range(1, 6)], deleted=["PAY-5"])
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(4)], LATER)
    keys.add("listed:a", ["PAY-1"])
    keys.add("listed:b", ["PAY-2"])
    assert chunked(keys.unlisted(["listed:a", "listed:b"], 10)) == [["PAY-3", "PAY-4"]]
    older = keys.unlisted(["listed:a"], 10, synced_before=LATER)
    assert chunked(older) == [["PAY-2", "PAY-3"]]
    keys.add("below", ["PAY-2", "PAY-4", "PAY-5"])
    assert chunked(keys.unlisted(["listed:a"], 10, among=["below"])) == [["PAY-2", "PAY-4"]]


def test_unlisted_chunks_go_on_after_keys_are_marked(cache: Cache, keys: RunKeys) -> None:
    """Marking a chunk out of scope between reads neither repeats nor skips a key."""
    store(cache, [issue(n) for n in range(1, 6)])
    seen: list[str] = []
    for chunk in keys.unlisted([], 2):
        seen += chunk
        with cache.transaction() as session:
            cache.mark_out_of_scope(session, chunk, LATER)
    assert seen == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
