"""A tiny WSGI-free HTTP framework for the sandbox: requests, responses and a regex router.

The sandbox only needs path routing, JSON bodies and a few headers; the standard library's
threaded HTTP server carries it, so the sandbox adds no web framework to the project.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


class HttpError(Exception):
    """Raised by a route to answer with an error status and a JSON body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    path: str  # without the query string, percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route
    user: Any = None  # set by the authentication step

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            raise HttpError(400, {"errorMessages": ["No content to map due to end-of-input"]})
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, {"errorMessages": [f"Unexpected character: {exc}"]}) from exc


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes/str with an explicit content type
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str  # the endpoint label used in request statistics


class Router:
    """Maps (method, path) to a handler; ``{name}`` in a path template captures one segment."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(Route(method, re.compile(f"^{regex}/?$"), handler, template))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            match = route.pattern.match(path)
            if not match:
                continue
            if route.method == method:
                return route, match.groupdict()
            allowed = True
        if allowed:
            raise HttpError(405, {"message": "Method Not Allowed", "status-code": 405})
        raise HttpError(404, {"message": "HTTP 404 Not Found", "status-code": 404, "sub-code": -1})


def parse_query(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True)
