"""`restrat-sync run` as it runs in production: a worker process against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from restrat_sync.cache import open_cache
from restrat_sync.cache.models import SyncRun
from restrat_sync.cli import main
from restrat_sync.sandbox import SandboxOptions, create_sandbox
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
