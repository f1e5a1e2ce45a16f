"""`restrat-sync run --once` against the sandbox: every due job once, then exit."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from restrat_sync.cache import open_cache
from restrat_sync.cli import main
from restrat_sync.worker.locks import job_runs
from tests.worker.sandboxed import (
    cadence_titles,
    free_port,
    replace_in_config,
    reset_stats,
    sandboxed,
    set_schedule,
    titles,
    writes,
)


def test_once_syncs_publishes_everything_due_and_a_second_run_writes_nothing(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--once syncs and publishes the overview, the themes and the three cadence pages, exit 0;
    a second --once finds every firing done and makes no Confluence write."""
    # A sync firing once a year: both runs fall into the same firing, whatever the clock says.
    set_schedule(config_dir, sync="0 0 1 1 *")
    with sandboxed(config_dir, monkeypatch) as server:
        assert main(["run", "--once"]) == 0
        first = capsys.readouterr().out
        published = titles(server)
        reset_stats(server)
        assert main(["run", "--once"]) == 0
        second = capsys.readouterr().out
        assert writes(server) == {}
    for job in ("sync", "weekly", "monthly", "quarterly"):
        assert f"{job}: ok" in first
    expected = {"Portfolio overview", "Theme: Grow revenue", *cadence_titles(datetime.now(UTC))}
    assert expected <= published
    assert second.strip() == "sync: skipped_done"


def test_once_exits_1_when_a_job_fails(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When Confluence is not where the settings say, the sync still runs, the publishing jobs
    fail with the reason, the firings record it, and the exit code is 1."""
    with sandboxed(config_dir, monkeypatch) as server:
        monkeypatch.setenv("RESTRAT_CONFLUENCE_URL", f"{server.url}/no-wiki-here")
        assert main(["run", "--once"]) == 1
    out = capsys.readouterr().out
    assert "weekly: failed" in out
    assert "Confluence has no space PORT" in out
    cache = open_cache(f"sqlite:///{config_dir / 'cache.db'}")
    try:
        outcomes = {run.job: run.outcome for run in job_runs(cache)}
    finally:
        cache.close()
    assert outcomes == {
        "sync": "failed",
        "weekly": "failed",
        "monthly": "failed",
        "quarterly": "failed",
    }


def test_once_with_confluence_unreachable_fails_fast_within_the_retry_budget(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Confluence refuses connections. The sync's publish retries as long as the run's budget
    (8 s here: one wait of about 5 s) allows, then fails; the three cadence jobs fail at once
    with the same cause, without asking Confluence again. Exit 1, all within seconds."""
    replace_in_config(config_dir, "retry_budget_seconds: 60", "retry_budget_seconds: 8")
    with sandboxed(config_dir, monkeypatch):
        monkeypatch.setenv("RESTRAT_CONFLUENCE_URL", f"http://127.0.0.1:{free_port()}/wiki")
        started = time.monotonic()
        assert main(["run", "--once"]) == 1
        seconds = time.monotonic() - started
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sync: failed (Confluence at http://127.0.0.1:")
    assert out[0].endswith("is unreachable: ConnectionError)")
    assert out[1:] == [
        f"{job}: failed (Confluence is unreachable (ConnectionError, found earlier in this "
        "run); not asked again until the next run)"
        for job in ("weekly", "monthly", "quarterly")
    ]
    assert seconds < 8 + 15  # the budget plus the sync, metrics and rendering
