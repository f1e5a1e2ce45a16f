"""`restrat-sync metrics`: clear errors for a bad period, an unknown theme, a theme and an
initiative at once, and an empty cache; the happy path and an unknown initiative (which needs
a synced cache) are checked end to end in tests/e2e/test_metrics_against_sandbox.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from restrat_sync.cli import main
from restrat_sync.starter import write_starter


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
