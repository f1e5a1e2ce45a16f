"""One runner at a time: a lock per job while it runs, and a claim per firing.

Two questions, two mechanisms:

- *Is anyone running this job right now?* ``job_lock`` answers without waiting. With
  PostgreSQL it is a session advisory lock, held on a connection of its own for as long as the
  job runs: replicas on any number of hosts exclude each other, and a runner that dies loses its
  lock with its connection. With SQLite it is ``flock`` on a lock file next to the database,
  which excludes processes **on one host only**; run one SQLite worker per database (SQLite
  itself is not safe on a network file system anyway).
- *Has anyone run this firing already?* ``claim_firing`` inserts the (job, firing) row of
  ``job_runs``, which is unique: of the replicas that wake up for the same firing, exactly one
  claims it, even when one wakes up after the other has finished.

A runner takes the lock first and then claims the firing, and records how the run ended with
``finish_firing``. While it holds the lock, any other row of the job still ``running`` was left
by a runner that died: ``interrupt_running`` closes those.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from restrat_sync.cache import Cache
from restrat_sync.cache.models import JobFiring
from restrat_sync.worker.schedule import as_utc

log = logging.getLogger(__name__)

JOB_RUNS = cast(Table, JobFiring.__table__)
RUNNING = "running"
INTERRUPTED = "interrupted"
OUTCOMES = ("ok", "failed", "interrupted")  # how a run ends
JOB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # also a file name: no paths, no dots
LOCK_NAMESPACE = "restrat-sync:"


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    firing: datetime  # UTC
    runner: str  # "host:pid"
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # "running" | "ok" | "failed" | "interrupted"
    detail: str | None


def runner_id() -> str:
    """This process as a runner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_key(job: str) -> int:
    """The PostgreSQL advisory lock key of ``job``: the first 8 bytes of the SHA-256 of
    ``restrat-sync:<job>`` as a signed bigint, the same in every process and release."""
    digest = hashlib.sha256(f"{LOCK_NAMESPACE}{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(cache: Cache, job: str, lock_dir: Path) -> Iterator[bool]:
    """Try to take ``job``'s lock without waiting: yields True when this process now holds it
    (until the block ends), False when another runner does.

    PostgreSQL: an advisory lock on ``lock_key(job)``. Other databases (SQLite): ``flock`` on
    ``lock_dir / f"{job}.lock"``, which excludes processes on this host only.
    """
    if not JOB_NAME.match(job):
        raise ValueError(f"{job!r} is not a job name (lower case letters, digits, - and _)")
    if cache.engine.dialect.name == "postgresql":
        with _advisory_lock(cache.engine, job) as held:
            yield held
    else:
        with _file_lock(lock_dir / f"{job}.lock") as held:
            yield held


@contextmanager
def _advisory_lock(engine: Engine, job: str) -> Iterator[bool]:
    key = lock_key(job)
    with engine.connect() as connection:
        held = bool(connection.execute(select(func.pg_try_advisory_lock(key))).scalar())
        # The lock belongs to the session, not to the transaction: end the transaction, so the
        # connection waits "idle" rather than "idle in transaction" while the job runs.
        connection.commit()
        try:
            yield held
        finally:
            if held:
                _advisory_unlock(connection, key, job)


def _advisory_unlock(connection: Connection, key: int, job: str) -> None:
    try:
        released = connection.execute(select(func.pg_advisory_unlock(key))).scalar()
        connection.commit()
    except SQLAlchemyError as exc:
        # The session is gone, and its lock with it; keep the broken connection out of the pool.
        connection.invalidate()
        log.warning("the %s lock's database connection failed (%s); the lock is gone", job, exc)
        return
    if not released:
        log.warning("the %s lock was lost while the job ran (database connection reset?)", job)


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # CLOEXEC: a program this process starts must not inherit, and so keep, the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        held = _try_flock(fd)
        if held:
            # Who holds it, for an admin who wonders; the lock is the flock, not the content.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{runner_id()}\n".encode(), 0)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def claim_firing(cache: Cache, job: str, firing: datetime, runner: str, now: datetime) -> bool:
    """Record that ``runner`` runs ``job`` for ``firing`` (outcome "running"); False, and
    nothing written, when that firing was claimed already (by anyone, this runner included).

    A firing whose run was *interrupted* (a worker shut down in the middle of it) may be claimed
    again: its work never completed, so a restarted worker's catch-up redoes it at once rather
    than at the job's next firing. Failed and finished firings stay claimed."""
    row = {
        "job": job,
        "firing": as_utc(firing),
        "runner": runner,
        "started_at": now,
        "outcome": RUNNING,
    }
    with cache.transaction() as session:
        connection = session.connection()
        # ON CONFLICT DO NOTHING rather than catching IntegrityError: a failed INSERT would
        # abort a PostgreSQL transaction, and concurrent claimers wait for the winner's commit.
        # The row comes back only when it was inserted (rowcount is not reliable with RETURNING).
        statement = (
            _insert(connection)
            .values(row)
            .on_conflict_do_nothing(index_elements=["job", "firing"])
            .returning(JOB_RUNS.c.id)
        )
        if connection.execute(statement).first() is not None:
            return True
        # A conditional UPDATE is atomic: of two runners re-claiming, one sees "running".
        retake = (
            update(JOB_RUNS)
            .where(
                JOB_RUNS.c.job == job,
                JOB_RUNS.c.firing == as_utc(firing),
                JOB_RUNS.c.outcome == INTERRUPTED,
            )
            .values(runner=runner, started_at=now, finished_at=None, outcome=RUNNING, detail=None)
            .returning(JOB_RUNS.c.id)
        )
        return connection.execute(retake).first() is not None


def finish_firing(
    cache: Cache,
    job: str,
    firing: datetime,
    outcome: str,
    now: datetime,
    detail: str | None = None,
) -> None:
    """Record how the claimed run of ``job`` for ``firing`` ended: "ok", "failed" or
    "interrupted", with an optional detail (an error message, a summary)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"{outcome!r} is not an outcome: one of {', '.join(OUTCOMES)}")
    statement = (
        update(JOB_RUNS)
        .where(JOB_RUNS.c.job == job, JOB_RUNS.c.firing == as_utc(firing))
        .values(finished_at=now, outcome=outcome, detail=detail)
    )
    with cache.transaction() as session:
        if session.connection().execute(statement).rowcount != 1:
            raise LookupError(f"no run of {job} for the firing at {firing.isoformat()} is claimed")


def interrupt_running(cache: Cache, job: str, now: datetime, detail: str | None = None) -> int:
    """Mark the runs of ``job`` still "running" as "interrupted"; return how many.

    Call it only while holding ``job_lock``: then nobody else runs the job, and such rows were
    left by a runner that died."""
    statement = (
        update(JOB_RUNS)
        .where(JOB_RUNS.c.job == job, JOB_RUNS.c.outcome == RUNNING)
        .values(finished_at=now, outcome="interrupted", detail=detail)
    )
    with cache.transaction() as session:
        return session.connection().execute(statement).rowcount


def job_runs(cache: Cache, job: str | None = None) -> list[JobRun]:
    """The recorded runs, of one job or of all, ordered by firing."""
    statement = select(*(JOB_RUNS.c[field.name] for field in fields(JobRun))).order_by(
        JOB_RUNS.c.firing, JOB_RUNS.c.job
    )
    if job is not None:
        statement = statement.where(JOB_RUNS.c.job == job)
    with cache.engine.connect() as connection:
        return [JobRun(**row) for row in connection.execute(statement).mappings()]


def _insert(connection: Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(JOB_RUNS)
