"""The one retry layer and redaction, with the wire faked by `responses`."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
import responses

from restrat_sync.errors import ServiceDown, ShutdownRequested
from restrat_sync.http import (
    RedactingFilter,
    RetryPolicy,
    RunGuard,
    create_session,
    endpoint_of,
    may_retry,
    retry_after_seconds,
)

FAST = RetryPolicy(max_attempts=4, max_total_seconds=5, initial_wait=0.01, max_wait=0.02)
URL = "https://jira.example.com/rest/api/3/search/jql"
WIKI = "https://jira.example.com/wiki/rest/api/content"
# Waits long enough that a test which did not wake early would notice.
SLOW = RetryPolicy(max_attempts=2, max_total_seconds=60, initial_wait=10, max_wait=10)
# Waits of exactly 0.4 s (no jitter), many attempts: the run's budget is what stops them.
STEADY = RetryPolicy(
    max_attempts=10, max_total_seconds=60, initial_wait=0.4, max_wait=0.4, jitter=0
)


@responses.activate
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_is_retried_until_success(status: int) -> None:
    """429 and gateway errors are retried, and the success is returned."""
    responses.get(URL, status=status, headers={"Retry-After": "0"})
    responses.get(URL, json={"issues": []})
    session = create_session(FAST)
    assert session.get(URL).json() == {"issues": []}
    assert len(responses.calls) == 2
    assert session.stats.retries["GET /rest/api/3/search/jql"] == 1


@responses.activate
def test_gives_up_after_the_bound_and_returns_the_real_error() -> None:
    """After max_attempts the last answer comes back for the caller to report."""
    responses.get(URL, status=503, json={"errorMessages": ["down"]})
    session = create_session(FAST)
    response = session.get(URL)
    assert response.status_code == 503
    assert len(responses.calls) == FAST.max_attempts


@responses.activate
def test_connection_errors_are_retried_then_reraised() -> None:
    """A connection error is retried, then raised as itself."""
    responses.get(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(requests.ConnectionError):
        create_session(FAST).get(URL)
    assert len(responses.calls) == FAST.max_attempts


@responses.activate
def test_creating_post_is_never_retried() -> None:
    """POST /issue creates something: one attempt only, even on 503."""
    create = "https://jira.example.com/rest/api/3/issue"
    responses.post(create, status=503)
    assert create_session(FAST).post(create, json={}).status_code == 503
    assert len(responses.calls) == 1


@responses.activate
def test_read_only_post_is_retried() -> None:
    """POST /search/jql only reads, so it may be repeated."""
    responses.post(URL, status=429, headers={"Retry-After": "0"})
    responses.post(URL, json={"issues": []})
    assert create_session(FAST).post(URL, json={"jql": "x"}).status_code == 200


@responses.activate
def test_retry_after_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait before the retry is what Retry-After says, not the backoff."""
    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    responses.get(URL, status=429, headers={"Retry-After": "3"})
    responses.get(URL, json={})
    create_session(RetryPolicy(initial_wait=0.01, max_total_seconds=60)).get(URL)
    assert slept == [3.0]


@responses.activate
def test_backoff_grows_exponentially_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Retry-After the waits double from initial_wait, capped, within ±30 %."""
    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    responses.get(URL, status=502)
    policy = RetryPolicy(max_attempts=5, initial_wait=5, max_wait=30, max_total_seconds=1000)
    create_session(policy).get(URL)
    for wait, nominal in zip(slept, [5, 10, 20, 30], strict=True):
        assert nominal * 0.7 <= wait <= nominal * 1.3


def test_retry_after_accepts_an_http_date() -> None:
    """Retry-After may be an HTTP date; it becomes seconds from now."""
    response = requests.Response()
    response.headers["Retry-After"] = "Sun, 22 Nov 2026 10:00:30 GMT"
    now = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(response, now) == 30.0


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("GET", URL, True),
        ("PUT", "https://x/rest/api/2/issue/A-1", True),
        ("POST", "https://x/rest/api/3/changelog/bulkfetch", True),
        ("POST", "https://x/rest/api/3/jql/parse", True),
        ("POST", "https://x/rest/api/2/search", True),
        ("POST", "https://x/rest/api/3/issue", False),
        ("POST", "https://x/wiki/rest/api/content", False),
    ],
)
def test_only_requests_safe_to_repeat_may_be_retried(method: str, url: str, expected: bool) -> None:
    """Idempotent methods and read-only POSTs are retryable; creating POSTs are not."""
    assert may_retry(method, url) is expected


def test_endpoints_fold_ids_and_keys() -> None:
    """Statistics group requests by endpoint, not by issue."""
    assert endpoint_of("get", "https://x/rest/api/3/issue/PAY-12/changelog?startAt=0") == (
        "GET /rest/api/3/issue/{id}/changelog"
    )
    assert endpoint_of("PUT", "https://x/wiki/rest/api/content/65538") == (
        "PUT /wiki/rest/api/content/{id}"
    )


def test_redacting_filter_blanks_authorization_and_tokens(caplog: pytest.LogCaptureFixture) -> None:
    """Neither an Authorization header nor a known token reaches a log line."""
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter(["tok-123"]))
    with caplog.at_level(logging.DEBUG, logger="test.redaction"):
        logger.debug("curl -H 'Authorization: Basic dXNlcjp0b2stMTIz' %s", "token=tok-123")
    text = caplog.text
    assert "dXNlcjp0b2stMTIz" not in text
    assert "tok-123" not in text
    assert "[redacted]" in text


@responses.activate
def test_session_remembers_the_servers_clock_from_the_date_header() -> None:
    """The Date header of the latest answer is kept: the sync bounds its watermarks with it."""
    responses.get(URL, json={}, headers={"Date": "Sun, 22 Nov 2026 10:00:30 GMT"})
    session = create_session(FAST)
    assert session.last_server_time is None
    session.get(URL)
    assert session.last_server_time == datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)


def stopped_after(seconds: float) -> RunGuard:
    """A guard whose stop event is set ``seconds`` from now, as a signal handler would."""
    guard = RunGuard()
    timer = threading.Timer(seconds, guard.stop.set)
    timer.daemon = True
    timer.start()
    return guard


@responses.activate
@pytest.mark.parametrize(
    ("status", "headers"),
    [(503, {}), (429, {"Retry-After": "30"})],
    ids=["backoff", "retry-after"],
)
def test_a_retry_wait_wakes_when_the_worker_stops(status: int, headers: dict[str, str]) -> None:
    """Set during a backoff or a Retry-After wait, the stop event ends the wait at once with
    ShutdownRequested; no retry is sent."""
    responses.get(URL, status=status, headers=headers)
    session = create_session(SLOW, guard=stopped_after(0.2), service="Jira")
    started = time.monotonic()
    with pytest.raises(ShutdownRequested):
        session.get(URL)
    assert time.monotonic() - started < 2
    assert len(responses.calls) == 1


@responses.activate
def test_the_retry_budget_is_shared_by_every_request_of_a_run() -> None:
    """Waits after failures spend one budget across sessions and services: once it cannot pay
    for the next wait, requests are not retried and the caller gets the real answer."""
    responses.get(URL, status=503)
    responses.get(WIKI, status=502)
    guard = RunGuard(retry_budget=1.0)
    jira = create_session(STEADY, guard=guard, service="Jira")
    confluence = create_session(STEADY, guard=guard, service="Confluence")
    assert jira.get(URL).status_code == 503
    assert len(responses.calls) == 3  # waits of 0.4 + 0.4 fit in 1.0; a third would not
    assert guard.spent == pytest.approx(0.8)
    assert confluence.get(WIKI).status_code == 502
    assert len(responses.calls) == 4  # nothing left for even one wait: sent once


@responses.activate
def test_rate_limit_waits_spend_no_budget() -> None:
    """A 429 means the service is up and pacing us: its Retry-After wait is made even with no
    budget at all, and the service is not marked unreachable."""
    responses.get(URL, status=429, headers={"Retry-After": "1"})
    responses.get(URL, json={"issues": []})
    guard = RunGuard(retry_budget=0)
    session = create_session(FAST, guard=guard, service="Jira")
    assert session.get(URL).json() == {"issues": []}
    assert guard.spent == 0
    assert guard.down("Jira") is None


@responses.activate
@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        ({"body": requests.ConnectionError("refused")}, "ConnectionError"),
        ({"status": 503}, "HTTP 503"),
    ],
    ids=["connection-error", "5xx"],
)
def test_a_service_found_unreachable_is_not_asked_again_in_the_run(
    answer: dict[str, object], cause: str
) -> None:
    """After its retries, a connection error or a 5xx marks the service down for the run: the
    next request to it, from any session, raises ServiceDown naming the cause, unsent; the
    other service is still asked, and the next run starts afresh."""
    responses.get(URL, **answer)  # type: ignore[arg-type]
    responses.get(WIKI, json={"results": []})
    guard = RunGuard()
    with contextlib.suppress(requests.ConnectionError):
        create_session(FAST, guard=guard, service="Jira").get(URL)
    sent = len(responses.calls)
    assert sent == FAST.max_attempts
    with pytest.raises(ServiceDown, match=rf"Jira is unreachable \({cause}, found earlier"):
        create_session(FAST, guard=guard, service="Jira").get(URL)
    assert len(responses.calls) == sent
    assert create_session(FAST, guard=guard, service="Confluence").get(WIKI).status_code == 200
    with contextlib.suppress(requests.ConnectionError):
        create_session(FAST, guard=RunGuard(), service="Jira").get(URL)
    assert len(responses.calls) == sent + 1 + FAST.max_attempts


@responses.activate
def test_an_exhausted_rate_limit_does_not_mark_the_service_down() -> None:
    """A service that keeps answering 429 is busy, not unreachable."""
    responses.get(URL, status=429, headers={"Retry-After": "0"})
    guard = RunGuard()
    assert create_session(FAST, guard=guard, service="Jira").get(URL).status_code == 429
    assert guard.down("Jira") is None
