"""The worker process: the scheduler, catch-up at start, ``--once``, signals and shutdown.

Jobs run one at a time in one scheduler thread (a sync and a cadence publish never compete
for the cache inside one process; across processes the job locks keep each job single).
APScheduler fires them in the config's time zone, coalescing missed runs into one, never
overlapping a job with itself, and dropping a run that is later than the misfire grace time.

Shutdown (``signals``): the first SIGTERM or SIGINT sets the stop flag, which stops the
scheduling and which the running job sees at its next page boundary or retry wait; the process
waits at most ``STOP_WAIT_SECONDS`` for it, then exits 0 (an unfinished transaction is rolled
back by the database). A second signal exits at once.

Readiness (``/readyz``) is the shared cache's: its last successful sync, by whichever replica,
is young enough, and this process can work (its scheduler runs, the cache answers). So a
replica that never wins a firing is as ready as the one that runs them.
"""

from __future__ import annotations

import errno
import logging
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from restrat_sync.cache import open_cache
from restrat_sync.config import LoadedConfig
from restrat_sync.errors import ConfigError
from restrat_sync.http import RunGuard
from restrat_sync.pages.inputs import last_successful_sync
from restrat_sync.settings import Settings
from restrat_sync.worker.health import HealthServer, Readiness, WorkerTelemetry
from restrat_sync.worker.jobs import SYNC, ConfigSource, JobContext, JobResult, Jobs
from restrat_sync.worker.schedule import JOBS, job_triggers
from restrat_sync.worker.signals import STOP_WAIT_SECONDS, exit_now

log = logging.getLogger(__name__)

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
        (looked up after the sync, which may be the first). One run: the jobs share a retry
        budget, and a service one of them found unreachable fails the others at once."""
        guard = self.jobs.new_guard()
        results = [self.run_job(SYNC, guard)]
        for job in self.jobs.unpublished():
            if self.stop.is_set():
                break
            results.append(self.run_job(job, guard))
        return results

    def run_job(self, job: str, guard: RunGuard | None = None) -> JobResult:
        """Run one job, counted as in flight until it ends; a scheduled firing is a run of its
        own (a fresh ``guard``)."""
        with self._idle:
            self._busy += 1
        try:
            return self.jobs.run(job, guard)
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

    def readiness(self) -> Readiness:
        """For /readyz: the shared cache's last successful sync, by any replica, unless this
        process cannot work (its scheduler stopped, or the cache does not answer)."""
        if not self.scheduler.running:
            return Readiness(None, "the scheduler is not running")
        try:
            return Readiness(last_successful_sync(self.jobs.context.cache))
        except (SQLAlchemyError, OSError) as error:
            # The driver's words may name the database URL: the log only, never the body.
            log.warning("readiness: the cache does not answer: %s", error)
            return Readiness(None, "the cache does not answer")


# --- the process ---------------------------------------------------------------------------------


def run_worker(settings: Settings, config_path: Path, once: bool, stop: threading.Event) -> int:
    """``restrat-sync run``: the worker until ``stop`` is set (by a signal, see ``signals``), or
    every due job once with ``once``. The health server comes first: a port in use fails at
    once, and /healthz answers while a long migration runs."""
    telemetry = WorkerTelemetry(
        ready_max_age=timedelta(minutes=settings.ready_max_age_minutes),
        probe=lambda: Readiness(None, "starting"),
    )
    health = None if once else start_health(telemetry, settings.health_host, settings.health_port)
    try:
        source = ConfigSource(config_path)  # an invalid config at start is an error
        cache = open_cache(settings.effective_database_url)
        try:
            context = JobContext(settings, cache, source, telemetry, stop=stop)
            worker = Worker(Jobs(context))
            telemetry.probe = worker.readiness
            return _once(worker) if once else _serve(worker)
        finally:
            cache.close()
    finally:
        if health is not None:
            health.stop()


def start_health(telemetry: WorkerTelemetry, host: str, port: int) -> HealthServer:
    """The started health server; a clear ConfigError (exit 2) when it cannot bind."""
    try:
        return HealthServer(telemetry, host, port).start()
    except OSError as error:
        raise ConfigError([_bind_problem(host, port, error)]) from None


def _bind_problem(host: str, port: int, error: OSError) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"RESTRAT_HEALTH_PORT: cannot serve the health endpoints on {where}: the port is "
            "already in use (another worker?); stop that process or set RESTRAT_HEALTH_PORT "
            "to a free port (0 picks one)"
        )
    return (
        f"RESTRAT_HEALTH_HOST/RESTRAT_HEALTH_PORT: cannot serve the health endpoints on "
        f"{where}: {error.strerror or error}; set them to an address of this machine and a "
        "port this user may bind"
    )


def _once(worker: Worker) -> int:
    results = worker.run_due()
    for result in results:
        print(f"{result.job}: {result.outcome}" + (f" ({result.detail})" if result.detail else ""))
    return 1 if any(result.outcome == "failed" for result in results) else 0


def _serve(worker: Worker) -> int:
    worker.start()
    for line in _next_fire_lines(worker):
        log.info("%s", line)
    # Short waits: the signal handler runs on this thread between them.
    while not worker.stop.wait(0.5):
        pass
    log.info("stopping: the running job ends at its next page boundary")
    if not worker.shutdown(STOP_WAIT_SECONDS):
        log.warning(
            "a job was still running after %.0f s; exiting anyway (the database rolls back its "
            "open transaction)",
            STOP_WAIT_SECONDS,
        )
        exit_now(0)
    log.info("stopped")
    return 0


def _next_fire_lines(worker: Worker) -> list[str]:
    return [
        f"next {job.id}: {job.next_run_time.isoformat()}"
        for job in worker.scheduler.get_jobs()
        if job.id != CATCH_UP and job.next_run_time is not None
    ]
