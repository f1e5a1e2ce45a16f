"""The one HTTP layer: a ``requests.Session`` with timeouts, one retry policy and redaction.

Exactly one retry layer exists: tenacity around ``Session.request``. atlassian-python-api's own
retries are switched off where the gateways construct it. What is retried:

- 429, 502, 503 and 504 answers, and connection errors and timeouts;
- only for requests that are safe to repeat: GET, HEAD, PUT, DELETE, and the read-only POSTs
  (search, changelog bulk fetch, JQL parse, approximate count). A POST that creates something
  is sent once: a retry could create it twice.

The wait honours ``Retry-After`` (seconds or an HTTP date). Without it, the wait grows
exponentially from ``initial_wait`` to ``max_wait`` with ±30 % jitter, as Atlassian advises. The
number of attempts and the total time are bounded; at the end the last answer is returned (so
the caller sees the real error) or the real exception is raised.

The worker gives the sessions of one run a shared ``RunGuard``: every retry wait wakes at once
when the worker is asked to stop (raising ``ShutdownRequested``); waits after failures spend a
retry budget shared by the whole run; and a service that a request found unreachable (after
its retries) is not asked again in that run (``ServiceDown``).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from restrat_sync import __version__
from restrat_sync.errors import ServiceDown, ShutdownRequested

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RATE_LIMITED = 429  # the service is up and paces its clients: its waits spend no retry budget
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# POST endpoints that only read: repeating them cannot change anything on the server.
READ_ONLY_POSTS = re.compile(
    r"/(search(/jql)?|search/approximate-count|changelog/bulkfetch|jql/parse)$"
)
# Path segments that vary per call; folded so statistics group by endpoint.
# The API version (/rest/api/3) is not an id: a segment right after /api is kept.
_VARYING_SEGMENT = re.compile(r"(?<!/api)/(\d+|[A-Z][A-Z0-9_]+-\d+)(?=/|$)")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_total_seconds: float = 300.0
    initial_wait: float = 5.0
    max_wait: float = 30.0
    jitter: float = 0.3


@dataclass
class RequestStats:
    """Requests and retries by endpoint (``GET /rest/api/3/issue/{id}``), thread-safe."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, counter: Counter[str], endpoint: str) -> None:
        with self.lock:
            counter[endpoint] += 1

    def snapshot(self) -> StatsSnapshot:
        """The counts so far, copied: a later delta counts what was sent since."""
        with self.lock:
            return StatsSnapshot(dict(self.requests), dict(self.retries))


@dataclass(frozen=True)
class StatsSnapshot:
    requests: dict[str, int]
    retries: dict[str, int]


@dataclass
class RunGuard:
    """What the requests of one worker run share, whichever session or service sends them.

    - ``stop``: once set, a retry wait wakes at once and raises ``ShutdownRequested``.
    - ``retry_budget``: the seconds of retry waiting the whole run may spend after failures
      (5xx answers, connection errors, timeouts); a retry whose wait does not fit in what is
      left is not made. None: no budget beyond each request's ``RetryPolicy``. Waits after a
      429 spend none of it: the service is up and paces its clients.
    - the services found unreachable (a circuit breaker): once a request to a service failed
      with a connection error or a 5xx after its retries, every later request of the run to
      that service raises ``ServiceDown`` with the same cause, without being sent.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    retry_budget: float | None = None
    spent: float = 0.0
    _down: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def spend(self, seconds: float) -> bool:
        """Take ``seconds`` of retry waiting from the budget; False, taking nothing, when
        they do not fit in what is left."""
        with self._lock:
            if self.retry_budget is not None and self.spent + seconds > self.retry_budget:
                return False
            self.spent += seconds
            return True

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, unless the worker is asked to stop first."""
        if self.stop.wait(seconds):
            raise ShutdownRequested("the worker is shutting down; a retry wait was cut short")

    def mark_down(self, service: str, cause: str) -> None:
        with self._lock:
            self._down.setdefault(service, cause)  # the first cause is the one to report

    def down(self, service: str) -> str | None:
        """Why ``service`` was found unreachable in this run, or None."""
        with self._lock:
            return self._down.get(service)


class RetryableAnswer(Exception):
    """A response whose status says "try again later"; carries it for the final return."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def endpoint_of(method: str, url: str) -> str:
    return f"{method.upper()} {_VARYING_SEGMENT.sub('/{id}', urlsplit(url).path)}"


def may_retry(method: str, url: str) -> bool:
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and bool(READ_ONLY_POSTS.search(urlsplit(url).path))


def server_time(response: requests.Response) -> datetime | None:
    """The HTTP Date header as an aware datetime, or None."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry_after_seconds(response: requests.Response, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds, from either of its two forms; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryingSession(requests.Session):
    def __init__(
        self,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        stats: RequestStats | None = None,
        guard: RunGuard | None = None,
        service: str = "the service",
    ) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.stats = stats or RequestStats()
        self.guard = guard
        self.service = service  # "Jira" or "Confluence": the guard's circuit is per service
        self.headers["User-Agent"] = f"restrat-sync/{__version__}"
        self._rng = random.Random()
        # The server's clock, from the Date header of the latest answer (whole seconds).
        self.last_server_time: datetime | None = None

    def request(  # type: ignore[override]  # same call shape as requests.Session.request
        self, method: str, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        url = url.decode() if isinstance(url, bytes) else url
        kwargs.setdefault("timeout", self.timeout)
        endpoint = endpoint_of(method, url)
        self._refuse_when_down()
        if not may_retry(method, url):
            return self._send(endpoint, method, url, *args, **kwargs)
        limits = stop_after_attempt(self.policy.max_attempts) | stop_after_delay(
            self.policy.max_total_seconds
        )
        retrying = Retrying(
            # The budget last: only a retry that the policy allows may spend it.
            stop=lambda state: limits(state) or self._over_budget(endpoint, state),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception_type(
                (RetryableAnswer, requests.ConnectionError, requests.Timeout)
            ),
            before_sleep=lambda state: self._note_retry(endpoint, state),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self._send(endpoint, method, url, *args, **kwargs)
                    if response.status_code in RETRY_STATUSES:
                        raise RetryableAnswer(response)
                    return response
        except RetryableAnswer as exhausted:
            if exhausted.response.status_code != RATE_LIMITED:
                self._mark_down(f"HTTP {exhausted.response.status_code}")
            return exhausted.response  # the caller reports the real error
        except (requests.ConnectionError, requests.Timeout) as failure:
            self._mark_down(type(failure).__name__)
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _refuse_when_down(self) -> None:
        cause = self.guard.down(self.service) if self.guard is not None else None
        if cause is not None:
            raise ServiceDown(
                f"{self.service} is unreachable ({cause}, found earlier in this run); "
                "not asked again until the next run"
            )

    def _mark_down(self, cause: str) -> None:
        if self.guard is not None:
            self.guard.mark_down(self.service, cause)

    def _over_budget(self, endpoint: str, state: RetryCallState) -> bool:
        """Whether the run's retry budget cannot pay for the coming wait (spending it if it
        can). Waits after a 429 are free."""
        if self.guard is None:
            return False
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableAnswer) and error.response.status_code == RATE_LIMITED:
            return False
        if self.guard.spend(state.upcoming_sleep):
            return False
        log.warning(
            "%s: %s; not retried: the run's retry budget of %.0f s is spent",
            endpoint,
            error,
            self.guard.retry_budget,
        )
        return True

    def _sleep(self, seconds: float) -> None:
        if self.guard is None:
            time.sleep(seconds)
        else:
            self.guard.wait(seconds)  # wakes, raising ShutdownRequested, when the worker stops

    def _send(
        self, endpoint: str, method: str, url: str, *args: Any, **kw: Any
    ) -> requests.Response:
        self.stats.record(self.stats.requests, endpoint)
        response = super().request(method, url, *args, **kw)
        self.last_server_time = server_time(response) or self.last_server_time
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableAnswer):
            told = retry_after_seconds(error.response)
            if told is not None:
                return min(told, self.policy.max_total_seconds)
        backoff = min(
            self.policy.initial_wait * 2.0 ** (state.attempt_number - 1), self.policy.max_wait
        )
        return float(backoff * (1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter)))

    def _note_retry(self, endpoint: str, state: RetryCallState) -> None:
        self.stats.record(self.stats.retries, endpoint)
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s; retry %d in %.1f s", endpoint, error, state.attempt_number, wait)


def create_session(
    policy: RetryPolicy | None = None,
    timeout: float = 60.0,
    stats: RequestStats | None = None,
    guard: RunGuard | None = None,
    service: str = "the service",
) -> RetryingSession:
    return RetryingSession(
        policy=policy, timeout=timeout, stats=stats, guard=guard, service=service
    )


# --- Redaction -----------------------------------------------------------------------------------

_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)?\s*[^\s'\",}]+")


class RedactingFilter(logging.Filter):
    """Blanks Authorization headers and every known secret in log records, whoever logs them."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) or "") + " [redacted]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
