"""Reading the cache as work items, metric snapshots and the theme attribution history, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import text as sql

from restrat_sync.cache import Cache
from restrat_sync.cache.portfolio import read_portfolio
from restrat_sync.cache.snapshots import (
    SnapshotDiff,
    diff_snapshots,
    read_snapshots,
    record_attribution,
    store_snapshots,
    theme_history,
    value_hash,
)
from restrat_sync.config import Hierarchy
from restrat_sync.jira.records import FieldChangeRecord, FixVersion, StatusRecord
from restrat_sync.model.items import Link
from tests.cache.conftest import CREATED, NOW, issue, link, transition

LEVEL_OF = Hierarchy().level_of


def store(cache: Cache, *records: object) -> None:
    with cache.transaction() as session:
        cache.upsert_issues(session, list(records), NOW)  # type: ignore[arg-type]


def test_work_items_carry_history_links_and_resolved_fields(cache: Cache) -> None:
    """Each live issue becomes a WorkItem with UTC times, its changes, links, the earliest
    release date and the Data Center parent fields folded into one parent."""
    started = CREATED + timedelta(days=2)
    moved = FieldChangeRecord(7, 0, started, "epic_link", "1", "PAY-1", "2", "PAY-2")
    store(
        cache,
        issue(
            3,
            status="In Progress",
            status_id="in progress",
            transitions=(transition(7, "In Progress", started),),
            field_changes=(moved,),
            links=(link("50", "PAY-9"),),
            epic_link_key="PAY-2",
            hierarchy_level=None,
            issuetype="Epic",
            labels=("tech-debt",),
            duedate=date(2026, 12, 1),
            fix_versions=(
                FixVersion("2", True, date(2026, 12, 20)),
                FixVersion("1", True, date(2026, 12, 10)),
                FixVersion("later", False, None),
            ),
        ),
    )
    with cache.transaction() as session:
        cache.upsert_statuses(
            session, [StatusRecord("in progress", "In Progress", "indeterminate")]
        )
    item = read_portfolio(cache, LEVEL_OF).items["PAY-3"]
    assert item.created == CREATED
    assert item.created.tzinfo is not None
    assert item.parent_key == "PAY-2"
    assert item.level == 1  # from the type name: the issue carried no hierarchyLevel
    assert item.release_date == date(2026, 12, 10)
    assert item.labels == ("tech-debt",)
    assert [(c.at, c.to_status) for c in item.status_changes] == [(started, "In Progress")]
    assert [(c.field, c.from_string, c.to_string) for c in item.field_changes] == [
        ("epic_link", "PAY-1", "PAY-2")
    ]
    assert item.links == (Link("Implements", "outward", "PAY-9"),)
    assert item.changelog_complete


def test_deleted_and_out_of_scope_issues_are_left_out(cache: Cache) -> None:
    """Only live issues reach the metrics; the rows themselves stay in the cache."""
    store(cache, issue(1), issue(2), issue(3))
    with cache.transaction() as session:
        cache.mark_deleted(session, ["PAY-1"], NOW)
        cache.mark_out_of_scope(session, ["PAY-2"], NOW)
    assert set(read_portfolio(cache, LEVEL_OF).items) == {"PAY-3"}
    assert cache.counts()["issues"] == 3


def test_a_changelog_that_does_not_reach_the_current_status_is_flagged(cache: Cache) -> None:
    """The last recorded status change must lead to the current status, else histories are
    missing."""
    store(cache, issue(4, status="Done", status_id="done", transitions=(
        transition(1, "In Progress", CREATED + timedelta(days=1)),
    )))  # fmt: skip
    assert not read_portfolio(cache, LEVEL_OF).items["PAY-4"].changelog_complete


def test_recomputing_a_period_replaces_its_snapshots(cache: Cache) -> None:
    """Snapshots are kept per period, scope and metric; a recomputation makes the period's
    rows its values (one gone is deleted) and leaves other periods alone."""
    store_snapshots(cache, "2026-W46", {("overall", "flow"): {"v": 1}}, NOW)
    store_snapshots(cache, "2026-W47", {("overall", "flow"): {"v": 2}, ("x", "y"): [1]}, NOW)
    store_snapshots(cache, "2026-W47", {("overall", "flow"): {"v": 3}}, NOW)
    stored = [(s.period, s.scope, s.metric, s.value) for s in read_snapshots(cache)]
    assert stored == [
        ("2026-W46", "overall", "flow", {"v": 1}),
        ("2026-W47", "overall", "flow", {"v": 3}),
    ]
    assert [s.value for s in read_snapshots(cache, periods=["2026-W46"], metric="flow")] == [
        {"v": 1}
    ]


def test_an_equal_value_keeps_its_snapshot_and_when_it_last_changed(cache: Cache) -> None:
    """Storing the same value again writes nothing: computed_at stays the time the value last
    changed. A changed value takes the new time; the answer says what was added, changed or
    removed."""
    later, latest = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    flow, load = ("overall", "flow"), ("overall", "load")
    first = store_snapshots(cache, "2026-W47", {flow: {"v": 1.5, "k": ["A-1"]}, load: 2}, NOW)
    assert (first.added, first.changed, first.removed) == ((flow, load), (), ())
    # Key order and a float read back from JSON make no difference.
    same = store_snapshots(cache, "2026-W47", {flow: {"k": ["A-1"], "v": 1.5}, load: 2}, later)
    assert len(same) == 0
    moved = store_snapshots(cache, "2026-W47", {flow: {"v": 1.5, "k": ["A-1"]}, load: 3}, latest)
    assert (moved.added, moved.changed, moved.removed) == ((), (load,), ())
    computed = {(s.scope, s.metric): s.computed_at for s in read_snapshots(cache)}
    assert computed == {flow: NOW, load: latest}


def test_snapshots_are_stored_compressed_on_sqlite_and_read_back_equal(cache: Cache) -> None:
    """A snapshot's key lists repeat issue keys: SQLite holds the value zlib-compressed (a
    fraction of its JSON text), PostgreSQL as JSON (it compresses large values itself); both
    give back the value stored. A row written as JSON text before still reads."""
    keys = [f"PAY-{number}" for number in range(1_000)]
    value = {"velocity": {"count": 1_000, "keys": keys}, "flow_time": {"keys": keys, "p85": 2.5}}
    store_snapshots(cache, "2026-W47", {("overall", "flow"): value}, NOW)
    text = json.dumps(value, separators=(",", ":"))
    with cache.engine.connect() as connection:
        raw = connection.execute(sql("SELECT value FROM metric_snapshots")).scalar_one()
        if cache.engine.dialect.name == "sqlite":
            assert isinstance(raw, bytes)
            assert len(raw) < len(text) / 4
            connection.execute(sql("UPDATE metric_snapshots SET value = :text"), {"text": text})
            connection.commit()
        else:
            assert raw == value  # JSON, decoded by the driver
    assert [s.value for s in read_snapshots(cache)] == [value]


def test_snapshot_differences_are_found_by_hash() -> None:
    """New keys are added, keys with another hash changed, missing keys removed; a stored row
    without a hash (written before hashes were kept) counts as changed."""
    stored = {("a", "m"): "h1", ("b", "m"): "h2", ("c", "m"): None, ("d", "m"): "h4"}
    fresh = {("a", "m"): "h1", ("b", "m"): "h9", ("c", "m"): "h3", ("e", "m"): "h5"}
    diff = diff_snapshots(stored, fresh)
    assert diff == SnapshotDiff(
        added=(("e", "m"),), changed=(("b", "m"), ("c", "m")), removed=(("d", "m"),)
    )
    assert value_hash({"x": [1, 2.5], "y": None}) == value_hash({"y": None, "x": [1, 2.5]})


def test_attribution_history_records_theme_changes_as_spans(cache: Cache) -> None:
    """A changed theme closes the old span and opens a new one; unchanged items keep theirs."""
    later = NOW + timedelta(hours=1)
    assert record_attribution(cache, {"E-1": "GROWTH", "E-2": "UNALIGNED"}, NOW) == {}
    # The answer gives the theme before of each item that changed theme or left.
    assert record_attribution(cache, {"E-1": "RELIABILITY"}, later) == {
        "E-1": "GROWTH",
        "E-2": "UNALIGNED",
    }
    spans = [(s.issue_key, s.theme, s.since, s.until) for s in theme_history(cache)]
    assert spans == [("E-1", "GROWTH", NOW, later), ("E-1", "RELIABILITY", later, None)]
