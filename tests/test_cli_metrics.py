"""`restrat-sync metrics`: clear errors for a bad period, an unknown theme, a theme and an
initiative at once, and an empty cache; `--as-of` and `--restatements` on a cache filled as in
tests/cache/test_asof_and_restatements.py. The happy path and an unknown initiative (which needs
a synced cache) are checked end to end in tests/e2e/test_metrics_against_sandbox.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.snapshots import read_snapshots, theme_history
from restrat_sync.cli import main
from restrat_sync.config import load_config
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.model.periods import parse_period
from restrat_sync.starter import write_starter
from tests.cache import test_asof_and_restatements as asof_cache
from tests.cache.conftest import issue


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The starter config and an empty SQLite cache location."""
    write_starter(tmp_path)
    monkeypatch.setenv("RESTRAT_CONFIG", str(tmp_path / "config" / "restrat.yaml"))
    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cache.db'}")
    return tmp_path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--period", "2026-13"], "--period: '2026-13' is not a period"),
        (["--period", "2025-W53"], "2025 has 52 ISO weeks"),
        (["--theme", "NOPE"], "--theme NOPE: no such theme (themes: GROWTH, RELIABILITY"),
        (["--theme", "GROWTH", "--initiative", "PORT-1"], "show one theme or one initiative"),
    ],
)
def test_bad_arguments_are_named_and_exit_2(
    workdir: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A period or theme that does not exist is a usage error naming the option."""
    assert main(["metrics", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_an_empty_cache_asks_for_a_sync_first(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing synced there is nothing to compute: say which command comes first."""
    assert main(["metrics"]) == 1
    assert "run `restrat-sync sync` first" in capsys.readouterr().err


# --- --as-of and --restatements ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not an instant: write it as"),
        (["--as-of", "2999-01-01T00:00"], "--as-of 2999-01-01T00:00: that is in the future"),
        (["--as-of", "2026-10-01", "--period", "2026-13"], "--period: '2026-13' is not a period"),
        (["--restatements", "--period", "2026-13"], "--period: '2026-13' is not a period"),
    ],
)
def test_a_bad_as_of_or_restatements_period_is_named_and_exits_2(
    workdir: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", *arguments]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [["--as-of", "2026-10-01", "--history"], ["--restatements", "--as-of", "2026-10-01"]],
)
def test_as_of_history_and_restatements_exclude_each_other(
    workdir: Path, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["metrics", *arguments])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def cache_of(workdir: Path) -> Cache:
    return open_cache(f"sqlite:///{workdir / 'cache.db'}")


def closed_october(workdir: Path) -> None:
    """The cache of ``tests.cache.test_asof_and_restatements``, October computed at its close
    with the starter config (Europe/Berlin: October ends at 23:00Z on 31 October)."""
    config = load_config(workdir / "config" / "restrat.yaml").config
    cache = cache_of(workdir)
    try:
        asof_cache.sync(
            cache,
            asof_cache.FIRST_SYNC,
            issue(1, created=asof_cache.CREATED, issuetype="Epic", hierarchy_level=1),
            asof_cache.story(
                2,
                asof_cache.move(21, asof_cache.on(10, 5), "To Do", "In Progress"),
                asof_cache.move(22, asof_cache.on(10, 15), "In Progress", "Done"),
                parent_key="PAY-1",
            ),
            asof_cache.story(3, asof_cache.move(31, asof_cache.on(10, 10), "To Do", "In Progress")),
            growth=["PAY-1"],
        )
        october = parse_period("2026-10", asof_cache.CLOSE, config.timezone)
        compute_and_store(cache, config, [october], asof_cache.CLOSE)
    finally:
        cache.close()


def test_as_of_the_close_prints_the_stored_snapshot_of_the_period_and_stores_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every October value `--as-of` prints is the one stored at the close, though PAY-3 was
    finished (on 3 November) since; the cache's snapshots and attributions are untouched."""
    closed_october(workdir)
    cache = cache_of(workdir)
    try:
        asof_cache.sync(
            cache,
            asof_cache.on(11, 10),
            asof_cache.story(
                3,
                asof_cache.move(31, asof_cache.on(10, 10), "To Do", "In Progress"),
                asof_cache.move(32, asof_cache.on(11, 3), "In Progress", "Done"),
            ),
        )
        before = read_snapshots(cache)
        attributions = theme_history(cache)
    finally:
        cache.close()
    close = "2026-11-01T07:00+01:00"  # CLOSE, written with Berlin's offset
    assert main(["metrics", "--as-of", close, "--period", "2026-10", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["as_of"] == asof_cache.CLOSE.isoformat()
    printed = {(scope, metric): value for scope, found in document["scopes"].items()
               for metric, value in found.items()}  # fmt: skip
    assert {(s.scope, s.metric): printed[(s.scope, s.metric)] for s in before} == {
        (s.scope, s.metric): s.value for s in before
    }
    cache = cache_of(workdir)
    try:
        assert read_snapshots(cache) == before
        assert theme_history(cache) == attributions
    finally:
        cache.close()
    assert main(["metrics", "--as-of", "2026-11-01T07:00", "--period", "2026-10"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("as of 2026-11-01 07:00 (Europe/Berlin): ")
    assert "period 2026-10:" in table


def test_restatements_are_listed_newest_first_as_a_table_or_json(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PAY-3, found done on 20 October by a sync of 12 November: October's AV is restated."""
    assert main(["metrics", "--restatements"]) == 0
    assert capsys.readouterr().out.startswith("no restatements")
    closed_october(workdir)
    config = load_config(workdir / "config" / "restrat.yaml").config
    cache = cache_of(workdir)
    try:
        restating = asof_cache.on(11, 12, 9)
        asof_cache.sync(
            cache,
            restating,
            asof_cache.story(
                3,
                asof_cache.move(31, asof_cache.on(10, 10), "To Do", "In Progress"),
                asof_cache.move(32, asof_cache.on(10, 20), "In Progress", "Done"),
            ),
        )
        october = parse_period("2026-10", restating, config.timezone)
        compute_and_store(cache, config, [october], restating)
    finally:
        cache.close()
    assert main(["metrics", "--restatements", "--period", "2026-10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("restatements (")
    assert any(line.endswith("(PAY-3)") and ": AV " in line for line in lines), lines
    assert main(["metrics", "--restatements", "--json", "--theme", "GROWTH"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "restrat-sync/restatements/1"
    assert {(r["scope"], r["number"]) for r in document["restatements"]} == {
        ("overall", "share:GROWTH")
    }
    assert main(["metrics", "--restatements", "--period", "2026-09"]) == 0
    assert capsys.readouterr().out.startswith("no restatements")
