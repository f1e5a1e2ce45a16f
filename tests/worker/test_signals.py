"""SIGTERM reaching `restrat-sync run` (and `run --once`) at awkward moments: while the program
starts, during a retry wait, and while the cache is still opening. Each time the process exits
0 within 10 s and the firing it was running, or about to run, is recorded as interrupted."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Connection

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.cache.engine import MIGRATION_LOCK_ID
from restrat_sync.worker.locks import job_runs
from restrat_sync.worker.signals import hold_signals, release_held_signals, stop_on_signals
from tests.conftest import Databases
from tests.e2e.conftest import NOW
from tests.worker.sandboxed import WorkerProcess, free_port, set_schedule, wait_for, worker_env

ONCE = pytest.mark.parametrize("once", [True, False], ids=["once", "serve"])


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as running:
        yield running


def outcomes(database_url: str) -> dict[str, str]:
    cache = open_cache(database_url)
    try:
        return {run.job: run.outcome for run in job_runs(cache)}
    finally:
        cache.close()


def test_a_signal_held_while_the_program_starts_stops_the_worker() -> None:
    """A SIGTERM that comes before `run` installed its handlers is held, not fatal: the worker's
    stop event starts out set, and the handlers from before come back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    hold_signals()
    try:
        signal.raise_signal(signal.SIGTERM)  # would end this process, were it not held
        with stop_on_signals(deadline=60) as stop:
            assert stop.is_set()
    finally:
        release_held_signals()
    assert signal.getsignal(signal.SIGTERM) == before


def test_other_commands_get_a_held_signal_delivered() -> None:
    """Commands other than `run` end as they always did on a signal held while they started:
    here SIGINT, delivered as KeyboardInterrupt once released."""
    before = signal.getsignal(signal.SIGINT)
    hold_signals()
    signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        release_held_signals()
    assert signal.getsignal(signal.SIGINT) == before


@ONCE
def test_sigterm_during_a_retry_wait_stops_at_once(
    once: bool, server: SandboxServer, config_dir: Path, tmp_path: Path
) -> None:
    """Jira refuses connections, so the sync waits to retry (5 s and more); SIGTERM in that
    wait ends it: exit 0 within moments, the sync firing recorded interrupted."""
    set_schedule(config_dir, sync="0 0 1 1 *")  # the catch-up is the only sync
    database_url = f"sqlite:///{tmp_path / 'cache.db'}"
    env = worker_env(server, config_dir, database_url)
    env["RESTRAT_JIRA_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    worker = WorkerProcess(env, tmp_path / "worker.log", once=once)
    try:
        assert wait_for(lambda: "retry 1 in" in worker.output(), 30), worker.output()
        code, seconds = worker.terminate()
    finally:
        worker.kill()
    # Well before the 8 s deadline: the wait itself woke up.
    assert (code, seconds < 3) == (0, True), worker.output()
    assert outcomes(database_url) == {"sync": "interrupted"}
    if once:
        assert "sync: interrupted" in worker.output()


# --- a signal while the cache opens ---------------------------------------------------------------


@pytest.fixture
def database_url(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh schema, its sessions named so that the test can find the worker's."""
    databases = Databases("postgres", tmp_path, postgres_url)
    url = make_url(databases.new_url())
    named = url.update_query_dict({"application_name": f"restrat-test-{uuid.uuid4().hex[:8]}"})
    yield named.render_as_string(hide_password=False)
    databases.drop_all()


@pytest.fixture
def migration_lock(postgres_url: str) -> Iterator[Connection]:
    """Holds the lock that serialises migrations, as a replica migrating the cache would, so
    that a starting worker waits in `open_cache`; released at the latest when the test ends."""
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            yield connection
        finally:
            release(connection)
    engine.dispose()


def release(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_unlock_all()"))
    connection.commit()


def waiting_for_the_lock(connection: Connection, database_url: str) -> bool:
    """Whether the worker's session waits for a lock (the migration lock, here)."""
    name = make_url(database_url).query["application_name"]
    statement = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
        "AND wait_event_type = 'Lock'"
    )
    waiting = connection.execute(statement, {"name": name}).scalar_one()
    connection.commit()  # a fresh snapshot of pg_stat_activity at the next poll
    return bool(waiting)


@pytest.mark.postgres
@ONCE
def test_sigterm_while_the_cache_opens_stops_cleanly(
    once: bool,
    server: SandboxServer,
    config_dir: Path,
    tmp_path: Path,
    database_url: str,
    migration_lock: Connection,
) -> None:
    """SIGTERM while the worker waits to migrate the cache does not kill it: once the cache
    is open it records the due sync firing as interrupted, runs nothing, and exits 0."""
    set_schedule(config_dir, sync="0 0 1 1 *")
    env = worker_env(server, config_dir, database_url)
    worker = WorkerProcess(env, tmp_path / "worker.log", once=once)
    try:
        assert wait_for(lambda: waiting_for_the_lock(migration_lock, database_url), 30), (
            worker.output()
        )
        signalled = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        assert not wait_for(lambda: worker.process.poll() is not None, 1), worker.output()
        release(migration_lock)  # the cache opens
        code = worker.process.wait(10)
    finally:
        worker.kill()
    assert (code, time.monotonic() - signalled < 10) == (0, True), worker.output()
    assert outcomes(database_url) == {"sync": "interrupted"}
    assert server.state.stats == {}  # it asked Jira nothing
    if once:
        assert "sync: interrupted" in worker.output()


@pytest.mark.postgres
def test_a_worker_stuck_opening_the_cache_still_exits_0_within_10_s(
    server: SandboxServer,
    config_dir: Path,
    tmp_path: Path,
    database_url: str,
    migration_lock: Connection,
) -> None:
    """When the cache stays locked, the deadline after SIGTERM ends the process: exit 0,
    within the 10 s an orchestrator grants."""
    env = worker_env(server, config_dir, database_url)
    worker = WorkerProcess(env, tmp_path / "worker.log", once=True)
    try:
        assert wait_for(lambda: waiting_for_the_lock(migration_lock, database_url), 30), (
            worker.output()
        )
        code, seconds = worker.terminate(timeout=12)
    finally:
        worker.kill()
    assert (code, seconds < 10) == (0, True), (seconds, worker.output())
    assert "exiting anyway" in worker.output()
