"""The sandbox server: Jira at ``/`` and Confluence at ``/wiki`` on one loopback port.

Around the routes sit the behaviours of a real Atlassian site that a client must survive:
authentication (401 like Jira), latency, rate limiting (429 with ``Retry-After`` and the
``X-RateLimit-*`` headers) and random 503s. ``/_sandbox/`` holds the admin endpoints that tests
and benchmarks use: request statistics, a data reset, and holds (``holds.py``: stop the first
request that matches until a test releases it).
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from restrat_sandbox.holds import Holds
from restrat_sandbox.http_app import HttpError, Request, Response, Router, parse_query
from restrat_sandbox.model import Portfolio, User

log = logging.getLogger(__name__)

DEFAULT_USER = "sandbox@example.com"
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - a well-known test credential, printed at start
FLAVORS = ("cloud", "datacenter")
# Human-facing HTML views (the rendered Confluence pages). Real Confluence puts them behind a
# login form, not REST auth; the sandbox serves them openly on loopback so a browser (and the
# demo's preview) can show them. The REST API is never exempt.
PUBLIC_VIEW_PREFIX = "/wiki/spaces/"


@dataclass
class SandboxOptions:
    flavor: str = "cloud"
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    user: str = DEFAULT_USER
    token: str = DEFAULT_TOKEN
    latency_ms: float = 0.0
    rate_limit: float = 0.0  # requests per second; 0 = unlimited
    fault_rate: float = 0.0  # fraction of requests answered 503
    seed: int = 7


class RateLimiter:
    """A token bucket of one second's capacity, like Jira's per-user cost budget."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.tokens = per_second
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is free."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.per_second, self.tokens + (now - self.stamp) * self.per_second)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.per_second


@dataclass
class SandboxState:
    """Everything the routes share. Route modules receive it explicitly; there is no global."""

    options: SandboxOptions
    portfolio: Portfolio
    reset_portfolio: Callable[[], Portfolio]
    base_url: str = ""
    stats: Counter[str] = field(default_factory=Counter)
    # Confluence writes per page title, then per route: what a test needs to tell which pages
    # a publish wrote (the route counts above fold every page id into ``{id}``).
    page_writes: dict[str, Counter[str]] = field(default_factory=dict)
    stats_lock: threading.Lock = field(default_factory=threading.Lock)
    extras: dict[str, Any] = field(default_factory=dict)  # per-product state, e.g. Confluence

    @property
    def flavor(self) -> str:
        return self.options.flavor

    def caller(self) -> User:
        """The one user the sandbox authenticates: the first in the portfolio's catalogue."""
        return next(iter(self.portfolio.users.values()))

    def count(self, label: str) -> None:
        with self.stats_lock:
            self.stats[label] += 1

    def count_page_write(self, title: str, label: str) -> None:
        with self.stats_lock:
            self.page_writes.setdefault(title, Counter())[label] += 1


RouteInstaller = Callable[[Router, SandboxState], None]


class SandboxApp:
    """Dispatches one request through auth, knobs and the router; the HTTP server calls it."""

    def __init__(self, state: SandboxState, installers: list[RouteInstaller]) -> None:
        self.state = state
        self.router = Router()
        self.holds = Holds()
        self._rng = random.Random(state.options.seed)
        self._rng_lock = threading.Lock()
        self._limiter = (
            RateLimiter(state.options.rate_limit) if state.options.rate_limit > 0 else None
        )
        self._install_admin_routes()
        for install in installers:
            install(self.router, state)

    def handle(self, request: Request) -> Response:
        try:
            route, params = self.router.resolve(request.method, request.path)
        except HttpError as err:
            return Response(err.status, err.body, err.headers)
        request.params = {k: unquote(v) for k, v in params.items()}
        request.path = unquote(request.path)
        admin = route.name.startswith("/_sandbox/")
        if not admin:
            self.state.count(f"{request.method} {route.name}")
            public = request.method == "GET" and route.name.startswith(PUBLIC_VIEW_PREFIX)
            refusal = None if public else self._refusal(request)
            if refusal is not None:
                return refusal
            self.holds.wait_if_held(request)
        try:
            return route.handler(request)
        except HttpError as err:
            return Response(err.status, err.body, err.headers)

    def _refusal(self, request: Request) -> Response | None:
        """Answer 401/429/503 the way the real services do, or None to let the request in."""
        options = self.state.options
        if options.latency_ms > 0:
            time.sleep(options.latency_ms / 1000)
        if not self._authenticated(request):
            self.state.count("401")
            return Response(401, _unauthorised_body(request.path))
        if self._limiter is not None:
            wait = self._limiter.take()
            if wait > 0:
                self.state.count("429")
                return _rate_limited(wait, options.rate_limit)
        with self._rng_lock:
            fault = options.fault_rate > 0 and self._rng.random() < options.fault_rate
        if fault:
            self.state.count("503")
            return Response(
                503,
                {"errorMessages": ["Service temporarily unavailable. Please retry."]},
                {"Retry-After": "1"},
            )
        return None

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        options = self.state.options
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value == options.token
        if scheme.lower() == "basic":
            try:
                user, _, token = base64.b64decode(value).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return user == options.user and token == options.token
        return False

    def _install_admin_routes(self) -> None:
        def stats(_: Request) -> Response:
            with self.state.stats_lock:
                counts = dict(self.state.stats)
                pages = {title: dict(n) for title, n in self.state.page_writes.items()}
            return Response(
                200,
                {
                    "requests": counts,
                    "total": sum(n for label, n in counts.items() if " " in label),
                    "page_writes": pages,
                },
            )

        def reset_stats(_: Request) -> Response:
            with self.state.stats_lock:
                self.state.stats.clear()
                self.state.page_writes.clear()
            return Response(204)

        def reset(_: Request) -> Response:
            fresh = self.state.reset_portfolio()
            with self.state.portfolio.lock:
                self.state.portfolio = fresh
            for on_reset in self.state.extras.get("on_reset", []):
                on_reset()
            self.holds.release_all()
            return Response(204)

        self.router.add("GET", "/_sandbox/stats", stats)
        self.router.add("DELETE", "/_sandbox/stats", reset_stats)
        self.router.add("POST", "/_sandbox/reset", reset)
        self._install_hold_routes()

    def _install_hold_routes(self) -> None:
        def add(request: Request) -> Response:
            return Response(201, self.holds.add(request.json()).as_json())

        def show(request: Request) -> Response:
            return Response(200, self.holds.get(request.params["id"]).as_json())

        def release(request: Request) -> Response:
            self.holds.release(request.params["id"])
            return Response(204)

        self.router.add("POST", "/_sandbox/holds", add)
        self.router.add("GET", "/_sandbox/holds/{id}", show)
        self.router.add("DELETE", "/_sandbox/holds/{id}", release)


def _unauthorised_body(path: str) -> Any:
    if path.startswith("/wiki"):
        return {
            "statusCode": 401,
            "message": "This request requires authentication.",
            "reason": "Unauthorized",
        }
    return {
        "errorMessages": [
            "You are not authenticated. Authentication required to perform this operation."
        ],
        "errors": {},
    }


def _rate_limited(wait: float, per_second: float) -> Response:
    retry_after = max(1, round(wait + 0.5))
    reset_at = datetime.now(UTC) + timedelta(seconds=retry_after)
    headers = {
        "Retry-After": str(retry_after),
        "X-RateLimit-Limit": str(int(per_second)),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset_at.strftime("%Y-%m-%dT%H:%MZ"),
        "X-RateLimit-NearLimit": "true",
        "RateLimit-Reason": "jira-burst-based",
    }
    return Response(429, {"errorMessages": ["Rate limit exceeded."]}, headers)


def _make_handler(app: SandboxApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "restrat-sandbox"
        # Headers and body go out in separate writes; with Nagle on, each keep-alive request
        # would wait ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,  # still percent-encoded; the router decodes each segment once
                query=parse_query(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = app.handle(request)
            except Exception:  # a sandbox bug must answer 500, as a real server would
                log.exception("sandbox error on %s %s", self.command, self.path)
                response = Response(500, {"errorMessages": ["Internal server error"]})
            try:
                self._answer(response)
            except (BrokenPipeError, ConnectionResetError):
                # The client went away (a test killed it during a hold): nothing to answer.
                self.close_connection = True

        def _answer(self, response: Response) -> None:
            payload = response.encoded()
            self.send_response(response.status)
            if response.body is not None:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s - %s", self.address_string(), format % args)

    return Handler


class SandboxServer:
    """A running sandbox. Use as a context manager, or call ``start()`` and ``stop()``."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        options = app.state.options
        self._httpd = ThreadingHTTPServer((options.host, options.port), _make_handler(app))
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        app.state.base_url = f"http://{host_text}:{port}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The Jira base URL; Confluence lives at ``url + '/wiki'``."""
        return self.app.state.base_url

    @property
    def state(self) -> SandboxState:
        return self.app.state

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="restrat-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
