"""Confluence over the v1 content API (the v2 API cannot write labels or attachments).

atlassian-python-api switches to a v2 client on Cloud URLs unless it is built with the ``/wiki``
URL and ``cloud=False``; see ``../shared/atlassian-api.md``. Every path here is relative
(``rest/api/...``) to that base URL, so the same code reaches ``/wiki/rest/api/...`` on Cloud
and ``/rest/api/...`` (below any context path) on Data Center.

The library is used only for its ``request``: its page helpers do not fit (in 5.x
``get_page_by_title`` answers the raw ``{"results": [...]}`` on this path, ``update_page``
compares bodies by string equality, which Confluence's re-serialised storage always fails, and
``attach_content`` re-uploads with a multipart PUT that Confluence refuses). Answers are mapped
to the exceptions below; messages name the page and never carry request headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from atlassian import Confluence

from restrat_sync.errors import ConfigError, ConnectionProblem, CredentialsRejected, RestratError
from restrat_sync.http import RetryingSession
from restrat_sync.settings import Credentials

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
_MESSAGE_LIMIT = 300  # characters of Confluence's own message kept in ours


class ConfluenceRefused(RestratError):
    """Confluence answered an error to a request about one page (or the space)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class VersionConflict(ConfluenceRefused):
    """409 to an update: the page's version moved on since it was read."""


@dataclass(frozen=True, slots=True)
class RemotePage:
    """What the publisher needs to know about a page in Confluence."""

    id: str
    title: str
    version: int
    labels: tuple[str, ...]  # label names, as Confluence stores them (lower case)
    parent_id: str | None  # None when ancestors were not read, or at the space's top level
    property_value: Any = None  # the value of the content property asked for, if present
    property_version: int | None = None


class ConfluenceGateway:
    def __init__(self, url: str, client: Confluence, unset_token: str | None = None) -> None:
        self.url = url
        self.client = client
        self.unset_token = unset_token  # what to say on a refusal when no token is set
        # Requests sent through this gateway (not counting the HTTP layer's 429/503 retries).
        self.reads = 0
        self.writes = 0

    def space(self, key: str) -> dict[str, Any] | None:
        """The space, or None when it does not exist (or is not visible to this user).

        A 404 is only "no such space" when the server is Confluence; whatever else answers
        (Jira, a web server, a base URL without ``/wiki``) raises ConnectionProblem with the
        URL to check."""
        where = f"GET rest/api/space/{key}"
        response = self._request("GET", f"rest/api/space/{key}")
        if response.status_code == 404:
            if self._answers_like_confluence():
                return None
            raise ConnectionProblem(not_confluence(self.url, f"404 to {where}"))
        answer = _json_of(_answer_checked(response, where))
        if not isinstance(answer, dict) or "key" not in answer:
            raise ConnectionProblem(not_confluence(self.url, f"{where} is not a space"))
        return answer

    def _answers_like_confluence(self) -> bool:
        """Whether the server lists spaces the way Confluence does: ``{"results": [...]}``."""
        response = self._request("GET", "rest/api/space", params={"limit": 1})
        answer = _json_of(response) if response.status_code == 200 else None
        return isinstance(answer, dict) and isinstance(answer.get("results"), list)

    def space_home_id(self, key: str) -> str:
        """The id of the space's home page."""
        response = self._request("GET", f"rest/api/space/{key}", params={"expand": "homepage"})
        if response.status_code == 404:
            raise ConfluenceRefused(f"Confluence has no space {key} (or it is not visible)", 404)
        home = _page_answer(response, f"space {key}", "GET space").get("homepage")
        if not isinstance(home, dict) or "id" not in home:
            raise ConfluenceRefused(f"Confluence space {key} has no home page", 404)
        return str(home["id"])

    def find_page(self, space: str, title: str, property_key: str) -> RemotePage | None:
        """The current page titled ``title`` in ``space`` with its version, labels, parent and
        the content property ``property_key``; None when there is none."""
        params = {
            "spaceKey": space,
            "title": title,
            "type": "page",
            "status": "current",
            "expand": _expand(property_key),
        }
        response = self._request("GET", "rest/api/content", params=params)
        if response.status_code == 404:  # the space itself is missing
            raise ConfluenceRefused(f"Confluence has no space {space} (looking for '{title}')", 404)
        results = _page_answer(response, f"'{title}'", "GET content").get("results") or []
        # The title lookup ignores case; prefer the exact title when both exist.
        exact = [r for r in results if r.get("title") == title]
        return _remote_page((exact or results)[0], property_key) if results else None

    def get_page(self, page_id: str, property_key: str, title: str) -> RemotePage | None:
        """The page with this id (as ``find_page`` reads it), or None when it is gone."""
        path = f"rest/api/content/{page_id}"
        response = self._request("GET", path, params={"expand": _expand(property_key)})
        if response.status_code == 404:
            return None
        return _remote_page(_page_answer(response, f"'{title}'", f"GET {path}"), property_key)

    def create_page(self, space: str, title: str, body: str, parent_id: str) -> RemotePage:
        """Create a page under ``parent_id``; it starts at version 1."""
        data = {
            "type": "page",
            "title": title,
            "space": {"key": space},
            "ancestors": [{"id": parent_id}],
            "body": {"storage": {"value": body, "representation": "storage"}},
        }
        response = self._request("POST", "rest/api/content", data=data)
        created = _page_answer(response, f"'{title}'", "POST content")
        return RemotePage(str(created["id"]), title, 1, (), parent_id)

    def update_page(self, page_id: str, title: str, body: str, parent_id: str, version: int) -> int:
        """Replace title, body and parent; ``version`` must be the current number + 1.

        Raises VersionConflict on 409. Sent as a minor edit: a dashboard refresh should not
        notify every watcher."""
        data = {
            "id": page_id,
            "type": "page",
            "title": title,
            "ancestors": [{"id": parent_id}],
            "body": {"storage": {"value": body, "representation": "storage"}},
            "version": {"number": version, "minorEdit": True, "message": "restrat-sync"},
        }
        path = f"rest/api/content/{page_id}"
        response = self._request("PUT", path, data=data)
        answer = _page_answer(response, f"'{title}'", f"PUT {path} (version {version})")
        return int((answer.get("version") or {}).get("number") or version)

    def add_labels(self, page_id: str, labels: list[str], title: str) -> None:
        """Add global labels (existing labels stay)."""
        path = f"rest/api/content/{page_id}/label"
        data = [{"prefix": "global", "name": name} for name in labels]
        _page_answer(self._request("POST", path, data=data), f"'{title}'", f"POST {path}")

    def set_property(
        self, page_id: str, key: str, value: dict[str, Any], known: int | None, title: str
    ) -> None:
        """Create or update a content property; ``known`` is its current version (None when
        there is none). A 409 (the version moved on) re-reads it and tries once more."""
        path = f"rest/api/content/{page_id}/property/{key}"
        try:
            self._put_property(path, key, value, (known or 0) + 1, title)
        except VersionConflict:
            response = self._request("GET", path)
            current = 0 if response.status_code == 404 else _version_of(response, title, path)
            self._put_property(path, key, value, current + 1, title)

    def _put_property(
        self, path: str, key: str, value: dict[str, Any], number: int, title: str
    ) -> None:
        # Version 1 creates a missing property (documented for PUT content/{id}/property/{key}).
        data = {"key": key, "value": value, "version": {"number": number, "minorEdit": True}}
        _page_answer(self._request("PUT", path, data=data), f"'{title}'", f"PUT {path}")

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if method in WRITE_METHODS:
            self.writes += 1
        else:
            self.reads += 1
        try:
            response = self.client.request(method, path, advanced_mode=True, **kwargs)
        except requests.RequestException as exc:
            raise ConnectionProblem(
                f"Confluence at {self.url} is unreachable: {type(exc).__name__}"
            ) from None
        if response.status_code in (401, 403) and self.unset_token:
            raise CredentialsRejected(self.unset_token)
        return response


def _expand(property_key: str) -> str:
    return f"version,ancestors,metadata.labels,metadata.properties.{property_key}"


def _remote_page(content: dict[str, Any], property_key: str) -> RemotePage:
    metadata = content.get("metadata") or {}
    labels = ((metadata.get("labels") or {}).get("results")) or []
    prop = (metadata.get("properties") or {}).get(property_key)
    ancestors = content.get("ancestors") or []
    return RemotePage(
        id=str(content["id"]),
        title=str(content.get("title", "")),
        version=int((content.get("version") or {}).get("number") or 1),
        labels=tuple(str(label.get("name", "")) for label in labels),
        parent_id=str(ancestors[-1]["id"]) if ancestors else None,
        property_value=prop.get("value") if isinstance(prop, dict) else None,
        property_version=_number(prop),
    )


def _number(prop: Any) -> int | None:
    if not isinstance(prop, dict):
        return None
    number = (prop.get("version") or {}).get("number")
    return int(number) if number is not None else None


def _version_of(response: requests.Response, title: str, where: str) -> int:
    return _number(_page_answer(response, f"'{title}'", f"GET {where}")) or 0


def _page_answer(response: requests.Response, page: str, where: str) -> dict[str, Any]:
    """The JSON object of a successful answer; otherwise the matching exception, whose
    message names the page, the request and Confluence's own explanation."""
    status = response.status_code
    if status == 401:
        raise CredentialsRejected(
            f"Confluence refused the credentials (401 to {where} for page {page}); check "
            "RESTRAT_CONFLUENCE_USER and RESTRAT_CONFLUENCE_TOKEN"
        )
    if status >= 400:
        kind = VersionConflict if status == 409 else ConfluenceRefused
        detail = _confluence_message(response)
        raise kind(f"Confluence answered {status} to {where} for page {page}{detail}", status)
    try:
        answer = response.json()
    except ValueError:
        raise ConfluenceRefused(
            f"Confluence answered {where} for page {page} with something other than JSON",
            status,
        ) from None
    return answer if isinstance(answer, dict) else {"results": answer}


def _confluence_message(response: requests.Response) -> str:
    """``: <message>`` from Confluence's error body, without its exception class name."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        return ""
    message = message.split("Exception: ", 1)[-1]
    if len(message) > _MESSAGE_LIMIT:
        message = message[:_MESSAGE_LIMIT] + "…"
    return f": {message}"


def _answer_checked(response: requests.Response, where: str) -> requests.Response:
    """``response`` when it is a success; otherwise the matching exception."""
    if response.status_code in (401, 403):
        raise CredentialsRejected(
            f"Confluence refused the credentials ({response.status_code} to {where}); check "
            "RESTRAT_CONFLUENCE_USER and RESTRAT_CONFLUENCE_TOKEN"
        )
    if response.status_code >= 400:
        raise RestratError(f"Confluence answered {response.status_code} to {where}")
    return response


def _json_of(response: requests.Response) -> Any:
    """The JSON body, or None when there is none (an HTML page, say)."""
    try:
        return response.json()
    except ValueError:
        return None


def not_confluence(url: str, what: str) -> str:
    """The message for a base URL at which no Confluence answers, with the likely fix."""
    fix = (
        "it is the address Confluence's pages are under: https://acme.atlassian.net/wiki on "
        "Cloud, the address you open Confluence at on Data Center"
    )
    if not urlsplit(url).path.rstrip("/").endswith("/wiki"):
        fix = f"is /wiki missing? Cloud serves Confluence under /wiki: try {url.rstrip('/')}/wiki"
    return (
        f"{url} does not answer like Confluence ({what}): check RESTRAT_CONFLUENCE_URL (or "
        f"confluence.url); {fix}"
    )


def cloud_url_without_wiki(url: str) -> str | None:
    """The Confluence URL to use instead of ``url``: a Confluence Cloud site
    (``*.atlassian.net``) always lives under ``/wiki``. None when ``url`` is fine."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host.endswith(".atlassian.net") or parts.path.rstrip("/").endswith("/wiki"):
        return None
    return f"{parts.scheme}://{parts.netloc}/wiki"


def connect_confluence(
    url: str, credentials: Credentials, session: RetryingSession
) -> ConfluenceGateway:
    """A gateway for the Confluence at ``url``; a Cloud URL without ``/wiki`` is a ConfigError
    naming the URL to use."""
    wiki = cloud_url_without_wiki(url)
    if wiki is not None:
        raise ConfigError(
            [
                f"RESTRAT_CONFLUENCE_URL (or confluence.url) is {url}, but Confluence Cloud "
                f"lives under /wiki: set it to {wiki}"
            ]
        )
    # v1 methods need cloud=False even on Cloud; the library's own retries stay off.
    client = Confluence(  # type: ignore[no-untyped-call]
        url=url,
        session=session,
        cloud=False,
        backoff_and_retry=False,
        retry_with_header=False,
        **credentials.library_auth(),
    )
    return ConfluenceGateway(url, client, credentials.unset_token("Confluence"))
