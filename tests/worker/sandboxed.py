"""Helpers of the worker tests: a sandbox the environment points at, config edits, the jobs of
one worker, and what the sandbox's Confluence holds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.config import MIN_SYNC_SECONDS
from restrat_sync.model.periods import last_complete
from restrat_sync.settings import load_settings
from restrat_sync.sync import SyncObserver
from restrat_sync.worker.health import WorkerTelemetry
from restrat_sync.worker.jobs import ConfigSource, JobContext, Jobs
from tests.e2e.conftest import NOW, point_at

WRITES = ("POST", "PUT", "DELETE")
ZONE = "Europe/Berlin"  # the starter config's time zone
# The shortest sync interval the config accepts: worker processes in tests sync this often.
SYNC_SECONDS = MIN_SYNC_SECONDS


@contextmanager
def sandboxed(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> Iterator[SandboxServer]:
    """A sandbox with the small portfolio, and the environment pointing at it."""
    with create_sandbox(SandboxOptions(port=0, **options), "small", NOW) as server:
        point_at(server, config_dir, monkeypatch)
        yield server


def config_file(config_dir: Path) -> Path:
    return config_dir / "config" / "restrat.yaml"


def set_schedule(config_dir: Path, **expressions: str) -> None:
    """Set fields of the config's schedule section (sync, weekly, ...) to ``expressions``."""
    path = config_file(config_dir)
    text = path.read_text(encoding="utf-8")
    for name, expression in expressions.items():
        text, count = re.subn(
            rf'^  {name}: ".*"$', f'  {name}: "{expression}"', text, count=1, flags=re.M
        )
        assert count == 1, f"no schedule.{name} line in {path}"
    path.write_text(text, encoding="utf-8")


def replace_in_config(config_dir: Path, old: str, new: str) -> None:
    """Edit the config file as an admin would: ``old`` (found once) becomes ``new``."""
    path = config_file(config_dir)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


class SteppingClock:
    """The real clock plus an offset that a test moves on: each step is a new firing."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def step(self, by: timedelta = timedelta(minutes=15)) -> None:
        self.offset += by


class FakeClock:
    """A clock that says what the test sets (``now``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_jobs(
    lock_dir: Path,
    clock: Callable[[], datetime] | None = None,
    observer: Callable[[], SyncObserver] | None = None,
    environ: dict[str, str] | None = None,
    runner: str | None = None,
) -> Jobs:
    """The jobs of one worker configured from the environment (see ``point_at``), or from
    ``environ`` alone."""
    settings = load_settings(environ)
    telemetry = (
        WorkerTelemetry(ready_max_age=timedelta(hours=1))
        if clock is None
        else WorkerTelemetry(ready_max_age=timedelta(hours=1), clock=clock)
    )
    context = JobContext(
        settings=settings,
        cache=open_cache(settings.effective_database_url),
        source=ConfigSource(settings.config),
        telemetry=telemetry,
        lock_dir=lock_dir,
    )
    if clock is not None:
        context.clock = clock
    if observer is not None:
        context.observer = observer
    if runner is not None:
        context.runner = runner
    return Jobs(context)


def offline_environ(config_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Settings with the starter config and an empty SQLite cache, no Jira or Confluence."""
    return {
        "RESTRAT_CONFIG": str(config_dir / "config" / "restrat.yaml"),
        "RESTRAT_DATABASE_URL": f"sqlite:///{tmp_path / 'cache.db'}",
    }


def titles(server: SandboxServer) -> set[str]:
    """The titles of every page in the PORT space."""
    answer = _wiki(server, "content", {"spaceKey": "PORT", "type": "page", "limit": 200})
    return {page["title"] for page in answer["results"]}


def page_body(server: SandboxServer, title: str) -> str:
    """The storage body of the page titled ``title``."""
    params = {"spaceKey": "PORT", "title": title, "expand": "body.storage"}
    results = _wiki(server, "content", params)["results"]
    assert results, f"no page titled {title!r}"
    return str(results[0]["body"]["storage"]["value"])


def writes(server: SandboxServer) -> dict[str, int]:
    """The write requests the sandbox received since its stats were last reset."""
    stats = requests.get(f"{server.url}/_sandbox/stats", timeout=10).json()
    return {label: n for label, n in stats["requests"].items() if label.startswith(WRITES)}


def reset_stats(server: SandboxServer) -> None:
    requests.delete(f"{server.url}/_sandbox/stats", timeout=10)


def _wiki(server: SandboxServer, path: str, params: dict[str, Any]) -> Any:
    options = server.state.options
    answer = requests.get(
        f"{server.url}/wiki/rest/api/{path}",
        params=params,
        auth=(options.user, options.token),
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()


def cadence_titles(now: datetime) -> set[str]:
    """The titles of the pages of the last complete week, month and quarter."""
    return {
        f"Weekly telemetry {last_complete('week', now, ZONE).label}",
        f"Monthly portfolio sync {last_complete('month', now, ZONE).label}",
        f"Quarterly strategy review {last_complete('quarter', now, ZONE).label}",
    }


def wait_for(condition: Callable[[], bool], seconds: float, every: float = 0.2) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


# --- worker processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_env(server: SandboxServer, config_dir: Path, database_url: str) -> dict[str, str]:
    """The environment of a worker process pointing at ``server``, its health on a free port."""
    options = server.state.options
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTRAT_")}
    return env | {
        "RESTRAT_CONFIG": str(config_file(config_dir)),
        "RESTRAT_DATABASE_URL": database_url,
        "RESTRAT_JIRA_URL": server.url,
        "RESTRAT_JIRA_USER": options.user,
        "RESTRAT_JIRA_TOKEN": options.token,
        "RESTRAT_CONFLUENCE_URL": f"{server.url}/wiki",
        "RESTRAT_HEALTH_HOST": "127.0.0.1",
        "RESTRAT_HEALTH_PORT": str(free_port()),
    }


class WorkerProcess:
    """`python -m restrat_sync run` (with ``--once`` when ``once``) in a subprocess, its output
    in a file."""

    def __init__(self, env: dict[str, str], log: Path, once: bool = False) -> None:
        self.port = int(env["RESTRAT_HEALTH_PORT"])
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "restrat_sync", "run", *(["--once"] if once else [])],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> requests.Response | None:
        """GET a health path; None while nothing answers."""
        try:
            return requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)
        except requests.ConnectionError:
            return None

    def answers(self, path: str, status: int) -> bool:
        answer = self.get(path)
        return answer is not None and answer.status_code == status

    def metric(self, name: str) -> float:
        """The sum of every sample of the Prometheus metric ``name`` (all labels)."""
        answer = self.get("/metrics")
        assert answer is not None
        assert answer.status_code == 200
        return sum(
            sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
            if sample.name == name
        )

    def terminate(self, timeout: float = 15) -> tuple[int | None, float]:
        """Send SIGTERM; the exit code (None if still running after ``timeout``) and seconds."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - started

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """Make sure the process is gone (after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
