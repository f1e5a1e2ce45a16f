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
"""

from __future__ import annotations

import logging
import random
import re
import threading
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

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
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
    ) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.stats = stats or RequestStats()
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
        if not may_retry(method, url):
            return self._send(endpoint, method, url, *args, **kwargs)
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts)
            | stop_after_delay(self.policy.max_total_seconds),
            wait=self._wait,
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
            return exhausted.response  # the caller reports the real error
        raise AssertionError("unreachable: tenacity either returns or re-raises")

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
    policy: RetryPolicy | None = None, timeout: float = 60.0, stats: RequestStats | None = None
) -> RetryingSession:
    return RetryingSession(policy=policy, timeout=timeout, stats=stats)


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
