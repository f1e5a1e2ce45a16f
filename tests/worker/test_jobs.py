"""The worker's jobs: one run per firing, skips, failures, interruption, and what they report."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses

from restrat_sync.confluence import connect_confluence
from restrat_sync.errors import ConfigError
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.settings import Credentials
from restrat_sync.sync import SyncCounts
from restrat_sync.worker.jobs import (
    ConfigSource,
    Jobs,
    ShutdownRequested,
    StopAwareGateway,
    StopAwareObserver,
    endpoint_named,
)
from restrat_sync.worker.locks import claim_firing, finish_firing, job_lock, job_runs
from restrat_sync.worker.schedule import job_triggers, latest_firing
from tests.worker.sandboxed import SteppingClock, make_jobs, offline_environ, sandboxed

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Recorder:
    """A sync observer that remembers what it was told."""

    def __init__(self) -> None:
        self.phases: list[str] = []

    def phase(self, text: str) -> None:
        self.phases.append(text)

    def advanced(self, counts: SyncCounts) -> None:
        return None


@pytest.fixture
def offline(config_dir: Path, tmp_path: Path) -> Iterator[Jobs]:
    """Jobs with an empty cache and no Jira or Confluence configured, at a fixed clock."""
    jobs = make_jobs(
        tmp_path / "locks",
        clock=lambda: NOW,
        environ=offline_environ(config_dir, tmp_path),
        runner="test:1",
    )
    yield jobs
    jobs.context.cache.close()


def weekly_firing(jobs: Jobs) -> datetime:
    trigger = job_triggers(jobs.context.source.current.config)["weekly"]
    firing = latest_firing(trigger, NOW)
    assert firing is not None
    return firing


def job_count(jobs: Jobs, job: str, outcome: str) -> float:
    text = jobs.context.telemetry.prometheus_text().decode()
    line = f'restrat_sync_job_runs_total{{job="{job}",outcome="{outcome}"}} '
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


def test_the_observer_passes_progress_on_until_stopped() -> None:
    """Progress reaches the inner observer; once the flag is set the next report raises."""
    inner, stop = Recorder(), threading.Event()
    observer = StopAwareObserver(inner, stop)
    observer.phase("listing")
    observer.advanced(SyncCounts())
    stop.set()
    with pytest.raises(ShutdownRequested):
        observer.advanced(SyncCounts())
    with pytest.raises(ShutdownRequested):
        observer.phase("fetching")
    assert inner.phases == ["listing"]


@responses.activate
def test_the_gateway_starts_no_page_once_stopped() -> None:
    """Before the flag a page lookup is sent; after it, none is, and the publish stops."""
    base = "https://wiki.example.com/wiki"
    responses.get(f"{base}/rest/api/content", json={"results": []})
    stop = threading.Event()
    inner = connect_confluence(
        base, Credentials("me", None), create_session(RetryPolicy(max_attempts=1))
    )
    gateway = StopAwareGateway(inner, stop)
    assert gateway.find_page("PORT", "Portfolio overview", "restrat") is None
    stop.set()
    with pytest.raises(ShutdownRequested):
        gateway.find_page("PORT", "Weekly telemetry", "restrat")
    assert len(responses.calls) == 1


def test_a_job_another_runner_holds_is_skipped(offline: Jobs, tmp_path: Path) -> None:
    """While another holder has the job's lock, the job neither claims nor runs its firing."""
    with job_lock(offline.context.cache, "weekly", tmp_path / "locks") as held:
        assert held
        result = offline.run("weekly")
    assert result.outcome == "skipped_locked"
    assert job_runs(offline.context.cache) == []
    assert job_count(offline, "weekly", "skipped_locked") == 1


def test_a_firing_already_run_is_skipped(offline: Jobs) -> None:
    """A firing another runner ran to the end is not run again (nothing is even attempted)."""
    cache = offline.context.cache
    assert claim_firing(cache, "weekly", weekly_firing(offline), "other:2", NOW)
    finish_firing(cache, "weekly", weekly_firing(offline), "ok", NOW)
    result = offline.run("weekly")
    assert result.outcome == "skipped_done"
    assert [run.runner for run in job_runs(cache, "weekly")] == ["other:2"]
    assert job_count(offline, "weekly", "skipped_done") == 1


def test_the_firing_of_a_dead_runner_is_run_again(offline: Jobs) -> None:
    """A firing left "running" while nobody holds the job's lock was cut short (its runner
    died or was stopped): the next runner closes it as interrupted and runs it itself."""
    cache = offline.context.cache
    assert claim_firing(cache, "weekly", weekly_firing(offline), "dead:9", NOW)
    result = offline.run("weekly")
    assert result.outcome == "failed"  # it ran: an empty cache has nothing to publish
    [run] = job_runs(cache, "weekly")
    assert (run.runner, run.outcome) == ("test:1", "failed")


def test_a_failing_job_records_its_reason_on_the_firing(offline: Jobs) -> None:
    """Publishing from an empty cache fails; the firing is claimed once and ends "failed" with
    the reason, and the telemetry counts the failure."""
    result = offline.run("weekly")
    assert result.outcome == "failed"
    (run,) = job_runs(offline.context.cache, "weekly")
    assert (run.runner, run.firing, run.outcome) == ("test:1", weekly_firing(offline), "failed")
    assert run.detail is not None
    assert "run `restrat-sync sync` first" in run.detail
    assert job_count(offline, "weekly", "failed") == 1
    assert offline.run("weekly").outcome == "skipped_done"  # the same firing, not retried


def test_a_run_left_running_by_a_dead_runner_is_closed(offline: Jobs) -> None:
    """A firing still "running" from a runner that died is marked interrupted by the next run
    of the job."""
    cache = offline.context.cache
    earlier = weekly_firing(offline) - timedelta(days=7)
    assert claim_firing(cache, "weekly", earlier, "dead:9", NOW - timedelta(days=7))
    offline.run("weekly")
    runs = {run.firing: run for run in job_runs(cache, "weekly")}
    assert runs[earlier].outcome == "interrupted"


def test_a_job_stopped_before_it_begins_is_recorded_interrupted(offline: Jobs) -> None:
    """A stop that came first (a SIGTERM while the worker started) still claims the firing and
    records it interrupted, doing nothing; the next runner runs it."""
    offline.context.stop.set()
    assert offline.run("weekly").outcome == "interrupted"
    [run] = job_runs(offline.context.cache, "weekly")
    assert (run.outcome, run.detail) == (
        "interrupted",
        "the worker was stopped before the job began",
    )
    offline.context.stop.clear()
    assert offline.run("weekly").outcome == "failed"  # it ran: an empty cache has no pages


def test_the_first_config_must_be_valid(config_dir: Path) -> None:
    """With no last good config to keep, an invalid config at start is an error."""
    path = config_dir / "config" / "restrat.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("target: 0.35", "target: 7"))
    with pytest.raises(ConfigError, match=r"themes\[0\]\.target"):
        ConfigSource(path)


def test_a_stop_mid_sync_interrupts_the_job_and_the_cache_stays_consistent(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stop during the sync ends it at the next page boundary: the firing is "interrupted",
    the sync run is recorded failed (none left running), and the next firing syncs fine."""
    stop, stopped_once = threading.Event(), threading.Event()

    class StopAfterFirstPage(Recorder):
        def advanced(self, counts: SyncCounts) -> None:
            if not stopped_once.is_set():  # a SIGTERM, once, after the first page
                stopped_once.set()
                stop.set()

    clock = SteppingClock()
    with sandboxed(config_dir, monkeypatch):
        jobs = make_jobs(tmp_path / "locks", clock=clock, observer=StopAfterFirstPage)
        jobs.context.stop = stop
        try:
            interrupted = jobs.run("sync")
            last = jobs.context.cache.last_run()
            stop.clear()
            clock.step()
            again = jobs.run("sync")
            runs = [run.outcome for run in job_runs(jobs.context.cache, "sync")]
        finally:
            jobs.context.cache.close()
    assert interrupted.outcome == "interrupted"
    assert last is not None
    assert last.outcome == "failed"
    assert again.outcome == "ok"
    assert runs == ["interrupted", "ok"]


@pytest.mark.parametrize(
    ("message", "endpoint"),
    [
        ("Jira answered 503 to GET rest/api/2/serverInfo: no detail", "GET /rest/api/2/serverInfo"),
        ("Jira answered 400 to POST /rest/api/3/search/jql; x", "POST /rest/api/3/search/jql"),
        ("Jira answered 404 to GET rest/api/2/issue/10042: gone", "GET /rest/api/2/issue/{id}"),
        ("the disk is full", None),
    ],
)
def test_the_endpoint_an_error_names(message: str, endpoint: str | None) -> None:
    """Errors are counted under the endpoint their message names, when it names one."""
    assert endpoint_named(message) == endpoint


def test_cadences_are_caught_up_only_once_a_sync_succeeded(offline: Jobs) -> None:
    """On an empty cache no cadence is due (the runner of the first sync looks again after
    it); after a successful sync, every cadence never published is."""
    cache = offline.context.cache
    assert offline.unpublished(NOW) == []
    run = cache.start_run(False, NOW - timedelta(minutes=1))
    cache.finish_run(run, "ok", NOW, counts={}, requests={}, retries={}, error=None)
    assert offline.unpublished(NOW) == ["weekly", "monthly", "quarterly"]
