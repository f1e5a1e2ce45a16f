"""Holds: a test instrument that stops one request at the door until a test lets it through.

A test that must kill a client at a precise moment (say, a sync at the start of one of its
phases) sets a hold for the request that starts that moment, waits until the request is held,
kills the client, then releases the hold. A hold matches on method, path and, for searches, the
JQL (regular expressions, searched); only the first matching request is held, later ones pass.
A held request waits at most ``timeout`` seconds, so a forgotten hold cannot wedge the server.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from restrat_sandbox.http_app import HttpError, Request

DEFAULT_TIMEOUT = 60.0


@dataclass
class Hold:
    id: str
    method: str | None  # None: any method
    path: re.Pattern[str]
    jql: re.Pattern[str] | None  # None: any request, search or not
    timeout: float
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if not self.path.search(request.path):
            return False
        return self.jql is None or self.jql.search(_jql_of(request)) is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path.pattern,
            "jql": None if self.jql is None else self.jql.pattern,
            "held": self.arrived.is_set() and not self.released.is_set(),
            "arrived": self.arrived.is_set(),
            "released": self.released.is_set(),
        }


class Holds:
    """The holds of one sandbox; thread-safe, as the server answers on many threads."""

    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, spec: Any) -> Hold:
        """A new hold from ``{"method"?, "path", "jql"?, "timeout"?}``; 400 when malformed."""
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            raise HttpError(400, {"errorMessages": ["a hold needs a 'path' pattern"]})
        try:
            hold = Hold(
                id=str(next(self._ids)),
                method=spec.get("method"),
                path=re.compile(spec["path"]),
                jql=re.compile(spec["jql"]) if spec.get("jql") is not None else None,
                timeout=float(spec.get("timeout", DEFAULT_TIMEOUT)),
            )
        except (re.error, TypeError, ValueError) as exc:
            raise HttpError(400, {"errorMessages": [f"bad hold: {exc}"]}) from exc
        with self._lock:
            self._holds[hold.id] = hold
        return hold

    def get(self, hold_id: str) -> Hold:
        with self._lock:
            hold = self._holds.get(hold_id)
        if hold is None:
            raise HttpError(404, {"errorMessages": [f"no hold {hold_id}"]})
        return hold

    def release(self, hold_id: str) -> None:
        self.get(hold_id).released.set()

    def release_all(self) -> None:
        with self._lock:
            holds = list(self._holds.values())
        for hold in holds:
            hold.released.set()

    def wait_if_held(self, request: Request) -> None:
        """Block ``request`` while it is the first one a hold matches, until released."""
        with self._lock:
            hold = next(
                (h for h in self._holds.values() if not h.arrived.is_set() and h.matches(request)),
                None,
            )
            if hold is not None:
                hold.arrived.set()
        if hold is not None:
            hold.released.wait(hold.timeout)


def _jql_of(request: Request) -> str:
    """The JQL a search carries in its query string or JSON body; empty for other requests."""
    jql = request.arg("jql")
    if jql is None and request.method == "POST" and request.body:
        try:
            body = request.json()
        except HttpError:
            return ""
        jql = body.get("jql") if isinstance(body, dict) else None
    return jql if isinstance(jql, str) else ""
