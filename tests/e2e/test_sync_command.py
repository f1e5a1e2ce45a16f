"""`restrat-sync sync` as a user runs it, and what a failed sync leaves behind."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import requests

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sandbox.demo import sandbox_settings
from restrat_sync.cache import open_cache
from restrat_sync.cli import main
from restrat_sync.config import load_config
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.jira import JiraAnswered
from restrat_sync.progress import LogProgress, TerminalProgress
from restrat_sync.sync import SyncCounts, SyncOptions, open_syncer
from tests.e2e.conftest import NOW, point_at
from tests.e2e.sandbox_truth import cached_transitions, sandbox_transitions


def test_sync_json_summary(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints the summary: issue counts, transitions, requests per endpoint, seconds."""
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        assert main(["sync", "--json"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main(["sync", "--json"]) == 0
        second = json.loads(capsys.readouterr().out)
    assert first["issues_new"] == 500
    assert first["transitions_added"] > 1000
    assert first["requests"]["POST /rest/api/3/search/jql"] > 0
    assert first["seconds"] > 0
    assert (second["issues_new"], second["issues_updated"]) == (0, 0)
    assert (first["full"], first["full_reason"]) == (True, "the cache is empty")
    assert (second["full"], second["full_reason"]) == (False, None)
    assert server.state.options.token not in json.dumps(first)


def test_sync_into_an_empty_cache_says_it_does_a_full_sync(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --full, the first sync says why it fetches everything; the next is incremental."""
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        assert main(["sync"]) == 0
        first = capsys.readouterr()
        assert main(["sync"]) == 0
        second = capsys.readouterr()
    assert "the cache is empty: doing a full sync" in first.err
    assert first.out.startswith("full sync (the cache is empty) finished in ")
    assert "the cache is empty" not in second.err + second.out
    assert second.out.startswith("incremental sync finished in ")


def requests_jira_saw(url: str) -> dict[str, int]:
    """The requests the sandbox received by endpoint (not its 401/429/503 tallies), then
    forgotten."""
    seen = requests.get(f"{url}/_sandbox/stats", timeout=10).json()["requests"]
    requests.delete(f"{url}/_sandbox/stats", timeout=10)
    return {label: n for label, n in seen.items() if " " in label}


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_the_requests_a_sync_reports_are_the_requests_jira_saw(
    flavor: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A full sync and a no-change incremental one each report, in the summary and in their
    sync_runs row, exactly the requests the sandbox counted, serverInfo and the field list
    (sent while connecting) included."""
    with create_sandbox(SandboxOptions(flavor=flavor, port=0), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        reported, seen = [], []
        for mode in (["--full"], []):  # then nothing changed: an incremental sync
            assert main(["sync", *mode, "--json"]) == 0
            reported.append(json.loads(capsys.readouterr().out))
            seen.append(requests_jira_saw(server.url))
    cache = open_cache(f"sqlite:///{config_dir / 'cache.db'}")
    try:
        recorded = cache.last_run()
    finally:
        cache.close()
    for summary, jira in zip(reported, seen, strict=True):
        assert summary["requests"] == jira
        assert summary["requests_total"] == sum(jira.values())
        assert jira["GET /rest/api/2/serverInfo"] == 1
        assert jira["GET /rest/api/2/field"] == 1
    assert recorded is not None
    assert recorded.requests == seen[-1]


def test_failed_sync_exits_non_zero_with_a_clear_message(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When Jira keeps failing, sync says so, names the endpoint and exits 1."""
    monkeypatch.setattr(
        "restrat_sync.cli.SYNC_POLICY", RetryPolicy(max_attempts=2, initial_wait=0.01)
    )
    with create_sandbox(SandboxOptions(port=0, fault_rate=1.0), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert "error: Jira answered 503 to GET rest/api/2/serverInfo" in err
    assert "Traceback" not in err


def test_failed_sync_keeps_whole_pages_and_the_next_one_completes(
    config_dir: Path, tmp_path: Path
) -> None:
    """A sync that fails mid-way leaves only complete issues, records the failure, and a rerun
    catches up."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    # Seeded faults: with this seed the sync fails after 300 issues are stored.
    options = SandboxOptions(port=0, fault_rate=0.05, seed=10)
    with create_sandbox(options, "small", NOW) as server:
        settings = sandbox_settings(server, tmp_path)
        failing = open_syncer(settings, loaded, create_session(RetryPolicy(max_attempts=1)))
        with pytest.raises(JiraAnswered):
            failing.run(SyncOptions(full=True))
        last = failing.cache.last_run()
        assert last is not None
        assert last.outcome == "failed"
        assert last.error is not None
        assert "503" in last.error
        portfolio = server.state.portfolio
        partial = cached_transitions(failing.cache)
        assert partial, "the failure must come after some pages were stored"
        assert partial == sandbox_transitions(portfolio, set(partial))
        server.state.options.fault_rate = 0.0
        again = open_syncer(settings, loaded, create_session(RetryPolicy(max_attempts=1)))
        again.run(SyncOptions(full=True))
        assert again.cache.last_run().outcome == "ok"  # type: ignore[union-attr]


def test_terminal_progress_redraws_one_line() -> None:
    """On a terminal, progress is one line redrawn with a carriage return."""
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    progress.phase("fetching changes")
    progress.advanced(SyncCounts(issues_new=120, pages=2, changelog_requests=1))
    progress.phase("reconciling")
    progress.close()
    text = stream.getvalue()
    assert "\r" in text
    assert "\n" not in text
    assert "fetching changes: 0 issues" in text
    assert "reconciling: 120 issues, 2 pages, 1 changelog completions" in text


def test_log_progress_writes_plain_lines(caplog: pytest.LogCaptureFixture) -> None:
    """Off a terminal, progress is log lines: one per phase and every few pages."""
    progress = LogProgress(every=2)
    with caplog.at_level(logging.INFO, logger="restrat_sync.progress"):
        progress.phase("listing Grow revenue")
        for pages in range(1, 5):
            progress.advanced(SyncCounts(issues_new=100 * pages, pages=pages))
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "sync: listing Grow revenue"
    assert len(lines) == 3
    assert "\r" not in "".join(lines)
