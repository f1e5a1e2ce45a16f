"""`restrat-sync run` as it runs in production: a worker process against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.cache.models import SyncRun
from restrat_sync.cli import main
from restrat_sync.worker.locks import job_runs
from tests.e2e.conftest import NOW, point_at
from tests.worker.sandboxed import (
    SYNC_SECONDS,
    WorkerProcess,
    cadence_titles,
    set_schedule,
    titles,
    wait_for,
    worker_env,
)


def running_sync_runs(database_url: str) -> int:
    cache = open_cache(database_url)
    try:
        with cache.engine.connect() as connection:
            statement = select(func.count()).where(SyncRun.outcome == "running")
            return int(connection.execute(statement).scalar_one())
    finally:
        cache.close()


def sync_firings(database_url: str) -> list[str]:
    cache = open_cache(database_url)
    try:
        return [run.outcome for run in job_runs(cache, "sync")]
    finally:
        cache.close()


def finished_jobs(database_url: str) -> int:
    cache = open_cache(database_url)
    try:
        return sum(run.outcome == "ok" for run in job_runs(cache))
    finally:
        cache.close()


def test_a_worker_syncs_publishes_reports_and_stops_cleanly_on_sigterm(
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The worker syncs on its interval and publishes; /healthz answers, /readyz turns ready,
    /metrics counts API requests and pages; SIGTERM ends it with exit 0 within 10 s, leaving
    no sync run unfinished, and a sync afterwards succeeds."""
    set_schedule(config_dir, sync=f"every {SYNC_SECONDS}s")
    database_url = f"sqlite:///{tmp_path / 'cache.db'}"
    # Some latency, so that a job is likely under way when the signal comes.
    with create_sandbox(SandboxOptions(port=0, latency_ms=20), "small", NOW) as server:
        worker = WorkerProcess(worker_env(server, config_dir, database_url), tmp_path / "w.log")
        try:
            assert wait_for(lambda: worker.answers("/healthz", 200), 30), worker.output()
            assert wait_for(lambda: worker.answers("/readyz", 200), 60), worker.output()
            # The catch-up sync, then at least one on the interval.
            assert wait_for(
                lambda: sync_firings(database_url).count("ok") >= 2, 3 * SYNC_SECONDS + 30
            ), worker.output()
            assert worker.metric("restrat_sync_api_requests_total") > 0
            assert worker.metric("restrat_sync_pages_written_total") >= 11
            assert worker.metric("restrat_sync_ready") == 1
            published = titles(server)
            wait_for(lambda: "running" in sync_firings(database_url), SYNC_SECONDS + 5, 0.05)
            code, seconds = worker.terminate()
        finally:
            worker.kill()
        assert (code, seconds < 10) == (0, True), worker.output()
        assert server.state.options.token not in worker.output()
        assert {"Portfolio overview", *cadence_titles(datetime.now(UTC))} <= published
        assert running_sync_runs(database_url) == 0
        assert "running" not in sync_firings(database_url)
        point_at(server, config_dir, monkeypatch)
        monkeypatch.setenv("RESTRAT_DATABASE_URL", database_url)
        assert main(["sync"]) == 0
    assert "incremental sync finished" in capsys.readouterr().out


def test_a_replica_that_never_wins_a_firing_is_ready_from_the_shared_cache(
    config_dir: Path, tmp_path: Path
) -> None:
    """Two workers share one cache. The first runs the only sync firing; the second finds it
    done and never syncs, yet turns ready from the cache's last successful sync, as a
    Kubernetes readiness probe needs. Both exit 0 on SIGTERM."""
    set_schedule(config_dir, sync="0 0 1 1 *")  # one firing for the whole test
    database_url = f"sqlite:///{tmp_path / 'cache.db'}"
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as server:
        first = WorkerProcess(worker_env(server, config_dir, database_url), tmp_path / "a.log")
        workers = [first]
        try:
            assert wait_for(lambda: first.answers("/readyz", 200), 60), first.output()
            # The first's catch-up over (sync and cadence pages): the second has nothing to win.
            assert wait_for(lambda: finished_jobs(database_url) == 4, 60), first.output()
            second = WorkerProcess(worker_env(server, config_dir, database_url), tmp_path / "b.log")
            workers.append(second)
            assert wait_for(lambda: "already ran; skipped" in second.output(), 60), second.output()
            assert wait_for(lambda: second.answers("/readyz", 200), 10), second.output()
            answer = second.get("/readyz")
            assert answer is not None
            assert answer.text.startswith("ready: last successful sync ")
            assert second.metric("restrat_sync_ready") == 1
            exits = [worker.terminate() for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
    assert "running the firing" not in second.output()
    assert [code for code, _ in exits] == [0, 0]
