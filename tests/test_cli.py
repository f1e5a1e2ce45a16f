"""The command line: help, init, offline check, exit codes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from restrat_sync.cli import build_parser, main
from restrat_sync.http import RetryPolicy

COMMANDS = [
    "init",
    "check",
    "sync",
    "db",
    "metrics",
    "publish",
    "run",
    "schedule",
    "demo",
    "sandbox",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`restrat-sync COMMAND --help` prints a description and exits 0."""
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"restrat-sync {command}" in out
    assert len(out.splitlines()) >= 4


def test_top_level_help_lists_every_command() -> None:
    """The top-level help names every command and the exit codes."""
    text = build_parser().format_help()
    for command in COMMANDS:
        assert command in text
    assert "Exit codes" in text


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["-v", "check", "--offline"], True),
        (["check", "--offline", "-v"], True),
        (["check", "--verbose", "--offline"], True),
        (["check", "--offline"], False),
        (["db", "upgrade", "-v"], True),
        (["sync", "--full", "-v"], True),
    ],
)
def test_verbose_is_accepted_before_and_after_the_command(argv: list[str], verbose: bool) -> None:
    """`restrat-sync check -v` means what `restrat-sync -v check` means."""
    assert build_parser().parse_args(argv).verbose is verbose


def test_verbose_after_the_command_turns_on_debug_logging(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTRAT_CONFIG", str(config_dir / "config" / "restrat.yaml"))
    assert main(["check", "--offline", "-v"]) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert main(["check", "--offline"]) == 0
    assert logging.getLogger().level == logging.WARNING


def test_init_writes_a_config_that_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """init writes config/ and jql/, and an offline check of them succeeds."""
    assert main(["init", str(tmp_path)]) == 0
    assert (tmp_path / "config" / "restrat.yaml").is_file()
    assert (tmp_path / "jql" / "theme-growth.jql").is_file()
    monkeypatch.delenv("RESTRAT_JIRA_URL", raising=False)
    assert main(["check", "--offline", "--config", str(tmp_path / "config/restrat.yaml")]) == 0
    assert "OK (4 themes" in capsys.readouterr().out


def test_check_warns_of_page_titles_longer_than_confluence_allows(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prefix plus page name over 255 characters: a warning naming the fields to shorten, for
    exactly the titles that are too long (cadence pages counted with their period)."""
    path = config_dir / "config" / "restrat.yaml"
    prefix = "p" * 235
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('title_prefix: ""', f'title_prefix: "{prefix}"'), encoding="utf-8")
    assert main(["check", "--offline", "--config", str(path)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning:" in line]
    titles = {
        "Portfolio overview": "confluence.title_prefix",
        "Theme: Grow revenue": "confluence.title_prefix or themes[0].name",
        "Theme: Platform reliability": "confluence.title_prefix or themes[1].name",
        "Theme: Customer experience": "confluence.title_prefix or themes[2].name",
        "Theme: Regulatory compliance": "confluence.title_prefix or themes[3].name",
        "Weekly telemetry": "confluence.title_prefix",
        "Monthly portfolio sync": "confluence.title_prefix",
        "Quarterly strategy review": "confluence.title_prefix",
        "Weekly telemetry 2026-W47": "confluence.title_prefix",
        "Monthly portfolio sync 2026-11": "confluence.title_prefix",
        "Quarterly strategy review 2026-Q4": "confluence.title_prefix",
    }
    expected = [
        f"warning: the title of the page {name!r} is {len(prefix + name)} characters long with "
        f"the prefix, and Confluence allows 255: shorten {fields}"
        for name, fields in titles.items()
        if len(prefix + name) > 255
    ]
    assert warnings == expected
    assert len(expected) == 8  # all but the overview (253), weekly parent (251), growth (254)


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing file stops init before it writes anything, with exit 1."""
    (tmp_path / "jql").mkdir()
    (tmp_path / "jql" / "scope.jql").write_text("mine", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert not (tmp_path / "config").exists()
    assert (tmp_path / "jql" / "scope.jql").read_text(encoding="utf-8") == "mine"


def test_invalid_config_exits_2_with_the_file_and_field(
    config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config error is one clear message and exit code 2, no traceback."""
    path = config_dir / "config" / "restrat.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("0.35", "0.5"), encoding="utf-8")
    monkeypatch.setenv("RESTRAT_CONFIG", str(path))
    assert main(["check", "--offline"]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}:" in err
    assert "sum to 1.150" in err
    assert "Traceback" not in err


def test_bad_environment_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed URL in the environment names the variable."""
    monkeypatch.setenv("RESTRAT_JIRA_URL", "jira.example.com")
    assert main(["check", "--offline"]) == 2
    assert "RESTRAT_JIRA_URL" in capsys.readouterr().err


def test_unreachable_jira_exits_3(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening at the Jira URL is a connection error: exit 3."""
    monkeypatch.setenv("RESTRAT_CONFIG", str(config_dir / "config" / "restrat.yaml"))
    monkeypatch.setenv("RESTRAT_JIRA_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setattr("restrat_sync.cli.INTERACTIVE_POLICY", RetryPolicy(max_attempts=1))
    assert main(["check"]) == 3
    assert "unreachable" in capsys.readouterr().err


def test_console_script_runs_as_a_module() -> None:
    """`python -m restrat_sync --version` works in a fresh process."""
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-m", "restrat_sync", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restrat-sync ")
