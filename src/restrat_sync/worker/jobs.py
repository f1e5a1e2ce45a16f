"""The worker's jobs, each run at most once per firing across every replica.

- ``sync``: re-read the config, sync incrementally, compute again the metrics the changes can
  touch, and publish the overview and the theme pages whose data changed (or, once a day,
  whose numbers drifted with the clock), and the published weekly, monthly or quarterly page
  of a closed period whose numbers were restated since it was written: a sync that found
  nothing new writes nothing.
- ``weekly``, ``monthly``, ``quarterly``: publish the page of the last complete week, month or
  quarter (and its cadence parent page).

Every run goes through ``Jobs.run``: take the job's lock (a replica that cannot skips), claim
the firing (the latest fire time of the job's trigger, the same on every replica; a firing
somebody already claimed is skipped), run, and record the outcome on the firing.

Config reload: the config file and its JQL files are read again at the start of every job. An
invalid edit keeps the last good config running; its problems are logged once and go into the
data-quality metrics, so the overview page shows them until the file is fixed.

Shutdown: ``stop`` is checked between sync pages (through the observer), between published
pages (through the gateway) and in every retry wait (through the run's ``RunGuard``); each
raises ``ShutdownRequested``, which ends the job as "interrupted". Each sync page and each
page's publish record is its own transaction, so the cache stays consistent.

Retries: the jobs of one run (one scheduled firing, or every job of the catch-up and of
``--once``) share a ``RunGuard``: a retry budget (``schedule.retry_budget_seconds``) and the
services found unreachable, so that the run's later jobs for such a service fail at once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import make_url

from restrat_sync import dashboards
from restrat_sync.cache import Cache
from restrat_sync.cache.pages import read_published
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.confluence import ConfluenceGateway, RemotePage, connect_confluence
from restrat_sync.errors import ConfigError, ConnectionProblem, RestratError, ShutdownRequested
from restrat_sync.http import RetryingSession, RetryPolicy, RunGuard, create_session, endpoint_of
from restrat_sync.jira import JiraAnswered
from restrat_sync.model.periods import last_complete
from restrat_sync.pages.build import KINDS, cadence_page_name, page_title
from restrat_sync.pages.inputs import last_successful_sync
from restrat_sync.pages.page import Cadence
from restrat_sync.progress import LogProgress
from restrat_sync.publish import PublishReport, publish_pages
from restrat_sync.settings import Settings, confluence_credentials
from restrat_sync.sync import (
    SyncCounts,
    SyncObserver,
    SyncSummary,
    connect_syncer,
    options_for,
)
from restrat_sync.worker.health import WorkerTelemetry
from restrat_sync.worker.locks import (
    claim_firing,
    finish_firing,
    interrupt_running,
    job_lock,
    runner_id,
)
from restrat_sync.worker.schedule import job_triggers, latest_firing

log = logging.getLogger(__name__)

SYNC = "sync"
CADENCE_JOBS: dict[str, Cadence] = {
    "weekly": "weekly",
    "monthly": "monthly",
    "quarterly": "quarterly",
}
DASHBOARDS = dashboards.Selection(("overview", "themes"))  # what a sync republishes

Outcome = Literal["ok", "failed", "interrupted", "skipped_locked", "skipped_done"]
Clock = Callable[[], datetime]


class StopAwareObserver:
    """Passes sync progress on, and raises ShutdownRequested once ``stop`` is set. The syncer
    reports between page transactions, so a sync stops with every finished page kept."""

    def __init__(self, inner: SyncObserver, stop: threading.Event) -> None:
        self.inner = inner
        self.stop = stop

    def phase(self, text: str) -> None:
        self._check()
        self.inner.phase(text)

    def advanced(self, counts: SyncCounts) -> None:
        self._check()
        self.inner.advanced(counts)

    def _check(self) -> None:
        if self.stop.is_set():
            raise ShutdownRequested("the worker is shutting down")


class StopAwareGateway(ConfluenceGateway):
    """A Confluence gateway that refuses to start another page once ``stop`` is set.

    The publisher looks each page up by title before it writes anything of it (and looks up
    the parent page first of all), so stopping in ``find_page`` stops between pages: the page
    in flight is finished, with its publish record, and none is left half-marked."""

    def __init__(self, inner: ConfluenceGateway, stop: threading.Event) -> None:
        super().__init__(inner.url, inner.client)
        self.stop = stop

    def find_page(self, space: str, title: str, property_key: str) -> RemotePage | None:
        if self.stop.is_set():
            raise ShutdownRequested(f"the worker is shutting down; '{title}' not published")
        return super().find_page(space, title, property_key)


# --- config reload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reloaded:
    """The config a job runs with, and the problems of the file on disk when it is invalid."""

    loaded: LoadedConfig
    problems: tuple[str, ...]
    schedule_changed: bool


class ConfigSource:
    """The config as the worker runs it: read again at the start of every job; an invalid edit
    keeps the last good config. The first load raises ConfigError (there is nothing to keep)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current = load_config(path)
        self.problems: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def reload(self) -> Reloaded:
        """Read the config again; on an invalid edit keep the last good one."""
        with self._lock:
            try:
                fresh = load_config(self.path)
            except ConfigError as error:
                problems = tuple(error.problems)
                if problems != self.problems:
                    # Logged when it appears or changes, not at every job.
                    log.error(
                        "the config is invalid; the worker keeps running the last good one:\n%s",
                        "\n".join(problems),
                    )
                self.problems = problems
                return Reloaded(self.current, problems, schedule_changed=False)
            if self.problems:
                log.info("the config %s is valid again", self.path)
            before = self.current.config
            self.current, self.problems = fresh, ()
            changed = (before.schedule, before.timezone) != (
                fresh.config.schedule,
                fresh.config.timezone,
            )
            return Reloaded(fresh, (), schedule_changed=changed)


# --- the jobs ------------------------------------------------------------------------------------


def lock_dir_for(settings: Settings) -> Path:
    """Where SQLite lock files live: beside the database file, which every process on the host
    that shares the cache also shares (RESTRAT_DATA_DIR otherwise)."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return settings.data_dir


@dataclass
class JobContext:
    """What the jobs work with; passed in, so that tests can substitute any part."""

    settings: Settings
    cache: Cache
    source: ConfigSource
    telemetry: WorkerTelemetry
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Clock = field(default=lambda: datetime.now(UTC))
    runner: str = field(default_factory=runner_id)
    lock_dir: Path | None = None
    # One retry policy for every job: Atlassian's advised backoff, as `restrat-sync sync` uses.
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    observer: Callable[[], SyncObserver] = LogProgress  # sync progress, in the log
    on_schedule_change: Callable[[LoadedConfig], None] | None = None


@dataclass(frozen=True)
class JobResult:
    job: str
    outcome: Outcome
    detail: str | None = None


class Jobs:
    """Runs the worker's jobs; one instance per process. What to publish is read from the
    cache (a failed publish leaves its pages due), so a restarted worker carries on."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.lock_dir = context.lock_dir or lock_dir_for(context.settings)
        # The guard of the run in progress (jobs run one at a time in a process).
        self._guard = self.new_guard()

    def new_guard(self) -> RunGuard:
        """What the requests of one run share: the stop request, the retry budget of the
        config in force, and the services found unreachable."""
        budget = self.context.source.current.config.schedule.retry_budget_seconds
        return RunGuard(stop=self.context.stop, retry_budget=budget)

    def run(self, job: str, guard: RunGuard | None = None) -> JobResult:
        """Run ``job`` for its latest firing unless another runner holds or already ran it.
        ``guard``: shared with the other jobs of the same run; a fresh one by default."""
        ctx = self.context
        started = time.monotonic()
        self._guard = guard or self.new_guard()
        try:
            with job_lock(ctx.cache, job, self.lock_dir) as held:
                if not held:
                    log.info("%s: another runner is running it; skipped", job)
                    result = JobResult(job, "skipped_locked")
                else:
                    result = self._claimed(job)
        except Exception as error:  # the cache itself failed (lock, claim or record)
            log.exception("%s could not run", job)
            result = JobResult(job, "failed", f"{type(error).__name__}: {error}"[:2000])
        if result.outcome != "interrupted":  # the process is on its way out
            ctx.telemetry.job_run(job, result.outcome, time.monotonic() - started)
        return result

    def unpublished(self, now: datetime | None = None) -> list[str]:
        """The cadence jobs to catch up (at start, with --once): those whose page of the last
        complete period was never published. None before the cache holds a successful sync:
        a replica that skipped the first sync leaves them to the one that runs it, which
        looks again afterwards (a firing claimed to fail on an empty cache would wait a week)."""
        loaded = self.context.source.reload().loaded
        if last_successful_sync(self.context.cache) is None:
            log.info("no successful sync yet: the cadence pages wait for one")
            return []
        return unpublished_cadences(self.context.cache, loaded, now or self._now())

    def _claimed(self, job: str) -> JobResult:
        ctx = self.context
        reloaded = ctx.source.reload()
        if reloaded.schedule_changed and ctx.on_schedule_change is not None:
            ctx.on_schedule_change(reloaded.loaded)
        now = self._now()
        # Holding the lock, a run of this job still "running" was left by a runner that died.
        if interrupt_running(ctx.cache, job, now, "its runner stopped before it finished"):
            log.warning("%s: marked a run left unfinished by a stopped runner interrupted", job)
        firing = latest_firing(job_triggers(reloaded.loaded.config)[job], now) or now
        if not claim_firing(ctx.cache, job, firing, ctx.runner, now):
            log.info("%s: the firing of %s already ran; skipped", job, firing.isoformat())
            return JobResult(job, "skipped_done")
        log.info("%s: running the firing of %s", job, firing.isoformat())
        if ctx.stop.is_set():  # claimed all the same: recorded, and the next runner runs it again
            result = JobResult(job, "interrupted", "the worker was stopped before the job began")
        else:
            result = self._attempt(job, reloaded)
        finish_firing(ctx.cache, job, firing, result.outcome, self._now(), result.detail)
        log.info("%s: %s%s", job, result.outcome, f" ({result.detail})" if result.detail else "")
        return result

    def _attempt(self, job: str, reloaded: Reloaded) -> JobResult:
        try:
            if job == SYNC:
                return self._sync(reloaded)
            return self._publish_cadence(CADENCE_JOBS[job], reloaded)
        except ShutdownRequested as stopped:
            return JobResult(job, "interrupted", str(stopped))
        except RestratError as error:
            log.error("%s failed: %s", job, error)
            return JobResult(job, "failed", str(error)[:2000])
        except Exception as error:  # a bug: logged with its traceback, the worker lives on
            log.exception("%s failed unexpectedly", job)
            return JobResult(job, "failed", f"{type(error).__name__}: {error}"[:2000])

    # --- sync ------------------------------------------------------------------------------------

    def _sync(self, reloaded: Reloaded) -> JobResult:
        """Sync; compute what the changes touched; publish the rolling pages they fed (or, once
        a day, whose numbers drifted with the clock) and the published pages of closed periods
        they restated. Nothing changed: nothing is written."""
        ctx, loaded = self.context, reloaded.loaded
        self._pull(loaded)
        now = self._now()
        computed = dashboards.refresh_metrics(ctx.cache, loaded, now, DASHBOARDS, reloaded.problems)
        due = dashboards.rolling_pages_due(ctx.cache, loaded, now)
        selections = [dashboards.rolling_selection(due)] if due else []
        selections += dashboards.restated_pages_due(ctx.cache, loaded)
        if not selections:
            detail = "nothing changed" if computed is None else "the pages' data did not change"
            return JobResult(SYNC, "ok", f"{detail}; nothing to publish")
        return _published(SYNC, self._publish(reloaded, *selections))

    def _pull(self, loaded: LoadedConfig) -> SyncSummary:
        """One incremental sync into the worker's cache, reported to the telemetry."""
        ctx = self.context
        session = self._session("Jira")
        try:
            observer = StopAwareObserver(ctx.observer(), ctx.stop)
            syncer = connect_syncer(
                ctx.settings, loaded, session, ctx.cache, observer, clock=ctx.clock
            )
            summary = syncer.run(options_for(loaded, full=False))
        except ShutdownRequested:
            raise
        except Exception as error:
            self._sync_failed(error, dict(session.stats.requests))
            raise
        ctx.telemetry.sync_finished(summary)
        return summary

    def _sync_failed(self, error: Exception, requests: dict[str, int]) -> None:
        telemetry = self.context.telemetry
        telemetry.sync_failed(str(error), requests=requests)
        if isinstance(error, (ConnectionProblem, JiraAnswered)):
            telemetry.request_errors(endpoint_named(str(error)) or "jira")

    # --- publishing ------------------------------------------------------------------------------

    def _publish_cadence(self, cadence: Cadence, reloaded: Reloaded) -> JobResult:
        report = self._publish(reloaded, dashboards.Selection((cadence,)))
        return _published(cadence, report)

    def _publish(self, reloaded: Reloaded, *selections: dashboards.Selection) -> PublishReport:
        ctx, loaded = self.context, reloaded.loaded
        now = self._now()
        pages = [
            page
            for selection in selections
            for page in dashboards.render_pages(
                ctx.cache, loaded, now, selection, reloaded.problems
            )
        ]
        gateway = StopAwareGateway(self._confluence(loaded), ctx.stop)
        try:
            report = publish_pages(pages, gateway, ctx.cache, loaded.config.confluence, now)
        except ConnectionProblem as error:
            ctx.telemetry.request_errors(endpoint_named(str(error)) or "confluence")
            raise
        ctx.telemetry.pages_published(report)
        return report

    def _confluence(self, loaded: LoadedConfig) -> ConfluenceGateway:
        settings = self.context.settings
        url = settings.confluence_url or loaded.config.confluence.url
        if not url:
            raise ConfigError(
                ["confluence.url: not set (set RESTRAT_CONFLUENCE_URL or confluence.url)"]
            )
        credentials = confluence_credentials(settings)
        return connect_confluence(url, credentials, self._session("Confluence"))

    def _session(self, service: str) -> RetryingSession:
        return create_session(self.context.policy, guard=self._guard, service=service)

    def _now(self) -> datetime:
        return self.context.clock()


def _published(job: str, report: PublishReport) -> JobResult:
    if report.ok:
        return JobResult(job, "ok", report.summary())
    failures = "; ".join(f"{page.title}: {page.reason}" for page in report.failed)
    return JobResult(job, "failed", f"{report.summary()}; {failures}"[:2000])


# --- what is due ---------------------------------------------------------------------------------


def unpublished_cadences(cache: Cache, loaded: LoadedConfig, now: datetime) -> list[str]:
    """The cadence jobs whose page of the last complete period is not published (or its last
    publish did not finish), in publishing order."""
    config = loaded.config
    titles = {
        job: page_title(
            config,
            cadence_page_name(cadence, last_complete(KINDS[cadence], now, config.timezone).label),
        )
        for job, cadence in CADENCE_JOBS.items()
    }
    published = read_published(cache, titles.values())
    return [
        job
        for job, title in titles.items()
        if title not in published or not published[title].content_hash
    ]


_ENDPOINT = re.compile(r"\b(GET|POST|PUT|DELETE) (\S+?)(?=[:;,)]|\s|$)")


def endpoint_named(message: str) -> str | None:
    """The endpoint an error message names (``Jira answered 503 to GET rest/api/2/x``), with
    ids folded as the request counts have them (``GET /rest/api/2/issue/{id}``)."""
    match = _ENDPOINT.search(message)
    if match is None:
        return None
    return endpoint_of(match.group(1), "/" + match.group(2).lstrip("/"))
