"""The worker's telemetry and its health HTTP server.

``WorkerTelemetry`` counts what the worker does (syncs, API requests, pages, job runs) in a
private Prometheus registry and decides readiness. ``HealthServer`` serves it over HTTP:

- ``GET /healthz``: 200 ``ok`` while the process lives (the container's HEALTHCHECK);
- ``GET /readyz``: 200 when the last successful sync is younger than the threshold and the
  process can work, else 503, with a one-line reason. The worker's ``probe`` reads the last
  successful sync from the shared cache (by any replica); without one, it is this process's;
- ``GET /metrics``: the Prometheus text exposition format (version 0.0.4);
- anything else: 404.

Nothing secret goes into a metric: endpoint labels are method and path with ids folded
(``GET /rest/api/3/issue/{id}``), and error texts stay in the log, never in a label or a body.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from restrat_sync import __version__

if TYPE_CHECKING:  # the real types, without importing the sync and publish machinery at run time
    from restrat_sync.publish import PublishReport
    from restrat_sync.sync import SyncSummary

log = logging.getLogger(__name__)

PREFIX = "restrat_sync_"
JOB_OUTCOMES = ("ok", "failed", "skipped_locked", "skipped_done")
# Sync durations range from seconds (an incremental sync with nothing new) to an hour (the
# first full sync of a large portfolio).
SYNC_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, float("inf"))
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Readiness:
    """What readiness is decided on: when the last successful sync finished, and why this
    process cannot work, if it cannot."""

    last_success: datetime | None
    problem: str | None = None


class WorkerTelemetry:
    """Thread-safe counters and gauges of one worker process, exposed in Prometheus text format.

    ``probe`` tells readiness where the last successful sync is read (the worker reads the shared
    cache); by default it is the last one this process recorded with ``sync_finished``."""

    def __init__(
        self,
        ready_max_age: timedelta,
        clock: Clock = _utc_now,
        probe: Callable[[], Readiness] | None = None,
    ) -> None:
        self.ready_max_age = ready_max_age
        self._clock = clock
        self.probe = probe or self._own_readiness
        self._lock = threading.Lock()  # guards the two timestamps below
        self._last_success: datetime | None = None
        self._last_failure: datetime | None = None
        self.last_error: str | None = None  # for the worker's own use; never served
        # A private registry: two workers in one process (tests) never share counts, and the
        # process-wide default registry stays untouched.
        self.registry = CollectorRegistry(auto_describe=True)
        self._define_sync_metrics()
        self._define_api_metrics()
        self._define_publish_metrics()
        self._define_job_metrics()

    def _define_sync_metrics(self) -> None:
        r = self.registry
        self._sync_duration = Histogram(
            PREFIX + "sync_duration_seconds",
            "Duration of successful syncs.",
            buckets=SYNC_BUCKETS,
            registry=r,
        )
        self._last_sync_duration = Gauge(
            PREFIX + "last_sync_duration_seconds",
            "Duration of the last successful sync.",
            registry=r,
        )
        self._issues = Counter(
            PREFIX + "issues_synced",
            "Issues written to the cache by syncs, by kind (new, updated, deleted).",
            ["kind"],
            registry=r,
        )
        for kind in ("new", "updated", "deleted"):  # a series at 0 from the start, not missing
            self._issues.labels(kind=kind)
        self._sync_failures = Counter(PREFIX + "sync_failures", "Syncs that failed.", registry=r)
        last_success = Gauge(
            PREFIX + "last_success_timestamp_seconds",
            "When the last successful sync finished (Unix time), as readiness sees it; 0 before "
            "the first.",
            registry=r,
        )
        last_success.set_function(self._last_success_timestamp)
        ready = Gauge(PREFIX + "ready", "1 when /readyz answers 200, else 0.", registry=r)
        ready.set_function(lambda: float(self.ready()[0]))
        info = Gauge(
            PREFIX + "build_info", "Always 1; the version is a label.", ["version"], registry=r
        )
        info.labels(version=__version__).set(1)

    def _define_api_metrics(self) -> None:
        r = self.registry
        self._requests = Counter(
            PREFIX + "api_requests",
            "HTTP requests sent to Jira and Confluence, retries included, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self._retries = Counter(
            PREFIX + "api_retries",
            "Requests repeated after a 429, 5xx or connection error, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self._errors = Counter(
            PREFIX + "api_errors",
            "Requests that failed for good (after any retries), by endpoint.",
            ["endpoint"],
            registry=r,
        )

    def _define_publish_metrics(self) -> None:
        r = self.registry
        self._pages_written = Counter(
            PREFIX + "pages_written", "Confluence pages created or updated.", registry=r
        )
        self._pages_skipped = Counter(
            PREFIX + "pages_skipped",
            "Pages left alone because their content had not changed.",
            registry=r,
        )
        self._pages_failed = Counter(
            PREFIX + "pages_failed", "Pages that could not be published.", registry=r
        )
        self._write_requests = Counter(
            PREFIX + "confluence_write_requests",
            "POST, PUT and DELETE requests sent to Confluence by publishing.",
            registry=r,
        )

    def _define_job_metrics(self) -> None:
        r = self.registry
        self._job_runs = Counter(
            PREFIX + "job_runs",
            "Scheduled job firings, by job and outcome (ok, failed, skipped_locked, skipped_done).",
            ["job", "outcome"],
            registry=r,
        )
        self._job_duration = Summary(
            PREFIX + "job_duration_seconds",
            "Time spent in jobs that ran (outcome ok or failed), by job.",
            ["job"],
            registry=r,
        )

    # --- Feeding -------------------------------------------------------------------------------

    def sync_finished(self, summary: SyncSummary) -> None:
        """Record a successful sync; it makes the worker ready."""
        self._sync_duration.observe(summary.seconds)
        self._last_sync_duration.set(summary.seconds)
        self._issues.labels(kind="new").inc(summary.counts.issues_new)
        self._issues.labels(kind="updated").inc(summary.counts.issues_updated)
        self._issues.labels(kind="deleted").inc(summary.counts.issues_deleted)
        self._count_by_endpoint(self._requests, summary.requests)
        self._count_by_endpoint(self._retries, summary.retries)
        now = self._clock()
        with self._lock:
            self._last_success = now

    def sync_failed(self, error: str, requests: Mapping[str, int] | None = None) -> None:
        """Record a failed sync and the requests it made before failing."""
        self._sync_failures.inc()
        self._count_by_endpoint(self._requests, requests or {})
        with self._lock:
            self._last_failure = self._clock()
            self.last_error = error

    def request_errors(self, endpoint: str, count: int = 1) -> None:
        """Record requests to ``endpoint`` that failed for good."""
        self._errors.labels(endpoint=endpoint).inc(count)

    def pages_published(self, report: PublishReport) -> None:
        """Record one publish: pages written, skipped as unchanged, failed; write requests."""
        self._pages_written.inc(report.count("created") + report.count("updated"))
        self._pages_skipped.inc(report.count("unchanged"))
        self._pages_failed.inc(report.count("failed"))
        self._write_requests.inc(report.write_requests)

    def job_run(self, job: str, outcome: str, seconds: float) -> None:
        """Record one firing of a job; ``outcome`` is one of ``JOB_OUTCOMES``."""
        if outcome not in JOB_OUTCOMES:
            raise ValueError(f"unknown job outcome {outcome!r}; expected one of {JOB_OUTCOMES}")
        self._job_runs.labels(job=job, outcome=outcome).inc()
        if outcome in ("ok", "failed"):  # a skipped firing did no work: keep it out of timings
            self._job_duration.labels(job=job).observe(seconds)

    @staticmethod
    def _count_by_endpoint(counter: Counter, counts: Mapping[str, int]) -> None:
        for endpoint, count in counts.items():
            if count:
                counter.labels(endpoint=endpoint).inc(count)

    # --- Reading -------------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        """Ready when the process can work and the last successful sync is younger than
        ``ready_max_age``; and why."""
        facts = self.probe()
        if facts.problem is not None:
            return False, f"not ready: {facts.problem}"
        success = facts.last_success
        with self._lock:
            failure = self._last_failure
        failed = ""
        if failure is not None and (success is None or failure > success):
            failed = f"; last sync failed {_iso(failure)}"
        if success is None:
            return False, f"not ready: no successful sync yet{failed}"
        age = self._clock() - success
        when = f"last successful sync {_iso(success)} ({_minutes(age)} ago)"
        if age >= self.ready_max_age:
            return False, f"not ready: {when}, older than {_minutes(self.ready_max_age)}{failed}"
        return True, f"ready: {when}"

    def _own_readiness(self) -> Readiness:
        with self._lock:
            return Readiness(self._last_success)

    def _last_success_timestamp(self) -> float:
        facts = self.probe()
        return facts.last_success.timestamp() if facts.last_success is not None else 0.0

    def prometheus_text(self) -> bytes:
        """Every metric in the Prometheus text exposition format 0.0.4."""
        return generate_latest(self.registry)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{span.total_seconds():.0f} s"


# --- The server ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung scrape never keeps the worker from exiting

    def __init__(self, address: tuple[str, int], telemetry: WorkerTelemetry) -> None:
        if ":" in address[0]:  # an IPv6 literal such as "::"
            self.address_family = socket.AF_INET6
        self.telemetry = telemetry
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a client may take to send its request
    server_version = f"restrat-sync/{__version__}"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        telemetry = self.server.telemetry
        if path == "/healthz":
            self._answer(HTTPStatus.OK, b"ok\n")
        elif path == "/readyz":
            ready, reason = telemetry.ready()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._answer(status, reason.encode() + b"\n")
        elif path == "/metrics":
            self._answer(HTTPStatus.OK, telemetry.prometheus_text(), CONTENT_TYPE_PLAIN_0_0_4)
        else:
            self._answer(HTTPStatus.NOT_FOUND, b"not found\n")

    def _answer(
        self, status: HTTPStatus, body: bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib writes every request to stderr; probes every few seconds would drown the log.
        log.debug("health: %s %s", self.address_string(), format % args)


class HealthServer:
    """Serves ``/healthz``, ``/readyz`` and ``/metrics`` of one telemetry in a daemon thread."""

    def __init__(
        self,
        telemetry: WorkerTelemetry,
        host: str = "0.0.0.0",  # noqa: S104  # in a container, probes come from outside
        port: int = 8080,
    ) -> None:
        self.telemetry = telemetry
        self.host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HealthServer:
        """Bind and serve; port 0 picks a free port (see ``port``). Raises OSError when taken."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), self.telemetry)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="restrat-health",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "health endpoints on http://%s:%d/ (healthz, readyz, metrics)", self.host, self.port
        )
        return self

    @property
    def port(self) -> int:
        """The bound port once started (the real one when asked for 0), else the configured one."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._port = int(server.server_address[1])
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
