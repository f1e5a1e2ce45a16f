"""`check` and `demo` against the sandbox, both flavours, over HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from restrat_sandbox import SandboxServer
from restrat_sandbox.demo import run_demo
from restrat_sandbox.jql import JqlContext, search
from restrat_sync.check import CheckReport, format_report, run_check
from restrat_sync.cli import main
from restrat_sync.config import load_config
from restrat_sync.errors import CredentialsRejected, JqlRejected
from restrat_sync.http import RetryPolicy, create_session
from tests.e2e.conftest import point_at, settings_for

FAST = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.01)


@pytest.fixture
def report(sandbox: SandboxServer, config_dir: Path) -> CheckReport:
    """`check` of the example config against the sandbox."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    return run_check(loaded, settings_for(sandbox, config_dir), create_session(FAST))


def test_check_detects_flavour_validates_jql_and_counts(
    sandbox: SandboxServer, report: CheckReport
) -> None:
    """check finds the flavour, accepts every JQL file and counts what the sandbox holds."""
    loaded = report.config
    assert report.jira is not None
    assert report.jira.flavor == sandbox.state.flavor
    portfolio = sandbox.state.portfolio
    ctx = JqlContext(portfolio, sandbox.state.caller(), portfolio.now, sandbox.state.flavor)
    for name, jql in loaded.jql.items():
        assert report.jira.matches[name] == len(search(ctx, jql.query)), name
    for theme in loaded.config.themes:
        assert report.jira.matches[theme.jql] > 0, f"{theme.key} selects nothing in the sandbox"
    assert report.confluence is not None
    assert report.confluence.space_found


def test_check_discovers_the_flavours_custom_fields(
    sandbox: SandboxServer, report: CheckReport
) -> None:
    """Story points everywhere; Epic Link and Parent Link on Data Center only."""
    assert report.jira is not None
    fields = report.jira.fields
    assert fields.story_points
    if sandbox.state.flavor == "datacenter":
        assert fields.epic_link
        assert fields.parent_link


def test_check_lists_statuses_without_a_mapping(report: CheckReport) -> None:
    """Statuses absent from status_map are listed with the state their category gives."""
    assert report.jira is not None
    listed = {s.name: s.state for s in report.jira.unmapped_statuses}
    assert listed["In Progress"] == "active"
    assert listed["Done"] == "done"
    assert "Blocked" not in listed  # mapped explicitly in the example config
    text = "\n".join(format_report(report))
    assert "In Progress (indeterminate -> active)" in text


def test_check_names_every_jql_file_jira_rejects(sandbox: SandboxServer, config_dir: Path) -> None:
    """Invalid JQL is reported per file, with Jira's own message, as a config error."""
    (config_dir / "jql" / "scope.jql").write_text("project in (PAY, \n", encoding="utf-8")
    (config_dir / "jql" / "kr-gdpr-open.jql").write_text("nosuchfield = 1\n", encoding="utf-8")
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    with pytest.raises(JqlRejected) as caught:
        run_check(loaded, settings_for(sandbox, config_dir), create_session(FAST))
    problems = caught.value.problems
    assert len(problems) == 2
    assert any("scope.jql" in p and "sync.scope_jql" in p for p in problems)
    assert any("kr-gdpr-open.jql" in p and "nosuchfield" in p for p in problems)


def test_jira_error_positions_point_into_the_jql_file(
    sandbox: SandboxServer, config_dir: Path
) -> None:
    """Jira positions its syntax error in the one-line query it received (Cloud's jql/parse and
    Data Center's search alike); check reports the file's own line and column."""
    scope = config_dir / "jql" / "scope.jql"
    scope.write_text(
        "-- every delivery project\n"
        "-- (the portfolio board keeps this list)\n"
        "project in (PAY, MOB)\n"
        "   AND status = = Done   -- the second '=' is the mistake\n",
        encoding="utf-8",
    )
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    assert loaded.jql["scope.jql"].query == "project in (PAY, MOB) AND status = = Done"
    with pytest.raises(JqlRejected) as caught:
        run_check(loaded, settings_for(sandbox, config_dir), create_session(FAST))
    [problem] = caught.value.problems
    assert problem.startswith(f"{scope.resolve()}:4:17: Jira rejects this JQL (sync.scope_jql): ")
    assert "got '='" in problem
    assert "(line 1, character" not in problem


def test_wrong_token_is_a_credentials_error(sandbox: SandboxServer, config_dir: Path) -> None:
    """The sandbox answers 401 like Jira; check says which settings to fix."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    settings = settings_for(sandbox, config_dir, token="wrong")
    with pytest.raises(CredentialsRejected, match="RESTRAT_JIRA_TOKEN"):
        run_check(loaded, settings, create_session(FAST))


def test_check_command_exits_0_against_the_sandbox(
    sandbox: SandboxServer,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`restrat-sync check` with the README's environment variables succeeds."""
    point_at(sandbox, config_dir, monkeypatch)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"{sandbox.state.flavor}" in out
    assert sandbox.state.options.token not in out


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_demo_runs_every_step_and_saves_the_pages(
    flavor: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo checks, syncs, computes and publishes against a fresh sandbox, publishes again
    without writing, and saves every page as the sandbox renders it, with an index."""
    output = tmp_path / "demo-output"
    assert run_demo(flavor=flavor, output=output) == 0
    out = capsys.readouterr().out
    assert "$ restrat-sync check" in out
    assert "theme-growth.jql" in out
    assert "Initiative" in out
    assert "In Progress" in out
    assert "alignment variance:" in out
    assert "pages: 11 created, 0 updated, 0 unchanged, 0 failed" in out
    assert "pages: 0 created, 0 updated, 11 unchanged, 0 failed; write requests: 0" in out
    assert "demo finished" in out
    index = (output / "index.html").read_text(encoding="utf-8")
    saved = sorted(path.name for path in output.glob("*.html") if path.name != "index.html")
    assert len(saved) == 11
    assert all(f'href="{name}"' in index for name in saved)
    overview = (output / "portfolio-overview.html").read_text(encoding="utf-8")
    assert "Alignment variance" in overview
    assert 'class="jira-table"' in overview
