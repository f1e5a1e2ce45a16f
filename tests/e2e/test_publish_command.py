"""`restrat-sync publish` as a user runs it: after a sync, against the sandbox's Confluence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.cli import main
from restrat_sync.config import load_config
from restrat_sync.dashboards import Selection, refresh_metrics
from restrat_sync.model.periods import last_complete, period_of
from tests.e2e.conftest import NOW, point_at, transition

WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def synced(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[SandboxServer]:
    """A sandbox, the environment pointing at it, and a cache synced from it."""
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        assert main(["sync"]) == 0
        capsys.readouterr()
        requests.delete(f"{server.url}/_sandbox/stats", timeout=10)
        yield server


def writes(server: SandboxServer) -> dict[str, int]:
    stats = requests.get(f"{server.url}/_sandbox/stats", timeout=10).json()
    counts = stats.get("requests", stats)
    return {label: n for label, n in counts.items() if label.startswith(WRITES)}


def titles(server: SandboxServer) -> set[str]:
    answer = requests.get(
        f"{server.url}/wiki/rest/api/content",
        params={"spaceKey": "PORT", "type": "page", "limit": 200},
        auth=(server.state.options.user, server.state.options.token),
        timeout=10,
    )
    return {page["title"] for page in answer.json()["results"]}


def test_publish_computes_the_metrics_and_writes_every_page_once(
    synced: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a sync alone, publish computes what it needs, creates every page, and a second
    publish writes nothing."""
    assert main(["publish"]) == 0
    first = capsys.readouterr().out
    assert "pages: 11 created, 0 updated, 0 unchanged, 0 failed" in first
    # publish cuts its default periods at the real clock, as a user's run does.
    week = last_complete("week", datetime.now(UTC), "Europe/Berlin").label
    expected = {"Portfolio overview", "Weekly telemetry", f"Weekly telemetry {week}"}
    assert expected <= titles(synced)
    requests.delete(f"{synced.url}/_sandbox/stats", timeout=10)
    assert main(["publish"]) == 0
    assert "0 created, 0 updated, 11 unchanged, 0 failed; write requests: 0" in (
        capsys.readouterr().out
    )
    assert writes(synced) == {}


def test_publish_one_cadence_for_a_named_period(
    synced: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """--cadence monthly --period 2026-09 publishes that month's page under its parent only."""
    assert main(["publish", "--cadence", "monthly", "--period", "2026-09"]) == 0
    out = capsys.readouterr().out
    assert "created   Monthly portfolio sync 2026-09" in out
    assert "pages: 2 created" in out
    assert "Portfolio overview" not in titles(synced)


def test_dry_run_writes_files_and_sends_nothing(
    synced: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run --out DIR writes storage XML and HTML previews; Confluence gets no write."""
    out = tmp_path / "preview"
    assert main(["publish", "--dry-run", "--out", str(out)]) == 0
    assert "dry run: 11 pages written" in capsys.readouterr().out
    assert (out / "index.html").is_file()
    assert (out / "portfolio-overview.xml").read_text(encoding="utf-8").startswith("<")
    assert (out / "portfolio-overview.html").is_file()
    assert writes(synced) == {}


def test_a_page_owned_by_someone_else_fails_alone(
    synced: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A foreign page titled like the overview is kept; the other pages publish; exit 1."""
    options = synced.state.options
    foreign = {
        "type": "page",
        "title": "Portfolio overview",
        "space": {"key": "PORT"},
        "body": {"storage": {"value": "<p>mine</p>", "representation": "storage"}},
    }
    answer = requests.post(
        f"{synced.url}/wiki/rest/api/content",
        json=foreign,
        auth=(options.user, options.token),
        timeout=10,
    )
    assert answer.status_code == 200
    assert main(["publish"]) == 1
    out = capsys.readouterr().out
    assert "10 created" in out
    assert "1 failed" in out
    assert "error: Portfolio overview:" in out
    page = requests.get(
        f"{synced.url}/wiki/rest/api/content/{answer.json()['id']}",
        params={"expand": "body.storage"},
        auth=(options.user, options.token),
        timeout=10,
    ).json()
    assert page["body"]["storage"]["value"] == "<p>mine</p>"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cadence", "yearly"], "--cadence yearly"),
        (["--cadence", "overview", "--period", "2026-11"], "--period 2026-11"),
        (["--cadence", "weekly", "--period", "2026-13"], "--period"),
        (["--out", "somewhere"], "--out: only with --dry-run"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    """Bad --cadence, --period and --out values are config errors that name the option."""
    monkeypatch.setenv("RESTRAT_CONFIG", str(config_dir / "config" / "restrat.yaml"))
    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{config_dir / 'cache.db'}")
    assert main(["publish", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_publish_before_any_sync_says_to_sync_first(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty cache: exit 1 with the command to run first; nothing is contacted."""
    monkeypatch.setenv("RESTRAT_CONFIG", str(config_dir / "config" / "restrat.yaml"))
    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{config_dir / 'cache.db'}")
    monkeypatch.setenv("RESTRAT_CONFLUENCE_URL", "http://127.0.0.1:9/wiki")
    assert main(["publish"]) == 1
    assert "run `restrat-sync sync` first" in capsys.readouterr().err


def test_metrics_are_computed_again_only_when_something_changed(
    synced: SandboxServer, config_dir: Path
) -> None:
    """Snapshots are computed the first time, after a sync that changed something (and then
    only the periods it can touch: closed ones keep their snapshots and when they last
    changed), on a new local day (the periods still open), and for a period never computed.
    A sync that found nothing new computes nothing."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    cache = open_cache(f"sqlite:///{config_dir / 'cache.db'}")
    everything = Selection.of("all", None)
    now = datetime.now(UTC)
    zone = loaded.config.timezone
    last_month = last_complete("month", now, zone).label
    try:
        first = refresh_metrics(cache, loaded, now, everything)
        assert first is not None
        assert first.touched is None  # a first computation: everything
        assert refresh_metrics(cache, loaded, now, everything) is None
        assert main(["sync"]) == 0  # nothing changed in Jira
        assert refresh_metrics(cache, loaded, now, everything) is None
        story = next(
            i
            for i in synced.state.portfolio.issues.values()
            if i.issuetype == "Story" and i.project == "PAY" and i.status == "To Do"
        )
        transition(synced, story.key, "In Progress")
        assert main(["sync"]) == 0
        later = now + timedelta(minutes=1)
        changed = refresh_metrics(cache, loaded, later, everything)
        assert changed is not None
        assert changed.touched  # the story's theme (or the unaligned bucket)
        kept = read_snapshots(cache, [last_month])
        assert kept
        assert {snapshot.computed_at for snapshot in kept} == {now}
        # The next day, nothing changed: the periods still open at the last computation.
        tomorrow = now + timedelta(hours=25)
        drift = refresh_metrics(cache, loaded, tomorrow, everything)
        assert drift is not None
        assert drift.touched == frozenset()
        computed = {result.period.label for result in drift.periods}
        assert "last-4-weeks" in computed
        assert period_of("month", now, zone).label in computed
        assert last_month not in computed
        old_month = Selection.of("monthly", "2024-01")
        assert refresh_metrics(cache, loaded, tomorrow, old_month) is not None
        assert refresh_metrics(cache, loaded, tomorrow, old_month) is None
    finally:
        cache.close()
