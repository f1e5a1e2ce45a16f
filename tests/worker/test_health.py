"""The worker's telemetry and its health server, over real HTTP on loopback."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from restrat_sync.publish import Outcome, PageOutcome, PublishReport
from restrat_sync.sync import SyncCounts, SyncSummary
from restrat_sync.worker.health import HealthServer, Readiness, WorkerTelemetry

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
SEARCH = "POST /rest/api/3/search/jql"
CHANGELOG = "POST /rest/api/3/changelog/bulkfetch"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def telemetry(clock: FakeClock) -> WorkerTelemetry:
    return WorkerTelemetry(ready_max_age=timedelta(minutes=60), clock=clock)


@pytest.fixture
def server(telemetry: WorkerTelemetry) -> Iterator[HealthServer]:
    with HealthServer(telemetry, host="127.0.0.1", port=0) as running:
        yield running


def get(server: HealthServer, path: str) -> tuple[int, str, str]:
    """(status, Content-Type, body) of GET ``path``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition; KeyError when absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    raise KeyError(f"{name}{labels}")


def a_sync(seconds: float = 12.5) -> SyncSummary:
    return SyncSummary(
        full=True,
        reconciled=False,
        counts=SyncCounts(issues_new=5, issues_updated=3, issues_unchanged=40, issues_deleted=1),
        requests={SEARCH: 4, CHANGELOG: 2},
        retries={SEARCH: 1},
        seconds=seconds,
    )


def a_publish() -> PublishReport:
    outcomes: list[Outcome] = ["created", "updated", "updated", "unchanged", "unchanged"]
    outcomes += ["unchanged", "failed"]
    pages = [PageOutcome(f"Page {i}", outcome) for i, outcome in enumerate(outcomes)]
    return PublishReport(pages=pages, write_requests=6, read_requests=9, parent_id="100")


def test_healthz_answers_ok_while_the_process_lives(server: HealthServer) -> None:
    """/healthz is 200 "ok" even before any sync: it says only that the process is alive."""
    status, content_type, body = get(server, "/healthz")
    assert (status, body) == (200, "ok\n")
    assert content_type.startswith("text/plain")


def test_readyz_follows_the_age_of_the_last_successful_sync(
    server: HealthServer, telemetry: WorkerTelemetry, clock: FakeClock
) -> None:
    """/readyz is 503 before a sync, 200 while the last success is young, 503 once it is old."""
    status, _, body = get(server, "/readyz")
    assert status == 503
    assert body == "not ready: no successful sync yet\n"

    telemetry.sync_finished(a_sync())
    clock.now = START + timedelta(minutes=59)
    status, _, body = get(server, "/readyz")
    assert status == 200
    assert body.startswith("ready: last successful sync 2025-03-03T09:00:00Z (59 min ago)")

    clock.now = START + timedelta(minutes=60)
    status, _, body = get(server, "/readyz")
    assert status == 503
    assert "older than 60 min" in body
    assert body.count("\n") == 1


def test_readyz_mentions_a_failure_but_not_its_text(
    server: HealthServer, telemetry: WorkerTelemetry, clock: FakeClock
) -> None:
    """A failed sync shows in the reason with its time; the error text stays out of the body."""
    telemetry.sync_finished(a_sync())
    clock.now = START + timedelta(minutes=90)
    telemetry.sync_failed("Jira answered 401 to GET /myself: token abc123 rejected", {SEARCH: 1})
    status, _, body = get(server, "/readyz")
    assert status == 503
    assert "last sync failed 2025-03-03T10:30:00Z" in body
    assert "abc123" not in body
    assert telemetry.last_error is not None
    assert "401" in telemetry.last_error


def test_a_new_success_makes_the_worker_ready_again(
    telemetry: WorkerTelemetry, clock: FakeClock
) -> None:
    """Readiness recovers with the next successful sync, and the old failure leaves the reason."""
    telemetry.sync_finished(a_sync())
    clock.now = START + timedelta(hours=2)
    telemetry.sync_failed("boom")
    assert telemetry.ready()[0] is False
    telemetry.sync_finished(a_sync())
    ready, reason = telemetry.ready()
    assert ready
    assert "failed" not in reason


def test_readiness_follows_the_probe_not_this_process(clock: FakeClock) -> None:
    """With a probe (the worker reads the shared cache), a sync by another replica makes this
    one ready, and the last-success gauge shows it; its own syncs do not count."""
    shared: list[Readiness] = [Readiness(None)]
    telemetry = WorkerTelemetry(timedelta(minutes=60), clock, probe=lambda: shared[0])
    telemetry.sync_finished(a_sync())  # this process's own success: not what readiness reads
    assert telemetry.ready() == (False, "not ready: no successful sync yet")
    shared[0] = Readiness(START - timedelta(minutes=5))
    ready, reason = telemetry.ready()
    assert ready
    assert reason == "ready: last successful sync 2025-03-03T08:55:00Z (5 min ago)"
    text = telemetry.prometheus_text().decode()
    assert sample(text, "restrat_sync_ready") == 1
    expected = (START - timedelta(minutes=5)).timestamp()
    assert sample(text, "restrat_sync_last_success_timestamp_seconds") == expected


def test_a_process_that_cannot_work_is_not_ready(
    server: HealthServer, telemetry: WorkerTelemetry
) -> None:
    """However young the last successful sync, a problem of the process (its scheduler
    stopped, the cache not answering) makes /readyz 503 with that reason."""
    telemetry.probe = lambda: Readiness(START, "the cache does not answer")
    status, _, body = get(server, "/readyz")
    assert (status, body) == (503, "not ready: the cache does not answer\n")


def test_metrics_carry_the_counts_of_syncs_and_publishes(
    server: HealthServer, telemetry: WorkerTelemetry
) -> None:
    """/metrics parses as Prometheus text and carries what real summaries and reports fed in."""
    telemetry.sync_finished(a_sync(seconds=12.5))
    telemetry.sync_finished(a_sync(seconds=2.0))
    telemetry.sync_failed("boom", {SEARCH: 3})
    telemetry.request_errors(SEARCH)
    telemetry.pages_published(a_publish())
    status, content_type, text = get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")

    assert sample(text, "restrat_sync_issues_synced_total", kind="new") == 10
    assert sample(text, "restrat_sync_issues_synced_total", kind="updated") == 6
    assert sample(text, "restrat_sync_issues_synced_total", kind="deleted") == 2
    assert sample(text, "restrat_sync_api_requests_total", endpoint=SEARCH) == 4 + 4 + 3
    assert sample(text, "restrat_sync_api_requests_total", endpoint=CHANGELOG) == 4
    assert sample(text, "restrat_sync_api_retries_total", endpoint=SEARCH) == 2
    assert sample(text, "restrat_sync_api_errors_total", endpoint=SEARCH) == 1
    assert sample(text, "restrat_sync_sync_failures_total") == 1
    assert sample(text, "restrat_sync_sync_duration_seconds_count") == 2
    assert sample(text, "restrat_sync_sync_duration_seconds_sum") == 14.5
    assert sample(text, "restrat_sync_sync_duration_seconds_bucket", le="5.0") == 1
    assert sample(text, "restrat_sync_last_sync_duration_seconds") == 2.0
    assert sample(text, "restrat_sync_last_success_timestamp_seconds") == START.timestamp()
    assert sample(text, "restrat_sync_ready") == 1
    assert sample(text, "restrat_sync_pages_written_total") == 3
    assert sample(text, "restrat_sync_pages_skipped_total") == 3
    assert sample(text, "restrat_sync_pages_failed_total") == 1
    assert sample(text, "restrat_sync_confluence_write_requests_total") == 6


def test_metrics_start_at_zero_and_not_ready(server: HealthServer) -> None:
    """Before anything happens the counters read 0 and the ready gauge 0."""
    _, _, text = get(server, "/metrics")
    assert sample(text, "restrat_sync_issues_synced_total", kind="new") == 0
    assert sample(text, "restrat_sync_pages_written_total") == 0
    assert sample(text, "restrat_sync_last_success_timestamp_seconds") == 0
    assert sample(text, "restrat_sync_ready") == 0


def test_job_runs_count_by_job_and_outcome(telemetry: WorkerTelemetry) -> None:
    """Job firings count by job and outcome; only jobs that ran add to the duration."""
    telemetry.job_run("sync", "ok", 3.0)
    telemetry.job_run("sync", "failed", 1.0)
    telemetry.job_run("sync", "skipped_locked", 0.0)
    telemetry.job_run("weekly", "skipped_done", 0.0)
    text = telemetry.prometheus_text().decode()
    assert sample(text, "restrat_sync_job_runs_total", job="sync", outcome="ok") == 1
    assert sample(text, "restrat_sync_job_runs_total", job="sync", outcome="skipped_locked") == 1
    assert sample(text, "restrat_sync_job_runs_total", job="weekly", outcome="skipped_done") == 1
    assert sample(text, "restrat_sync_job_duration_seconds_count", job="sync") == 2
    assert sample(text, "restrat_sync_job_duration_seconds_sum", job="sync") == 4.0
    with pytest.raises(KeyError):
        sample(text, "restrat_sync_job_duration_seconds_count", job="weekly")
    with pytest.raises(ValueError, match="unknown job outcome"):
        telemetry.job_run("sync", "maybe", 1.0)


def test_endpoint_labels_survive_quotes_and_backslashes(telemetry: WorkerTelemetry) -> None:
    """Label values are escaped, so an odd endpoint cannot break the exposition."""
    odd = 'GET /wiki/rest/api/content/"x"\\y\nz'
    telemetry.request_errors(odd, 2)
    assert (
        sample(telemetry.prometheus_text().decode(), "restrat_sync_api_errors_total", endpoint=odd)
        == 2
    )


def test_each_telemetry_has_its_own_registry(clock: FakeClock) -> None:
    """Two workers in one process never share counts, and the global registry stays clean."""
    first = WorkerTelemetry(timedelta(minutes=5), clock)
    second = WorkerTelemetry(timedelta(minutes=5), clock)
    first.request_errors(SEARCH, 3)
    assert (
        sample(first.prometheus_text().decode(), "restrat_sync_api_errors_total", endpoint=SEARCH)
        == 3
    )
    with pytest.raises(KeyError):
        sample(second.prometheus_text().decode(), "restrat_sync_api_errors_total", endpoint=SEARCH)
    assert REGISTRY.get_sample_value("restrat_sync_api_errors_total", {"endpoint": SEARCH}) is None


@pytest.mark.parametrize("path", ["/", "/health", "/metrics/extra", "/readyz/now", "/HEALTHZ"])
def test_unknown_paths_are_404(server: HealthServer, path: str) -> None:
    """Only the three endpoints exist."""
    assert get(server, path)[0] == 404


def test_requests_leave_no_lines_on_stderr(
    server: HealthServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Probes every few seconds must not flood the log: the stdlib's per-request line is gone."""
    for path in ("/healthz", "/readyz", "/metrics", "/nope"):
        get(server, path)
    assert capfd.readouterr().err == ""


def test_concurrent_scrapes_while_counters_move(
    server: HealthServer, telemetry: WorkerTelemetry
) -> None:
    """Scrapes during updates always parse, never go backwards, and the final count is exact."""
    writers, increments = 4, 300
    seen: list[list[float]] = [[] for _ in range(3)]
    done = threading.Event()

    def write() -> None:
        for _ in range(increments):
            telemetry.request_errors(SEARCH)
            telemetry.pages_published(a_publish())

    def scrape(into: list[float]) -> None:
        for _ in range(200):  # bounded, and stops early once the writers are done
            _, _, text = get(server, "/metrics")
            into.append(sample(text, "restrat_sync_pages_written_total"))
            if done.is_set():
                return

    scrapers = [threading.Thread(target=scrape, args=(into,)) for into in seen]
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in scrapers + threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    done.set()
    for thread in scrapers:
        thread.join(timeout=30)

    assert all(values == sorted(values) for values in seen)
    assert all(values for values in seen)
    _, _, text = get(server, "/metrics")
    assert sample(text, "restrat_sync_api_errors_total", endpoint=SEARCH) == writers * increments
    assert sample(text, "restrat_sync_pages_written_total") == writers * increments * 3


def test_stop_frees_the_port(telemetry: WorkerTelemetry) -> None:
    """After stop() nothing answers on the port, and a new server can bind it."""
    first = HealthServer(telemetry, host="127.0.0.1", port=0).start()
    port = first.port
    assert port != 0
    assert get(first, "/healthz")[0] == 200
    first.stop()
    first.stop()  # twice is harmless
    with pytest.raises(ConnectionRefusedError):
        get(first, "/healthz")
    with HealthServer(telemetry, host="127.0.0.1", port=port) as second:
        assert second.port == port
        assert get(second, "/healthz")[0] == 200


def test_a_taken_port_fails_loudly(server: HealthServer, telemetry: WorkerTelemetry) -> None:
    """Starting on a port in use raises OSError rather than serving nothing."""
    with pytest.raises(OSError, match="in use"):
        HealthServer(telemetry, host="127.0.0.1", port=server.port).start()


def test_every_metric_is_documented(telemetry: WorkerTelemetry) -> None:
    """docs/deploy.md names every metric the worker exposes."""
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    names = {
        family.name
        for family in text_string_to_metric_families(telemetry.prometheus_text().decode())
        if not family.name.endswith("_created")
    }
    missing = sorted(name for name in names if not re.search(rf"`{name}(_total)?[`{{]", doc))
    assert names
    assert missing == []
