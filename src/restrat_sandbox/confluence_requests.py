"""Reading Confluence requests: JSON bodies, ``expand`` trees, paging and the caller.

Each helper refuses what Confluence refuses, with Confluence's status and message, by raising
``ConfluenceError``; the routes turn that into Confluence's error body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from restrat_sandbox.confluence_store import ConfluenceError, bad_request
from restrat_sandbox.http_app import Request
from restrat_sandbox.model import User
from restrat_sandbox.server import SandboxState

Json = dict[str, Any]
Expand = dict[str, "Expand"]

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
_FALLBACK_USER = User("557058:sandbox", "sandbox", "Sandbox User", "sandbox@example.com", "UTC")


def caller(state: SandboxState) -> User:
    """The authenticated user; a portfolio without users still gets a stable author."""
    try:
        return state.caller()
    except StopIteration:
        return _FALLBACK_USER


def parse_expand(raw: str | None) -> Expand:
    """``"a.b,c"`` -> ``{"a": {"b": {}}, "c": {}}``."""
    tree: Expand = {}
    for part in (raw or "").split(","):
        node = tree
        for name in part.strip().split("."):
            if name:
                node = node.setdefault(name, {})
    return tree


def json_body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as err:
        raise bad_request(f"Unable to parse the request body as JSON: {err}") from err


def json_object(request: Request) -> Json:
    media = request.headers.get("content-type", "application/json")
    if "json" not in media.lower():
        # Jersey refuses the body before the resource runs, e.g. a multipart PUT on content.
        raise ConfluenceError(415, f"Unsupported Media Type: {media.split(';')[0]}")
    body = json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def paging(request: Request) -> tuple[int, int]:
    try:
        start = max(0, int(request.arg("start") or 0))
        limit = min(MAX_LIMIT, max(0, int(request.arg("limit") or DEFAULT_LIMIT)))
    except ValueError as err:
        raise bad_request(f"Invalid paging parameter: {err}") from err
    return start, limit


def storage_of(data: Json) -> str | None:
    """The storage value of a create/update body; other representations are refused."""
    body = data.get("body")
    if body is None:
        return None
    storage = body.get("storage") if isinstance(body, dict) else None
    if not isinstance(storage, dict):
        kinds = ", ".join(sorted(body)) if isinstance(body, dict) else type(body).__name__
        raise bad_request(f"Unsupported content body representation: {kinds}")
    if storage.get("representation", "storage") != "storage":
        raise bad_request(f"Unsupported representation: {storage.get('representation')}")
    value = storage.get("value", "")
    if not isinstance(value, str):
        raise bad_request("body.storage.value must be a string.")
    return value


def parent_of(data: Json) -> str | None:
    """The parent id from ``ancestors``; the last one is the direct parent."""
    ancestors = data.get("ancestors")
    if not ancestors:
        return None
    if not isinstance(ancestors, list) or not isinstance(ancestors[-1], dict):
        raise bad_request("ancestors must be a list of objects with an id.")
    parent = ancestors[-1].get("id")
    return None if parent is None else str(parent)


def version_number(data: Json) -> int | None:
    version = data.get("version")
    number = version.get("number") if isinstance(version, dict) else None
    if number is None or isinstance(number, bool):
        return None
    try:
        return int(number)
    except (TypeError, ValueError) as err:
        raise bad_request(f"Invalid version number: {number!r}") from err


def as_dict(value: Any) -> Json:
    """``value`` if it is a JSON object, else an empty one (for optional sub-objects)."""
    return value if isinstance(value, dict) else {}


def query_string(request: Request, start: int | None = None) -> str:
    """The request's query string with ``start`` replaced (or dropped), for paging links."""
    pairs = [(k, v) for k, values in request.query.items() for v in values if k != "start"]
    if start is not None:
        pairs.append(("start", str(start)))
    return urlencode(pairs)
