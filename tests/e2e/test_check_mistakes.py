"""What `restrat-sync check` tells an admin who made a mistake, against the sandbox (both
flavours, over HTTP on loopback): each message names what is wrong and how to fix it, with the
README's exit codes (2 config, 3 connection or credentials, 1 other)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from restrat_sandbox import SandboxServer
from restrat_sync.cache import open_cache
from restrat_sync.cache.engine import create_cache_engine, migrate, schema_state
from restrat_sync.cli import main
from tests.e2e.conftest import point_at
from tests.worker.sandboxed import replace_in_config


@dataclass
class Checked:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def pointed_at_the_sandbox(
    sandbox: SandboxServer,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The environment points at the sandbox; a test changes it, or the config, then runs
    check."""
    point_at(sandbox, config_dir, monkeypatch)
    capsys.readouterr()


def run(capsys: pytest.CaptureFixture[str]) -> Checked:
    code = main(["check"])
    captured = capsys.readouterr()
    return Checked(code, captured.out, captured.err)


def test_a_space_that_does_not_exist_fails_check_after_the_report(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The space is a config error (exit 2), reported after everything else was checked."""
    replace_in_config(config_dir, "  space: PORT ", "  space: NOPE ")
    done = run(capsys)
    assert done.code == 2
    assert "space NOPE NOT FOUND" in done.out
    assert "JQL files (all valid)" in done.out
    assert "error: Confluence space NOPE does not exist, or this user may not see it" in done.err
    assert "set confluence.space in" in done.err


@pytest.mark.parametrize(
    ("variable", "still_checked"),
    [("RESTRAT_CONFLUENCE_URL", "JQL files (all valid)"), ("RESTRAT_JIRA_URL", "space PORT found")],
)
def test_an_unset_url_is_said_and_fails_check(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    still_checked: str,
) -> None:
    """Without a URL check cannot vouch for the service: exit 2, naming the variable and the
    offline alternative; the other service is still checked."""
    monkeypatch.delenv(variable)
    done = run(capsys)
    assert done.code == 2
    assert f"error: {variable} is not set" in done.err
    assert "restrat-sync check --offline" in done.err
    assert still_checked in done.out


def test_a_confluence_url_without_wiki_suggests_it(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """At the site's root Jira answers, not Confluence: exit 3, and the /wiki URL to try."""
    monkeypatch.setenv("RESTRAT_CONFLUENCE_URL", sandbox.url)
    done = run(capsys)
    assert done.code == 3
    assert f"error: {sandbox.url} does not answer like Confluence" in done.err
    assert f"try {sandbox.url}/wiki" in done.err


def test_a_jira_url_that_answers_404_says_to_check_the_base_url(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 404 from serverInfo: exit 3, naming RESTRAT_JIRA_URL and what a base URL looks like."""
    monkeypatch.setenv("RESTRAT_JIRA_URL", f"{sandbox.url}/wiki")
    done = run(capsys)
    assert done.code == 3
    assert "does not answer like Jira (404 to GET rest/api/2/serverInfo)" in done.err
    assert "check RESTRAT_JIRA_URL" in done.err


@pytest.mark.parametrize("blank", [True, False])
def test_an_unset_token_is_named_rather_than_a_401(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], blank: bool
) -> None:
    """No token (or an empty one): exit 3 with the variable to set, not the 401 it caused."""
    if blank:
        monkeypatch.setenv("RESTRAT_JIRA_TOKEN", "")
    else:
        monkeypatch.delenv("RESTRAT_JIRA_TOKEN")
    done = run(capsys)
    assert done.code == 3
    assert done.err.startswith("error: RESTRAT_JIRA_TOKEN is not set")
    assert "401" not in done.err


def test_the_database_state_is_reported_from_empty_to_up_to_date(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Empty (its folder created, said as info), older than this release, then up to date."""
    head = schema_state("sqlite://").head  # the newest migration this release ships
    folder = config_dir / "cache-folder"
    url = f"sqlite:///{folder / 'restrat.db'}"
    monkeypatch.setenv("RESTRAT_DATABASE_URL", url)
    first = run(capsys)
    assert first.code == 0, first.err
    assert f"database {url}: empty; the first sync creates the schema ({head})" in first.out
    assert f"info: created the folder {folder} for the cache" in first.out
    engine = create_cache_engine(url)
    try:
        migrate(engine, "0002")
    finally:
        engine.dispose()
    older = run(capsys)
    assert older.code == 0, older.err
    assert (
        f"database {url}: schema 0002, older than this restrat-sync's {head}: the next sync "
        "migrates it (or now: `restrat-sync db upgrade`)"
    ) in older.out
    assert "created the folder" not in older.out
    open_cache(url).close()
    assert f"database {url}: schema {head}, up to date" in run(capsys).out


def test_a_database_from_a_newer_release_fails_check(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{config_dir / 'newer.db'}"
    monkeypatch.setenv("RESTRAT_DATABASE_URL", url)
    cache = open_cache(url)
    try:
        with cache.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        cache.close()
    done = run(capsys)
    assert done.code == 1
    assert "schema revision 0999, which this restrat-sync does not know" in done.err


def test_an_unwritable_database_path_fails_check_naming_the_cause(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = config_dir / "data"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{blocker / 'restrat.db'}")
    done = run(capsys)
    assert done.code == 1
    assert f"{blocker} is a file, not a folder" in done.err


def test_a_missing_parent_link_is_information_on_cloud_only(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cloud has no Parent Link field and needs none: an info line, not a "not found"."""
    done = run(capsys)
    assert done.code == 0, done.err
    if sandbox.state.flavor == "cloud":
        assert "info: no Parent Link field on this Jira Cloud, and none is needed" in done.out
        assert "not found" not in done.out
    else:
        assert "Parent Link customfield_" in done.out
        assert "info: no Parent Link" not in done.out
