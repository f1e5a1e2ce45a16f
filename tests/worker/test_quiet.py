"""Publishing is quiet (issue #11): an unchanged Jira writes no closed-period page and each
rolling page at most once a day; a change writes only the pages whose numbers it changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from restrat_sandbox import SandboxServer
from restrat_sync import dashboards
from restrat_sync.cache.models import Issue
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.dashboards import Selection
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.metrics.compute import CURRENT
from restrat_sync.model.periods import ROLLING_LABEL, week_of
from restrat_sync.worker.jobs import SYNC, Jobs
from tests.e2e.conftest import transition
from tests.pages.builders import parse
from tests.worker.sandboxed import (
    ZONE,
    FakeClock,
    make_jobs,
    page_body,
    reset_stats,
    sandboxed,
)
from tests.worker.simulated_day import (
    DAY_START,
    SYNC_EVERY,
    TICKS,
    page_writes,
    simulate_day,
    start_worker,
)
from tests.worker.test_health import sample

ROLLING = (
    "Portfolio overview",
    "Theme: Grow revenue",
    "Theme: Platform reliability",
    "Theme: Customer experience",
    "Theme: Regulatory compliance",
)
THEME_PAGES = {
    "GROWTH": "Theme: Grow revenue",
    "RELIABILITY": "Theme: Platform reliability",
    "EXPERIENCE": "Theme: Customer experience",
    "COMPLIANCE": "Theme: Regulatory compliance",
}


def test_a_day_of_an_unchanged_jira_writes_no_closed_period_page(tmp_path: Path) -> None:
    """96 syncs and the 07:00 weekly, monthly and quarterly firings against a Jira nobody
    touches: the pages of the week, month and quarter just closed are not written again, and
    each rolling page at most once (when the day turns and its "data as of" day with it)."""
    counts = simulate_day(tmp_path)
    assert counts.outcomes[(SYNC, "ok")] == TICKS
    assert {job for job, _ in counts.outcomes} == {SYNC, "weekly", "monthly", "quarterly"}
    assert set(counts.page_writes) <= set(ROLLING), counts.lines()
    for title in ROLLING:
        assert counts.page_versions(title) <= 1, counts.lines()
        assert sum(counts.page_writes.get(title, {}).values()) <= 2, counts.lines()  # + property
    # No page says when the last sync ran to the minute; /metrics does, to the second.
    last_sync = DAY_START + SYNC_EVERY * TICKS
    assert sample(counts.metrics, "restrat_sync_last_success_timestamp_seconds") == (
        last_sync.timestamp()
    )


def next_local_noon(zone: str) -> datetime:
    """The next noon in ``zone`` after the real clock: a fake time of day that stays ahead of
    the sandbox's writes (stamped with the real clock), far from midnight."""
    tz = ZoneInfo(zone)
    now = datetime.now(tz)
    noon = datetime.combine(now.date(), time(12), tz)
    return (noon if noon > now else noon + timedelta(days=1)).astimezone(UTC)


@pytest.fixture
def worker(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Jobs, FakeClock, SandboxServer]]:
    """A worker after its start-up (a sync, every page published), on a fake clock at noon."""
    with sandboxed(config_dir, monkeypatch) as server:
        clock = FakeClock(next_local_noon(ZONE))
        jobs = make_jobs(tmp_path / "locks", clock=clock)
        try:
            start_worker(jobs)
            yield jobs, clock, server
        finally:
            jobs.context.cache.close()


def quiet_item(jobs: Jobs) -> tuple[str, str]:
    """(key, theme) of an item in progress over the last four weeks in exactly one theme, with
    no due date or fix version and in no key result: finishing it changes the numbers of its
    theme and of the whole portfolio, nothing else."""
    cache = jobs.context.cache
    config = jobs.context.source.current.config
    (quality,) = read_snapshots(cache, [CURRENT], scope="overall", metric="data_quality")
    excluded = {key for key, _ in quality.value["conflicts"]}
    for theme in config.themes:
        for index in range(len(theme.key_results)):
            excluded |= cache.open_members(f"kr:{theme.key}:{index}")
    with cache.engine.connect() as connection:
        rows = connection.execute(select(Issue.key, Issue.duedate, Issue.fix_versions))
        excluded |= {key for key, due, versions in rows if due is not None or versions}
    for theme in config.themes:
        (flow,) = read_snapshots(cache, [ROLLING_LABEL], scope=f"theme:{theme.key}", metric="flow")
        candidates = sorted(set(flow.value["load"]["keys"]) - excluded)
        if candidates:
            return candidates[0], theme.key
    raise AssertionError("no item in progress that only its theme counts")


def test_a_transition_writes_only_the_pages_whose_numbers_change(
    worker: tuple[Jobs, FakeClock, SandboxServer],
) -> None:
    """One item finished in Jira: the next sync writes the overview and its theme's page, not
    the other themes' pages (whose numbers only drifted with the clock); publishing the closed
    week, month and quarter again writes nothing, since their numbers did not change."""
    jobs, clock, server = worker
    key, theme = quiet_item(jobs)
    transition(server, key, "Done")
    reset_stats(server)
    clock.now += timedelta(minutes=15)
    assert jobs.run(SYNC).outcome == "ok"
    loaded = jobs.context.source.current
    for cadence in ("weekly", "monthly", "quarterly"):
        selection = dashboards.Selection.of(cadence, None)
        pages = dashboards.render_pages(jobs.context.cache, loaded, clock.now, selection)
        settings, session = jobs.context.settings, create_session(jobs.context.policy)
        dashboards.publish(pages, jobs.context.cache, loaded, settings, session, clock.now)
    written = page_writes(server)
    assert set(written) == {"Portfolio overview", THEME_PAGES[theme]}, written


def test_pages_a_failed_publish_left_behind_are_written_at_the_next_sync(
    worker: tuple[Jobs, FakeClock, SandboxServer], tmp_path: Path
) -> None:
    """Confluence is down when a change is synced: that sync fails to publish. The next sync,
    by a restarted worker and with nothing new in Jira, writes the pages the change fed: what
    is due is read from the cache, not remembered by the process."""
    jobs, clock, server = worker
    key, theme = quiet_item(jobs)
    transition(server, key, "Done")
    settings = jobs.context.settings
    jobs.context.settings = settings.model_copy(
        update={"confluence_url": "http://127.0.0.1:9/wiki"}
    )
    jobs.context.policy = RetryPolicy(max_attempts=1)
    clock.now += timedelta(minutes=15)
    assert jobs.run(SYNC).outcome == "failed"
    reset_stats(server)
    restarted = make_jobs(tmp_path / "restarted", clock=clock)
    try:
        clock.now += timedelta(minutes=15)
        assert restarted.run(SYNC).outcome == "ok"
    finally:
        restarted.context.cache.close()
    assert set(page_writes(server)) == {"Portfolio overview", THEME_PAGES[theme]}


def test_a_sync_that_restates_a_closed_week_writes_that_weeks_page_again(
    worker: tuple[Jobs, FakeClock, SandboxServer],
) -> None:
    """The worker's clock moves on eight days: this week (of the real clock, which stamps the
    sandbox's changes) is closed, computed after its close and its page published. Then an
    item is finished in Jira, dated inside that week: the next sync restates the week, and
    writes its page again with the restatement line and the item that caused it."""
    jobs, clock, server = worker
    week = week_of(datetime.now(UTC), ZONE)
    key, _ = quiet_item(jobs)
    clock.now += timedelta(days=8)
    assert jobs.run(SYNC).outcome == "ok"
    loaded, cache = jobs.context.source.current, jobs.context.cache
    pages = dashboards.render_pages(cache, loaded, clock.now, Selection.of("weekly", week.label))
    settings, session = jobs.context.settings, create_session(jobs.context.policy)
    assert dashboards.publish(pages, cache, loaded, settings, session, clock.now).ok
    title = f"Weekly telemetry {week.label}"
    assert "restated on" not in page_body(server, title)
    transition(server, key, "Done")
    assert week.contains(datetime.now(UTC)), "the week ended while the test ran"
    reset_stats(server)
    clock.now += timedelta(minutes=15)
    assert jobs.run(SYNC).outcome == "ok"
    assert title in page_writes(server)
    day = clock.now.astimezone(ZoneInfo(ZONE)).date().isoformat()
    lines = [
        "".join(li.itertext())
        for li in parse(page_body(server, title)).iter("li")
        if "".join(li.itertext()).startswith(f"restated on {day}: velocity ")
    ]
    assert len(lines) == 1, lines
    assert key in lines[0].rpartition("(")[2], lines
    reset_stats(server)
    clock.now += timedelta(minutes=15)
    assert jobs.run(SYNC).outcome == "ok"
    assert title not in page_writes(server)  # written once: the restatement is no news now
