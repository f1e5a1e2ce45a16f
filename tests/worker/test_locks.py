"""Job locks and firing claims on SQLite and PostgreSQL: one runner per job and per firing."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from restrat_sync.cache import Cache, open_cache
from restrat_sync.worker.locks import (
    claim_firing,
    finish_firing,
    interrupt_running,
    job_lock,
    job_runs,
    lock_key,
    runner_id,
)
from tests.conftest import Databases

NOW = datetime(2026, 10, 26, 6, 0, 3, tzinfo=UTC)
FIRING = datetime(2026, 10, 26, 6, 0, tzinfo=UTC)

# A second process that takes the lock, says whether it got it, and holds it until told.
HOLDER = """
import sys
from pathlib import Path
from zoneinfo import ZoneInfo
from restrat_sync.cache import open_cache
from restrat_sync.worker.locks import job_lock
cache = open_cache(sys.argv[1])
with job_lock(cache, sys.argv[2], Path(sys.argv[3])) as held:
    print("held" if held else "busy", flush=True)
    sys.stdin.readline()
cache.close()
"""


@pytest.fixture
def make_cache(databases: Databases) -> Iterator[Callable[[str | None], Cache]]:
    """Opens caches (on a fresh database, or on a given URL); closes them afterwards."""
    opened: list[Cache] = []

    def make(url: str | None = None) -> Cache:
        opened.append(open_cache(url or databases.new_url()))
        return opened[-1]

    yield make
    for each in opened:
        each.close()


@pytest.fixture
def job() -> str:
    """A job name no other test uses: advisory locks span every schema of the test database."""
    return f"test-{uuid.uuid4().hex[:12]}"


class Holder:
    """The HOLDER script in a subprocess."""

    def __init__(self, url: str, job: str, lock_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, job, str(lock_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.answer = self.process.stdout.readline().strip()

    def release(self) -> None:
        """Let the holder leave its block and exit."""
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=30) == 0

    def crash(self) -> None:
        """Kill the holder without any clean-up of its own."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def holders() -> Iterator[Callable[[str, str, Path], Holder]]:
    """Starts holder processes; kills any still running afterwards."""
    started: list[Holder] = []

    def start(url: str, job: str, lock_dir: Path) -> Holder:
        started.append(Holder(url, job, lock_dir))
        return started[-1]

    yield start
    for holder in started:
        if holder.process.poll() is None:
            holder.crash()
        for stream in (holder.process.stdin, holder.process.stdout):
            if stream is not None:
                stream.close()


def try_lock(cache: Cache, job: str, lock_dir: Path) -> bool:
    """Whether this process can take ``job``'s lock right now (released again at once)."""
    with job_lock(cache, job, lock_dir) as held:
        return held


def url_of(cache: Cache) -> str:
    """The URL the cache was opened with, password included."""
    return cache.engine.url.render_as_string(hide_password=False)


def test_a_second_process_is_refused_while_the_first_holds_the_lock(
    make_cache: Callable[..., Cache],
    holders: Callable[[str, str, Path], Holder],
    job: str,
    tmp_path: Path,
) -> None:
    """Another process holds the job's lock: this one gets False; after release, True."""
    cache = make_cache()
    holder = holders(url_of(cache), job, tmp_path / "locks")
    assert holder.answer == "held"
    assert try_lock(cache, job, tmp_path / "locks") is False
    holder.release()
    assert try_lock(cache, job, tmp_path / "locks") is True


def test_a_crashed_holders_lock_is_released(
    make_cache: Callable[..., Cache],
    holders: Callable[[str, str, Path], Holder],
    job: str,
    tmp_path: Path,
) -> None:
    """A holder killed with SIGKILL loses its lock with its connection (or its file)."""
    cache = make_cache()
    holder = holders(url_of(cache), job, tmp_path / "locks")
    assert holder.answer == "held"
    assert try_lock(cache, job, tmp_path / "locks") is False
    holder.crash()
    deadline = time.monotonic() + 10  # the server notices the closed socket almost at once
    while not try_lock(cache, job, tmp_path / "locks"):
        assert time.monotonic() < deadline, "the dead holder's lock was never released"
        time.sleep(0.05)


def test_two_caches_in_one_process_exclude_each_other(
    make_cache: Callable[..., Cache], job: str, tmp_path: Path
) -> None:
    """Two caches on one database (two connections, two open files): one lock at a time."""
    first = make_cache()
    second = make_cache(url_of(first))
    with job_lock(first, job, tmp_path) as held:
        assert held is True
        assert try_lock(second, job, tmp_path) is False
        assert try_lock(first, f"{job}-other", tmp_path) is True  # other jobs are free
    assert try_lock(second, job, tmp_path) is True


def test_the_lock_is_released_when_the_job_raises(
    make_cache: Callable[..., Cache], job: str, tmp_path: Path
) -> None:
    """An exception inside the block releases the lock and propagates."""
    cache = make_cache()

    def failing_job() -> None:
        with job_lock(cache, job, tmp_path) as held:
            assert held is True
            raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        failing_job()
    assert try_lock(make_cache(url_of(cache)), job, tmp_path) is True


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
def test_sqlite_locks_are_files_naming_their_holder(
    make_cache: Callable[..., Cache], tmp_path: Path
) -> None:
    """With SQLite the lock is <lock_dir>/<job>.lock, its folder made, holding host:pid."""
    cache = make_cache()
    lock_dir = tmp_path / "not" / "yet"
    with job_lock(cache, "sync", lock_dir) as held:
        assert held is True
        assert (lock_dir / "sync.lock").read_text() == f"{runner_id()}\n"


@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_postgres_holds_the_advisory_lock_on_an_idle_connection(
    make_cache: Callable[..., Cache], job: str, tmp_path: Path
) -> None:
    """The advisory lock on lock_key(job) is held by a session not left idle in transaction."""
    cache = make_cache()
    key = lock_key(job)
    query = text(
        "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"
    )
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    with job_lock(cache, job, tmp_path) as held, cache.engine.connect() as connection:
        assert held is True
        states = connection.execute(query, {"high": high, "low": low}).scalars().all()
    assert states == ["idle"]
    assert not list(tmp_path.iterdir())  # no lock files with PostgreSQL


def test_lock_keys_are_stable() -> None:
    """The key is the signed first 8 bytes of sha256("restrat-sync:<job>"), fixed forever:
    replicas of different releases must agree on it."""
    assert lock_key("sync") == 5710256900110424395
    assert lock_key("weekly") == -7066842813319027218


@pytest.mark.parametrize("name", ["../sync", "Sync", "sync.lock", ""])
def test_a_job_name_that_is_no_file_name_is_refused(
    make_cache: Callable[..., Cache], name: str, tmp_path: Path
) -> None:
    """Job names become file names: no paths, dots or upper case."""
    with (
        pytest.raises(ValueError, match="is not a job name"),
        job_lock(make_cache(), name, tmp_path),
    ):
        pass


def test_a_firing_is_claimed_once(make_cache: Callable[..., Cache]) -> None:
    """The first claim wins; a second one, by anyone, is refused and changes nothing."""
    cache = make_cache()
    assert claim_firing(cache, "weekly", FIRING, "host-a:1", NOW) is True
    assert claim_firing(cache, "weekly", FIRING, "host-b:2", NOW + timedelta(seconds=1)) is False
    assert claim_firing(cache, "weekly", FIRING, "host-a:1", NOW) is False
    # The same instant written in another zone is the same firing.
    berlin = FIRING.astimezone(ZoneInfo("Europe/Berlin"))
    assert claim_firing(cache, "weekly", berlin, "host-b:2", NOW) is False
    assert claim_firing(cache, "monthly", FIRING, "host-b:2", NOW) is True  # another job
    [run] = job_runs(cache, "weekly")
    assert (run.job, run.firing, run.runner, run.started_at) == ("weekly", FIRING, "host-a:1", NOW)
    assert (run.outcome, run.finished_at, run.detail) == ("running", None, None)
    assert run.firing.tzinfo is UTC


def test_concurrent_claims_yield_exactly_one_winner(make_cache: Callable[..., Cache]) -> None:
    """Eight threads claiming one firing at once: one True, seven False, one row."""
    cache = make_cache()
    start = threading.Barrier(8)
    results: list[bool] = []

    def claim(runner: str) -> None:
        start.wait()
        results.append(claim_firing(cache, "sync", FIRING, runner, NOW))

    threads = [threading.Thread(target=claim, args=(f"host:{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 7 + [True]
    assert len(job_runs(cache)) == 1


def test_finish_firing_records_the_outcome(make_cache: Callable[..., Cache]) -> None:
    """The claimed run gets its outcome, its end and its detail; other runs are untouched."""
    cache = make_cache()
    later = FIRING + timedelta(minutes=15)
    claim_firing(cache, "sync", FIRING, "host:1", NOW)
    claim_firing(cache, "sync", later, "host:1", later)
    finish_firing(cache, "sync", FIRING, "failed", NOW + timedelta(seconds=40), "HTTP 503")
    first, second = job_runs(cache, "sync")
    assert (first.outcome, first.finished_at, first.detail) == (
        "failed",
        NOW + timedelta(seconds=40),
        "HTTP 503",
    )
    assert (second.outcome, second.finished_at) == ("running", None)
    finish_firing(cache, "sync", later, "ok", later + timedelta(seconds=5))
    assert [run.outcome for run in job_runs(cache)] == ["failed", "ok"]


def test_finish_firing_refuses_unknown_outcomes_and_unclaimed_firings(
    make_cache: Callable[..., Cache],
) -> None:
    """Only ok, failed and interrupted end a run, and only a claimed one."""
    cache = make_cache()
    claim_firing(cache, "sync", FIRING, "host:1", NOW)
    with pytest.raises(ValueError, match="'done' is not an outcome"):
        finish_firing(cache, "sync", FIRING, "done", NOW)
    with pytest.raises(LookupError, match="no run of weekly"):
        finish_firing(cache, "weekly", FIRING, "ok", NOW)
    assert job_runs(cache)[0].outcome == "running"


def test_job_runs_are_ordered_by_firing_and_filtered_by_job(
    make_cache: Callable[..., Cache],
) -> None:
    """Claims made out of order come back ordered by firing; a job filter keeps its own."""
    cache = make_cache()
    for job, hours in (("sync", 2), ("weekly", 1), ("sync", 0)):
        claim_firing(cache, job, FIRING + timedelta(hours=hours), "host:1", NOW)
    assert [(run.job, run.firing.hour) for run in job_runs(cache)] == [
        ("sync", 6),
        ("weekly", 7),
        ("sync", 8),
    ]
    assert [run.firing.hour for run in job_runs(cache, "sync")] == [6, 8]
    assert job_runs(cache, "monthly") == []


def test_interrupt_running_closes_only_the_jobs_running_rows(
    make_cache: Callable[..., Cache],
) -> None:
    """Runs of the job left running become interrupted; finished runs and other jobs stay."""
    cache = make_cache()
    claim_firing(cache, "sync", FIRING, "dead:1", NOW)
    claim_firing(cache, "sync", FIRING + timedelta(minutes=15), "dead:1", NOW)
    finish_firing(cache, "sync", FIRING, "ok", NOW)
    claim_firing(cache, "weekly", FIRING, "dead:1", NOW)
    later = NOW + timedelta(hours=1)
    assert interrupt_running(cache, "sync", later, "runner died") == 1
    runs = {(run.job, run.firing.minute): run for run in job_runs(cache)}
    assert runs["sync", 15].outcome == "interrupted"
    assert (runs["sync", 15].finished_at, runs["sync", 15].detail) == (later, "runner died")
    assert runs["sync", 0].outcome == "ok"
    assert runs["weekly", 0].outcome == "running"


def test_an_interrupted_firing_may_be_claimed_again_but_not_a_failed_one(
    make_cache: Callable[..., Cache],
) -> None:
    """A run cut short by a shutdown never did its work: a restarted worker may take the same
    firing again (once); a failed or finished firing stays claimed."""
    cache = make_cache()
    claim_firing(cache, "sync", FIRING, "host-a:1", NOW)
    finish_firing(cache, "sync", FIRING, "interrupted", NOW + timedelta(seconds=3), "SIGTERM")
    assert claim_firing(cache, "sync", FIRING, "host-a:2", NOW + timedelta(seconds=9)) is True
    assert claim_firing(cache, "sync", FIRING, "host-b:3", NOW + timedelta(seconds=9)) is False
    [run] = job_runs(cache, "sync")
    assert (run.runner, run.outcome, run.finished_at, run.detail) == (
        "host-a:2",
        "running",
        None,
        None,
    )
    finish_firing(cache, "sync", FIRING, "failed", NOW + timedelta(seconds=20), "HTTP 503")
    assert claim_firing(cache, "sync", FIRING, "host-a:2", NOW + timedelta(seconds=30)) is False
