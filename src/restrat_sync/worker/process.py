"""The worker process: the scheduler, catch-up at start, ``--once``, signals and shutdown.

Jobs run one at a time in one scheduler thread (a sync and a cadence publish never compete
for the cache inside one process; across processes the job locks keep each job single).
APScheduler fires them in the config's time zone, coalescing missed runs into one, never
overlapping a job with itself, and dropping a run that is later than the misfire grace time.

Shutdown: the first SIGTERM or SIGINT stops the scheduling and sets the stop flag, which the
running job sees at its next page boundary; the process waits at most ``STOP_WAIT_SECONDS``
for it, then exits 0 (an unfinished transaction is rolled back by the database). A second
signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from restrat_sync.cache import open_cache
from restrat_sync.config import LoadedConfig
from restrat_sync.health import HealthServer, WorkerTelemetry
from restrat_sync.settings import Settings
from restrat_sync.worker.jobs import SYNC, ConfigSource, JobContext, JobResult, Jobs
from restrat_sync.worker.schedule import JOBS, job_triggers

log = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 7.0  # then exit anyway: within the 10 s an orchestrator usually grants
CATCH_UP = "catch-up"  # the one-off scheduler job that runs what is due at start


class Worker:
    """The scheduler around ``Jobs``, and the bookkeeping of the job in flight."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.stop = jobs.context.stop
        jobs.context.on_schedule_change = self.reschedule
        config = jobs.context.source.current.config
        self.scheduler = BackgroundScheduler(
            timezone=ZoneInfo(config.timezone),
            # One thread: jobs of one process run one after another.
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": config.schedule.misfire_grace_seconds,
            },
        )
        self._busy = 0
        self._idle = threading.Condition()

    def schedule(self, loaded: LoadedConfig) -> None:
        """Add (or replace) the four jobs with the triggers of ``loaded``."""
        triggers = job_triggers(loaded.config)
        for job in JOBS:
            self.scheduler.add_job(
                self.run_job,
                trigger=triggers[job],
                args=[job],
                id=job,
                name=job,
                replace_existing=True,
                misfire_grace_time=loaded.config.schedule.misfire_grace_seconds,
            )

    def reschedule(self, loaded: LoadedConfig) -> None:
        """The schedule section (or the time zone) changed: new triggers for every job."""
        log.info("the schedule changed; rescheduling the jobs")
        self.schedule(loaded)

    def start(self) -> None:
        """Schedule the jobs and run what is due (the catch-up) at once, in the job thread."""
        self.schedule(self.jobs.context.source.current)
        self.scheduler.add_job(self.run_due, id=CATCH_UP, name=CATCH_UP)
        self.scheduler.start()

    def run_due(self) -> list[JobResult]:
        """Run the sync, then every cadence whose last complete period was never published
        (looked up after the sync, which may be the first)."""
        results = [self.run_job(SYNC)]
        for job in self.jobs.unpublished():
            if self.stop.is_set():
                break
            results.append(self.run_job(job))
        return results

    def run_job(self, job: str) -> JobResult:
        """Run one job, counted as in flight until it ends."""
        with self._idle:
            self._busy += 1
        try:
            return self.jobs.run(job)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def shutdown(self, timeout: float = STOP_WAIT_SECONDS) -> bool:
        """Stop scheduling, ask the running job to stop, wait for it up to ``timeout``.
        Returns whether no job is running any more."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


# --- the process ---------------------------------------------------------------------------------


def run_worker(settings: Settings, config_path: Path, once: bool) -> int:
    """``restrat-sync run``: the worker until a signal, or every due job once with ``once``."""
    source = ConfigSource(config_path)  # an invalid config at start is an error: nothing to keep
    cache = open_cache(settings.effective_database_url)
    telemetry = WorkerTelemetry(ready_max_age=timedelta(minutes=settings.ready_max_age_minutes))
    worker = Worker(Jobs(JobContext(settings, cache, source, telemetry)))
    previous = _install_signal_handlers(worker.stop)
    try:
        if once:
            return _once(worker)
        return _serve(worker, HealthServer(telemetry, settings.health_host, settings.health_port))
    finally:
        _restore_signal_handlers(previous)
        cache.close()


def _once(worker: Worker) -> int:
    results = worker.run_due()
    for result in results:
        print(f"{result.job}: {result.outcome}" + (f" ({result.detail})" if result.detail else ""))
    return 1 if any(result.outcome == "failed" for result in results) else 0


def _serve(worker: Worker, health: HealthServer) -> int:
    health.start()
    try:
        worker.start()
        for line in _next_fire_lines(worker):
            log.info("%s", line)
        # Short waits: the signal handler runs on this thread between them.
        while not worker.stop.wait(0.5):
            pass
        log.info("stopping: the running job ends at its next page boundary")
        idle = worker.shutdown(STOP_WAIT_SECONDS)
    finally:
        health.stop()
    if not idle:
        log.warning(
            "a job was still running after %.0f s; exiting anyway (the database rolls back its "
            "open transaction)",
            STOP_WAIT_SECONDS,
        )
        _exit_now(0)
    log.info("stopped")
    return 0


def _next_fire_lines(worker: Worker) -> list[str]:
    return [
        f"next {job.id}: {job.next_run_time.isoformat()}"
        for job in worker.scheduler.get_jobs()
        if job.id != CATCH_UP and job.next_run_time is not None
    ]


Handlers = dict[int, Callable[[int, FrameType | None], object] | int | None]


def _install_signal_handlers(stop: threading.Event) -> Handlers:
    """First SIGTERM/SIGINT: set ``stop``. Second: exit at once."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            _exit_now(128 + signum)
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    previous: Handlers = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # signals reach the main thread only (tests drive shutdown directly)
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handle)
    return previous


def _restore_signal_handlers(previous: Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _exit_now(code: int) -> None:
    """Leave without waiting for the job thread (interpreter exit would join it)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
