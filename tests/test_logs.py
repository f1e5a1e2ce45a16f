"""Logging setup: readable text or JSON lines on stderr, with secrets redacted in both."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from restrat_sync.logs import LogFormat, configure_logging

JIRA_TOKEN = "jira-tok-5f1e9a"
CONFLUENCE_TOKEN = "conf-tok-77c2b0"
FILE_SECRET = "from-secrets-dir-31d4"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back after each test."""
    root, ours = logging.getLogger(), logging.getLogger("restrat_sync")
    handlers, root_level, our_level = root.handlers[:], root.level, ours.level
    yield
    root.handlers[:] = handlers
    root.setLevel(root_level)
    ours.setLevel(our_level)


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESTRAT_JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("RESTRAT_CONFLUENCE_TOKEN", CONFLUENCE_TOKEN)


def log_everything_secret() -> None:
    """Secrets in the message, the arguments, a library's header line, an exception and extras."""
    log = logging.getLogger("restrat_sync.worker")
    log.warning("token is %s", JIRA_TOKEN)
    log.warning(f"inline {CONFLUENCE_TOKEN} and {FILE_SECRET}")
    logging.getLogger("atlassian.rest_client").warning(
        "curl -H 'Authorization: Bearer opaque-header-value' https://x"
    )
    try:
        try:
            raise ValueError(f"inner {CONFLUENCE_TOKEN}")
        except ValueError as inner:
            raise RuntimeError(f"request with {JIRA_TOKEN} failed") from inner
    except RuntimeError:
        log.exception("sync failed", extra={"detail": {"token": JIRA_TOKEN}, "job": "sync"})


@pytest.mark.usefixtures("tokens")
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_never_reach_stderr(
    log_format: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tokens from the environment and given secrets are blanked everywhere, tracebacks too."""
    configure_logging(verbose=False, log_format=log_format, secrets=[FILE_SECRET])
    log_everything_secret()
    err = capsys.readouterr().err
    for secret in (JIRA_TOKEN, CONFLUENCE_TOKEN, FILE_SECRET, "opaque-header-value"):
        assert secret not in err
    assert err.count("[redacted]") >= 6
    assert "RuntimeError" in err
    assert "ValueError" in err  # the chained cause is there, without its secret


@pytest.mark.usefixtures("tokens")
def test_json_lines_carry_time_level_logger_message_exception_and_extras(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each line is one JSON object with the standard fields, exc_info and serialisable extras."""
    configure_logging(verbose=False, log_format="json")
    log = logging.getLogger("restrat_sync.worker")
    log.info("published %d pages", 3, extra={"job": "weekly", "pages": 3, "handle": object()})
    try:
        raise RuntimeError(f"with {JIRA_TOKEN}")
    except RuntimeError:
        log.error("failed", exc_info=True, extra={"detail": {"token": JIRA_TOKEN, "n": [1, 2]}})
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())

    assert first["message"] == "published 3 pages"
    assert (first["level"], first["logger"]) == ("INFO", "restrat_sync.worker")
    assert (first["job"], first["pages"]) == ("weekly", 3)
    assert "handle" not in first  # not JSON-serialisable: left out, not a crash
    assert "exc_info" not in first
    logged = datetime.fromisoformat(first["time"])
    assert first["time"].endswith("Z")
    assert abs(datetime.now(UTC) - logged) < timedelta(minutes=1)

    assert second["level"] == "ERROR"
    assert second["exc_info"].startswith("Traceback")
    assert "RuntimeError: with [redacted]" in second["exc_info"]
    assert second["detail"] == {"token": "[redacted]", "n": [1, 2]}


def test_standard_fields_win_over_extras_of_the_same_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An extra named like a standard field cannot forge the level or the time."""
    configure_logging(verbose=False, log_format="json")
    logging.getLogger("restrat_sync").warning("x", extra={"level": "DEBUG", "time": "never"})
    entry = json.loads(capsys.readouterr().err)
    assert entry["level"] == "WARNING"
    assert entry["time"] != "never"


def test_text_format_is_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The default format: time, level, logger and message on one line."""
    configure_logging(verbose=False)
    logging.getLogger("restrat_sync.worker").info("sync done: %d issues", 7)
    line = capsys.readouterr().err
    assert line.endswith(" INFO restrat_sync.worker: sync done: 7 issues\n")
    assert line.count("\n") == 1


@pytest.mark.parametrize(
    ("verbose", "shown", "hidden"),
    [
        (False, ["ours-info", "lib-warning"], ["ours-debug", "lib-info"]),
        (True, ["ours-info", "ours-debug", "lib-info", "lib-warning"], []),
    ],
)
def test_verbosity_levels(
    verbose: bool, shown: list[str], hidden: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Our INFO always shows; debug and libraries' INFO only with verbose."""
    configure_logging(verbose=verbose)
    ours, library = logging.getLogger("restrat_sync.x"), logging.getLogger("apscheduler.x")
    ours.info("ours-info")
    ours.debug("ours-debug")
    library.info("lib-info")
    library.warning("lib-warning")
    err = capsys.readouterr().err
    assert all(word in err for word in shown)
    assert not any(word in err for word in hidden)


def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """Reconfiguring (say, once settings are loaded) replaces the handler rather than adding one."""
    configure_logging(verbose=False)
    configure_logging(verbose=False, log_format="json", secrets=[FILE_SECRET])
    assert len(logging.getLogger().handlers) == 1
    logging.getLogger("restrat_sync").warning("once %s", FILE_SECRET)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"] == "once [redacted]"


def test_an_unknown_format_is_refused() -> None:
    """A typo in the format fails at once instead of logging nothing."""
    with pytest.raises(ValueError, match="unknown log format 'yaml'"):
        configure_logging(verbose=False, log_format="yaml")  # type: ignore[arg-type]
