"""A simulated day of the worker against an unchanged Jira, counting what it writes to Confluence.

The worker starts on Monday 1 July 2024 at 00:00 in Berlin, a day on which a week, a month and a
quarter begin: its start-up catch-up syncs and publishes every page (the overview, the theme
pages, the pages of the week, month and quarter that have just ended). Then the day runs on a
fake clock: a sync every 15 minutes (96 of them, the last at midnight on Tuesday) and every
cadence job whose trigger fires in between (all three at 07:00). Jira does not change all day.
The sandbox counts every Confluence write per page title (``/_sandbox/stats``).

Run it alone to print the counts (e.g. against an older commit, to compare)::

    .venv/bin/python -m tests.worker.simulated_day
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.worker.jobs import CADENCE_JOBS, SYNC, Jobs
from restrat_sync.worker.schedule import job_triggers, latest_firing
from tests.worker.sandboxed import FakeClock, make_jobs, worker_env

DATA_END = datetime(2024, 6, 30, tzinfo=UTC)  # the sandbox's portfolio ends here
DAY_START = datetime(2024, 6, 30, 22, 0, tzinfo=UTC)  # Monday 2024-07-01 00:00 in Berlin
SYNC_EVERY = timedelta(minutes=15)  # the starter config's schedule.sync
TICKS = 96  # 24 hours of syncs
WRITE_ROUTES = ("POST /wiki/rest/api/content", "PUT /wiki/rest/api/content/{id}")


@dataclass(frozen=True)
class DayCounts:
    """What a simulated day wrote to Confluence, and how its jobs ended."""

    page_writes: dict[str, dict[str, int]]  # title -> route -> writes
    outcomes: Counter[tuple[str, str]]  # (job, outcome) -> runs
    seconds: float
    metrics: str  # the worker's /metrics at the end of the day

    def page_versions(self, title: str) -> int:
        """How many times the page itself (not its labels or property) was written."""
        routes = self.page_writes.get(title, {})
        return sum(routes.get(route, 0) for route in WRITE_ROUTES)

    def write_requests(self) -> int:
        return sum(sum(routes.values()) for routes in self.page_writes.values())

    def lines(self) -> list[str]:
        """A readable report: the writes of each page written, then the totals."""
        rows = [
            f"  {self.page_versions(title):>3} page versions, {sum(routes.values()):>3} write "
            f"requests  {title}"
            for title, routes in sorted(self.page_writes.items())
        ]
        jobs = ", ".join(
            f"{job} {outcome}: {n}" for (job, outcome), n in sorted(self.outcomes.items())
        )
        return [
            *rows,
            f"total: {sum(self.page_versions(t) for t in self.page_writes)} page versions, "
            f"{self.write_requests()} write requests on {len(self.page_writes)} pages",
            f"jobs: {jobs}",
            f"seconds: {self.seconds:.1f}",
        ]


def simulate_day(folder: Path) -> DayCounts:
    """Start a worker (config copied from ``folder``'s config/ and jql/, cache in ``folder``)
    against a fresh sandbox at DAY_START, then run its jobs for 24 hours of fake time."""
    with create_sandbox(SandboxOptions(port=0), "small", DATA_END) as server:
        clock = FakeClock(DAY_START)
        database = f"sqlite:///{folder / 'simulated-day.db'}"
        jobs = make_jobs(folder / "locks", clock=clock, environ=_environ(server, folder, database))
        try:
            start_worker(jobs)
            _reset_stats(server)
            started = time.monotonic()
            outcomes = run_day(jobs, clock)
            seconds = time.monotonic() - started
            metrics = jobs.context.telemetry.prometheus_text().decode()
            return DayCounts(page_writes(server), outcomes, seconds, metrics)
        finally:
            jobs.context.cache.close()


def start_worker(jobs: Jobs) -> None:
    """What a worker does when it starts: the latest sync firing, then the cadence pages
    never published (``restrat-sync run``'s catch-up)."""
    assert jobs.run(SYNC).outcome == "ok"
    for job in jobs.unpublished():
        assert jobs.run(job).outcome == "ok", job


def run_day(jobs: Jobs, clock: FakeClock) -> Counter[tuple[str, str]]:
    """Move the clock on a sync interval at a time for a day; at each step run the sync and
    every cadence job whose trigger fired since the step before, as the scheduler would."""
    triggers = job_triggers(jobs.context.source.current.config)
    last = {job: latest_firing(triggers[job], clock.now) for job in CADENCE_JOBS}
    outcomes: Counter[tuple[str, str]] = Counter()
    for _ in range(TICKS):
        clock.now += SYNC_EVERY
        due = [SYNC]
        for job in CADENCE_JOBS:
            firing = latest_firing(triggers[job], clock.now)
            if firing != last[job]:
                due.append(job)
                last[job] = firing
        for job in due:
            outcomes[(job, jobs.run(job).outcome)] += 1
    return outcomes


def _environ(server: SandboxServer, folder: Path, database: str) -> dict[str, str]:
    config = folder / "config"
    if not config.exists():
        root = Path(__file__).resolve().parents[2]
        shutil.copytree(root / "config", config)
        shutil.copytree(root / "jql", folder / "jql")
    return worker_env(server, folder, database)


def _reset_stats(server: SandboxServer) -> None:
    requests.delete(f"{server.url}/_sandbox/stats", timeout=10).raise_for_status()


def page_writes(server: SandboxServer) -> dict[str, dict[str, int]]:
    answer = requests.get(f"{server.url}/_sandbox/stats", timeout=10)
    answer.raise_for_status()
    return dict(answer.json()["page_writes"])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        counts = simulate_day(Path(folder))
    print("\n".join(counts.lines()))


if __name__ == "__main__":
    main()
