"""`sync` against the sandbox over loopback, Cloud and Data Center, compared with its data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sandbox.demo import sandbox_settings
from restrat_sync.cache import table_digest
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.sync import Syncer, SyncOptions, open_syncer
from tests.e2e.conftest import NOW, transition
from tests.e2e.sandbox_truth import (
    cached_field,
    cached_keys,
    cached_transitions,
    expected_keys,
    sandbox_transitions,
)

FAST = RetryPolicy(max_attempts=8, max_total_seconds=60, initial_wait=0.05, max_wait=0.2)


@pytest.fixture(params=["cloud", "datacenter"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(flavor: str) -> Iterator[SandboxServer]:
    """A fresh sandbox per test: tests change its data."""
    with create_sandbox(SandboxOptions(flavor=flavor, port=0), "small", NOW) as running:
        yield running


@pytest.fixture
def loaded(config_dir: Path) -> LoadedConfig:
    return load_config(config_dir / "config" / "restrat.yaml")


def syncer_for(server: SandboxServer, loaded: LoadedConfig, workdir: Path) -> Syncer:
    settings = sandbox_settings(server, workdir)
    return open_syncer(settings, loaded, create_session(FAST))


def assert_cache_matches_sandbox(
    syncer: Syncer, server: SandboxServer, loaded: LoadedConfig
) -> None:
    keys = expected_keys(server, loaded)
    assert cached_keys(syncer.cache) == keys
    expected = sandbox_transitions(server.state.portfolio, keys)
    cached = cached_transitions(syncer.cache)
    assert {k: v for k, v in cached.items() if k in keys} == {
        k: v for k, v in expected.items() if v
    }


def test_full_sync_stores_every_issue_and_transition(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """Every selected issue and descendant, with every status change, lands in the cache."""
    syncer = syncer_for(server, loaded, tmp_path)
    summary = syncer.run(SyncOptions(full=True))
    assert summary.counts.issues_new == len(expected_keys(server, loaded))
    assert_cache_matches_sandbox(syncer, server, loaded)
    long_ones = [i for i in server.state.portfolio.issues.values() if len(i.histories) > 100]
    assert long_ones, "the small dataset always has issues with more than 100 histories"


def test_full_sync_request_budget(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """A full sync needs few requests per issue: pages, listings and bulk completions only."""
    syncer = syncer_for(server, loaded, tmp_path)
    summary = syncer.run(SyncOptions(full=True))
    per_thousand = 1000 * sum(summary.requests.values()) / summary.counts.issues_new
    assert per_thousand < 60  # 500 issues: fixed costs (listings, catalogues) dominate here
    assert not any("/issue/{id}/changelog" in endpoint for endpoint in summary.requests)


def test_second_sync_without_changes_fetches_nothing(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """With nothing changed, an incremental sync writes nothing and asks for no changelog."""
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    summary = syncer.run(SyncOptions(reconcile=False))
    counts = summary.counts
    assert (counts.issues_new, counts.issues_updated, counts.transitions_added) == (0, 0, 0)
    assert not any("changelog" in endpoint for endpoint in summary.requests)
    # One request per mapping, plus one per chunk of parents whose descendants are queried
    # (the small dataset's theme hierarchy fits one chunk); nothing else.
    assert sum(summary.requests.values()) <= len(loaded.mappings()) + 1


def change_through_jira(server: SandboxServer) -> dict[str, str]:
    """Transition, re-parent and edit issues through the sandbox's Jira API."""
    http = requests.Session()
    http.auth = (server.state.options.user, server.state.options.token)
    api = f"{server.url}/rest/api/2"
    portfolio = server.state.portfolio
    story = next(
        i
        for i in portfolio.issues.values()
        if i.issuetype == "Story" and i.parent and i.project == "PAY" and i.status == "To Do"
    )
    other_epic = next(
        i
        for i in portfolio.issues.values()
        if i.issuetype == "Epic" and i.project == "PAY" and i.key != story.parent
    )
    transition(server, story.key, "In Progress")
    parent_field = (
        {"parent": {"key": other_epic.key}}
        if server.state.flavor == "cloud"
        else {"customfield_10100": other_epic.key}
    )
    http.put(
        f"{api}/issue/{story.key}", json={"fields": parent_field}, timeout=10
    ).raise_for_status()
    edited = next(i for i in portfolio.issues.values() if i.project == "OPS" and i.key != story.key)
    http.put(
        f"{api}/issue/{edited.key}", json={"fields": {"summary": "Renamed by a test"}}, timeout=10
    ).raise_for_status()
    return {"story": story.key, "epic": other_epic.key, "edited": edited.key}


def test_incremental_sync_fetches_only_what_changed(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """After edits through Jira's API, the next sync fetches those issues and the cache matches."""
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    changed = change_through_jira(server)
    requests.delete(f"{server.url}/_sandbox/stats", timeout=5)
    summary = syncer.run(SyncOptions(reconcile=False))
    assert summary.counts.issues_updated == 2
    assert summary.counts.issues_new == 0
    assert summary.counts.transitions_added == 1
    assert_cache_matches_sandbox(syncer, server, loaded)
    assert cached_field(syncer.cache, changed["story"], "status") == "In Progress"
    parent_column = "parent_key" if server.state.flavor == "cloud" else "epic_link_key"
    assert cached_field(syncer.cache, changed["story"], parent_column) == changed["epic"]
    assert cached_field(syncer.cache, changed["edited"], "summary") == "Renamed by a test"
    stats = requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()["requests"]
    assert not any("changelog" in endpoint or "/issue/{" in endpoint for endpoint in stats)


def test_sync_survives_rate_limits_and_faults(
    flavor: str, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """With 429s and 503s on, the sync retries, completes and loses nothing."""
    options = SandboxOptions(flavor=flavor, port=0, rate_limit=40, fault_rate=0.15, seed=3)
    with create_sandbox(options, "small", NOW) as server:
        syncer = syncer_for(server, loaded, tmp_path)
        summary = syncer.run(SyncOptions(full=True))
        stats = requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()["requests"]
        assert stats.get("503", 0) > 0
        assert sum(summary.retries.values()) > 0
        assert_cache_matches_sandbox(syncer, server, loaded)


def test_deleted_issue_is_marked_not_erased(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """An issue gone from Jira is marked deleted at the next full sync; its row stays."""
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    summary_before = dict(server.state.portfolio.issues)
    gone = delete_in_sandbox(server)
    summary = syncer.run(SyncOptions(full=True))
    assert summary.counts.issues_deleted == 1
    assert gone not in cached_keys(syncer.cache)
    assert cached_field(syncer.cache, gone, "summary") == summary_before[gone].summary


def test_new_child_of_a_cached_epic_outside_the_scope_is_found(
    server: SandboxServer, config_dir: Path, tmp_path: Path
) -> None:
    """Descendant queries reach children of epics known only from the cache (on Data Center
    through Epic Link, with levels from the config since DC issue types have none)."""
    (config_dir / "jql" / "scope.jql").write_text("project = PAY\n", encoding="utf-8")
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    assert_cache_matches_sandbox(syncer, server, loaded)
    portfolio = server.state.portfolio
    below = expected_keys(server, loaded)
    epic = next(
        i
        for i in portfolio.issues.values()
        if i.issuetype == "Epic" and i.project == "MOB" and i.key in below
    )
    link = (
        {"parent": {"key": epic.key}}
        if server.state.flavor == "cloud"
        else {"customfield_10100": epic.key}
    )
    fields = {
        "project": {"key": "MOB"},
        "issuetype": {"name": "Story"},
        "summary": "Created after the first sync",
        **link,
    }
    auth = (server.state.options.user, server.state.options.token)
    created = requests.post(
        f"{server.url}/rest/api/2/issue", json={"fields": fields}, auth=auth, timeout=10
    )
    assert created.status_code == 201, created.text
    syncer = syncer_for(server, loaded, tmp_path)  # a new process: knows only the cache
    summary = syncer.run(SyncOptions(reconcile=False))
    assert summary.counts.issues_new == 1
    assert created.json()["key"] in cached_keys(syncer.cache)
    assert_cache_matches_sandbox(syncer, server, loaded)


@pytest.mark.postgres
def test_sync_into_postgresql(
    flavor: str, loaded: LoadedConfig, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """RESTRAT_DATABASE_URL=postgresql+psycopg://... holds the same cache as SQLite."""
    from tests.conftest import Databases

    databases = Databases("postgres", tmp_path, request.getfixturevalue("postgres_url"))
    try:
        with create_sandbox(SandboxOptions(flavor=flavor, port=0), "small", NOW) as server:
            settings = sandbox_settings(server, tmp_path)
            on_postgres = settings.model_copy(update={"database_url": databases.new_url()})
            postgres = open_syncer(on_postgres, loaded, create_session(FAST))
            postgres.run(SyncOptions(full=True))
            assert_cache_matches_sandbox(postgres, server, loaded)
            sqlite = open_syncer(settings, loaded, create_session(FAST))
            sqlite.run(SyncOptions(full=True))
            assert table_digest(postgres.cache) == table_digest(sqlite.cache)
            postgres.cache.close()
    finally:
        databases.drop_all()


def delete_in_sandbox(server: SandboxServer) -> str:
    """Remove a leaf issue from the sandbox's Jira, as if someone deleted it."""
    portfolio = server.state.portfolio
    victim = next(
        i
        for i in portfolio.issues.values()
        if i.project == "MOB" and not any(j.parent == i.key for j in portfolio.issues.values())
    )
    with portfolio.lock:
        del portfolio.issues[victim.key]
        portfolio._by_id.pop(victim.id)
    return victim.key


def test_incremental_sync_reconciles_when_due(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """An incremental sync reconciles only once reconcile_hours have passed since the last."""
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    gone = delete_in_sandbox(server)
    not_due = syncer.run(SyncOptions(reconcile_every=timedelta(hours=24)))
    assert (not_due.reconciled, not_due.counts.issues_deleted) == (False, 0)
    due = syncer.run(SyncOptions(reconcile_every=timedelta(0)))
    assert (due.reconciled, due.counts.issues_deleted) == (True, 1)
    assert gone not in cached_keys(syncer.cache)


def test_an_unknown_status_refreshes_the_catalogue(
    server: SandboxServer, loaded: LoadedConfig, tmp_path: Path
) -> None:
    """The status catalogue is fetched again only when a synced issue names a status the cache
    does not know (here: a catalogue older than the issues)."""
    syncer = syncer_for(server, loaded, tmp_path)
    syncer.run(SyncOptions(full=True))
    in_progress = server.state.portfolio.statuses["In Progress"].id
    with syncer.cache.engine.begin() as connection:
        connection.execute(text("DELETE FROM statuses WHERE id = :id"), {"id": in_progress})
    change_through_jira(server)  # moves a story To Do -> In Progress
    refreshed = syncer.run(SyncOptions(reconcile=False))
    assert "GET /rest/api/2/status" in refreshed.requests
    assert in_progress in syncer.cache.status_ids()
    again = syncer.run(SyncOptions(reconcile=False))
    assert "GET /rest/api/2/status" not in again.requests
