"""read_page_inputs: snapshots, restatements, the last successful sync and the themes' anchors
from a small cache (SQLite, and PostgreSQL where the test server is reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.changes import Changes
from restrat_sync.cache.restatements import read_restatements
from restrat_sync.cache.snapshots import MetricRunRecord, record_metric_run, store_snapshots
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.jira.records import IssueRecord
from restrat_sync.metrics.results import as_json
from restrat_sync.pages.build import build_pages
from restrat_sync.pages.inputs import Anchor, read_page_inputs
from tests.cache import test_asof_and_restatements as asof_cache
from tests.cache.conftest import CREATED, issue
from tests.conftest import Databases
from tests.pages import builders
from tests.pages.builders import NOW


@pytest.fixture
def cache(databases: Databases) -> Iterator[Cache]:
    """A migrated, empty cache."""
    opened = open_cache(databases.new_url())
    yield opened
    opened.close()


@pytest.fixture
def loaded(config_dir: Path) -> LoadedConfig:
    """The starter config (GROWTH, RELIABILITY, EXPERIENCE, COMPLIANCE) and its JQL files."""
    return load_config(config_dir / "config" / "restrat.yaml")


def initiative(number: int, status: str, category: str, summary: str) -> IssueRecord:
    return issue(
        number, project="PORT", issuetype="Initiative", hierarchy_level=2,
        status=status, status_id=status.lower(), status_category=category, summary=summary,
    )  # fmt: skip


def run(cache: Cache, outcome: str, started_hours: float) -> None:
    """A sync run that started ``started_hours`` after CREATED and took ten minutes."""
    started = CREATED + timedelta(hours=started_hours)
    run_id = cache.start_run(False, started)
    cache.finish_run(run_id, outcome, started + timedelta(minutes=10), {}, {}, {}, None)


def test_anchors_are_the_live_current_members_with_summary_and_status(
    cache: Cache, loaded: LoadedConfig
) -> None:
    """A theme's anchors: its open members that are neither deleted nor out of scope, by
    project and number, each with its summary, status and status category."""
    with cache.transaction() as session:
        cache.upsert_issues(session, [
            initiative(10, "In Progress", "indeterminate", "Checkout <revamp> & more"),
            initiative(2, "Done", "done", "Wallets"),
            initiative(3, "To Do", "new", "Gone"),
            initiative(4, "To Do", "new", "Left the theme"),
            initiative(5, "To Do", "new", "Reliability anchor"),
        ], NOW)  # fmt: skip
        cache.record_membership(
            session, "theme:GROWTH", {"PORT-10", "PORT-2", "PORT-3", "PORT-4"}, NOW
        )
        cache.record_membership(session, "theme:RELIABILITY", {"PORT-5"}, NOW)
        cache.mark_deleted(session, ["PORT-3"], NOW)
    with cache.transaction() as session:
        cache.record_membership(
            session, "theme:GROWTH", {"PORT-10", "PORT-2", "PORT-3"}, NOW + timedelta(hours=1)
        )
    page_inputs = read_page_inputs(cache, loaded, NOW)
    assert page_inputs.anchors["GROWTH"] == (
        Anchor("PORT-2", "Wallets", "Done", "done"),
        Anchor("PORT-10", "Checkout <revamp> & more", "In Progress", "indeterminate"),
    )
    assert page_inputs.anchors["RELIABILITY"] == (
        Anchor("PORT-5", "Reliability anchor", "To Do", "new"),
    )
    assert page_inputs.anchors["EXPERIENCE"] == ()


def test_snapshots_are_grouped_by_period_as_stored(cache: Cache, loaded: LoadedConfig) -> None:
    """Every stored snapshot, grouped by its period label, with its JSON value."""
    flow = builders.flow()
    store_snapshots(cache, "2026-W46", {("overall", "flow"): as_json(flow)}, NOW)
    store_snapshots(
        cache, "current", {("overall", "data_quality"): as_json(builders.data_quality())}, NOW
    )
    page_inputs = read_page_inputs(cache, loaded, NOW)
    assert set(page_inputs.snapshots) == {"2026-W46", "current"}
    (stored,) = page_inputs.snapshots["2026-W46"]
    assert (stored.scope, stored.metric, stored.computed_at) == ("overall", "flow", NOW)
    assert stored.value == as_json(flow)


def test_the_last_sync_is_the_end_of_the_last_run_that_succeeded(
    cache: Cache, loaded: LoadedConfig
) -> None:
    """A failed run after a good one leaves the good one's end as the last sync."""
    assert read_page_inputs(cache, loaded, NOW).last_sync_at is None
    run(cache, "ok", 1)
    run(cache, "ok", 2)
    run(cache, "failed", 3)
    assert read_page_inputs(cache, loaded, NOW).last_sync_at == CREATED + timedelta(
        hours=2, minutes=10
    )


def test_the_themes_jql_and_the_config_come_from_the_loaded_config(
    cache: Cache, loaded: LoadedConfig
) -> None:
    """Each theme's JQL is its file's query (comments dropped), as the theme page's macro
    will show it; ``now`` is kept for the default periods."""
    page_inputs = read_page_inputs(cache, loaded, NOW)
    assert page_inputs.config is loaded.config
    assert page_inputs.theme_jql["GROWTH"] == (
        "project = PORT AND issuetype = Initiative AND labels = theme-growth"
    )
    assert page_inputs.now == NOW


def test_a_naive_now_is_refused(cache: Cache, loaded: LoadedConfig) -> None:
    """Periods need an aware moment; a naive one would be read in the host's zone."""
    with pytest.raises(ValueError, match="aware"):
        read_page_inputs(cache, loaded, NOW.replace(tzinfo=None))


def test_pages_build_from_what_the_cache_holds(cache: Cache, loaded: LoadedConfig) -> None:
    """Snapshots stored in the cache come out as a theme page with its anchors and the
    theme's own JQL in a macro."""
    with cache.transaction() as session:
        cache.upsert_issues(
            session, [initiative(1, "In Progress", "indeterminate", "Checkout")], NOW
        )
        cache.record_membership(session, "theme:GROWTH", {"PORT-1"}, NOW)
    values = {key: as_json(value) for key, value in builders.period_metrics().items()}
    store_snapshots(cache, "last-4-weeks", values, NOW)
    growth = build_pages(read_page_inputs(cache, loaded, NOW), "themes")[0]
    assert growth.title == "Theme: Grow revenue"
    assert "Checkout" in builders.text(growth.body)
    jql = [m["jqlQuery"] for m in builders.macros(growth.body, "jira")]
    assert "project = PORT AND issuetype = Initiative AND labels = theme-growth" in jql


def test_the_last_computation_is_the_last_metric_run(cache: Cache, loaded: LoadedConfig) -> None:
    """The rolling window ends at the dashboards' last metric run; None before the first."""
    assert read_page_inputs(cache, loaded, NOW).last_computed_at is None
    for hours in (1, 2):
        at = NOW + timedelta(hours=hours)
        record_metric_run(cache, MetricRunRecord(at, "print", (), None, 0), Changes())
    assert read_page_inputs(cache, loaded, NOW).last_computed_at == NOW + timedelta(hours=2)


def test_the_restatements_are_read_by_period_newest_first(
    cache: Cache, loaded: LoadedConfig
) -> None:
    """October restated twice (PAY-3 done on 20 October, then reopened on the 22nd, both
    learnt late), September never: the inputs hold October's, newest first."""
    asof_cache.closed_october(cache)
    asof_cache.backdated(cache, asof_cache.on(11, 12))
    asof_cache.compute(cache, asof_cache.on(11, 12))
    reopened = asof_cache.story(
        3,
        asof_cache.move(31, asof_cache.on(10, 10), "To Do", "In Progress"),
        asof_cache.move(32, asof_cache.on(10, 20), "In Progress", "Done"),
        asof_cache.move(33, asof_cache.on(10, 22), "Done", "In Progress"),
    )
    asof_cache.sync(cache, asof_cache.on(11, 14), reopened)
    asof_cache.compute(cache, asof_cache.on(11, 14))
    found = read_page_inputs(cache, loaded, NOW).restatements
    assert set(found) == {"2026-10"}
    assert found["2026-10"] == tuple(read_restatements(cache, "2026-10"))
    assert found["2026-10"][0].restated_at == asof_cache.on(11, 14)
    assert found["2026-10"][-1].restated_at == asof_cache.on(11, 12)


def test_the_initiatives_of_the_rolling_window_are_read_with_summary_and_status(
    cache: Cache, loaded: LoadedConfig
) -> None:
    """The initiatives with a scope in the stored ``last-4-weeks`` (not in other periods) come
    with their summary and status now; one the cache no longer holds is simply absent."""
    with cache.transaction() as session:
        cache.upsert_issues(session, [
            initiative(1, "In Progress", "indeterminate", "Checkout"),
            initiative(2, "To Do", "new", "Only in a past week"),
        ], NOW)  # fmt: skip
    effort = as_json(builders.initiative_effort())
    store_snapshots(
        cache,
        "last-4-weeks",
        {("initiative:PORT-1", "effort"): effort, ("initiative:PORT-404", "effort"): effort},
        NOW,
    )
    store_snapshots(cache, "2026-W46", {("initiative:PORT-2", "effort"): effort}, NOW)
    page_inputs = read_page_inputs(cache, loaded, NOW)
    assert page_inputs.initiatives == {
        "PORT-1": Anchor("PORT-1", "Checkout", "In Progress", "indeterminate")
    }
