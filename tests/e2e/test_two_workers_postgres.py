"""Two workers on one PostgreSQL database: every job runs once per firing, never concurrently."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.worker.locks import JobRun, job_runs
from tests.conftest import Databases
from tests.e2e.conftest import NOW
from tests.worker.sandboxed import SYNC_SECONDS, WorkerProcess, set_schedule, wait_for, worker_env

pytestmark = pytest.mark.postgres

RUNNING = re.compile(r"^(\w+): running the firing of (\S+)$")


@pytest.fixture
def database_url(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh schema on the test server, dropped afterwards."""
    databases = Databases("postgres", tmp_path, postgres_url)
    yield databases.new_url()
    databases.drop_all()


def started_firings(worker: WorkerProcess) -> list[tuple[str, str]]:
    """(job, firing) of every run the worker's JSON log says it started."""
    found = []
    for line in worker.output().splitlines():
        if not line.startswith("{"):
            continue
        match = RUNNING.match(json.loads(line)["message"])
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def recorded_runs(database_url: str) -> list[JobRun]:
    cache = open_cache(database_url)
    try:
        return job_runs(cache)
    finally:
        cache.close()


def test_two_workers_run_each_firing_once_and_never_overlap(
    config_dir: Path, tmp_path: Path, database_url: str
) -> None:
    """Both workers sync on the same interval against one database: each (job, firing) is
    started by exactly one of them and succeeds, runs of a job never overlap in time, both
    exit 0 on SIGTERM."""
    set_schedule(config_dir, sync=f"every {SYNC_SECONDS}s")
    with create_sandbox(SandboxOptions(port=0), "small", NOW) as server:
        workers = []
        try:
            for name in ("a", "b"):
                env = worker_env(server, config_dir, database_url) | {"RESTRAT_LOG_FORMAT": "json"}
                workers.append(WorkerProcess(env, tmp_path / f"{name}.log"))
            for worker in workers:
                assert wait_for(lambda w=worker: w.answers("/healthz", 200), 30), worker.output()
            enough = 3 if SYNC_SECONDS <= 5 else 2
            assert wait_for(
                lambda: len(job_runs_of(database_url, "sync")) >= enough,
                (enough + 1) * SYNC_SECONDS + 30,
            ), [w.output() for w in workers]
            time.sleep(1)  # let a run that just started be seen by both workers
            exits = [worker.terminate() for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
    assert [code for code, _ in exits] == [0, 0], [w.output() for w in workers]
    assert all(seconds < 10 for _, seconds in exits)
    started = Counter(firing for worker in workers for firing in started_firings(worker))
    runs = recorded_runs(database_url)
    assert {(run.job, run.firing.isoformat()) for run in runs} == set(started)
    assert set(started.values()) == {1}, started
    assert {"sync", "weekly", "monthly", "quarterly"} <= {run.job for run in runs}
    # Neither replica took a firing only to fail it (e.g. publishing before the first sync).
    assert {run.outcome for run in runs} <= {"ok", "interrupted"}, runs
    for job in {run.job for run in runs}:
        spans = sorted((r.started_at, r.finished_at) for r in runs if r.job == job)
        for (_, finished), (next_start, _) in pairwise(spans):
            assert finished is not None
            assert finished <= next_start, f"two runs of {job} overlapped"


def job_runs_of(database_url: str, job: str) -> list[JobRun]:
    return [run for run in recorded_runs(database_url) if run.job == job]
