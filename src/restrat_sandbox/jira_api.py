"""The sandbox's Jira REST API, Cloud or Data Center, with the quirks clients must survive.

Cloud serves ``/rest/api/2`` and ``/rest/api/3``: cursor search (``/search/jql``), a legacy
``/search`` that answers 410, truncated embedded changelogs, bulk changelog fetch and JQL parse.
Data Center serves only ``/rest/api/2``: offset search with ``total`` and full changelogs; the
Cloud-only routes are simply not installed, so the router answers Jira's own 404 for them.
Every handler reads ``state.portfolio`` afresh, because ``/_sandbox/reset`` replaces it.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from restrat_sandbox import jira_writes
from restrat_sandbox.http_app import HttpError, Request, Response, Router
from restrat_sandbox.jira_render import (
    CLOUD_ISSUE_CHANGELOG,
    CLOUD_SEARCH_CHANGELOG,
    DC_CHANGELOG,
    ChangelogPolicy,
    IssueRenderer,
    field_catalogue,
    field_names,
    select_fields,
    split_fields,
)
from restrat_sandbox.jql import (
    JqlContext,
    JqlError,
    parse_jql,
    search,
    validate_fields,
)
from restrat_sandbox.model import History, Issue, Portfolio
from restrat_sandbox.server import SandboxState
from restrat_sandbox.timefmt import format_jira_datetime

Json = dict[str, Any]
ApiHandler = Callable[[Request, str], Response]

UNBOUNDED_JQL = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
STALE_PAGE_CURSOR = "The provided next page token is invalid or expired."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
CLOUD_MAX_RESULTS = 5000
# Jira returns fewer issues than maxResults once fields are requested; 100 is its usual ceiling.
CLOUD_FIELDS_PAGE = 100
DC_MAX_RESULTS = 1000  # Data Center's jira.search.views.default.max
CHANGELOG_PAGE = 100
BULK_MAX_KEYS, BULK_MAX_FIELDS, BULK_MAX_RESULTS = 1000, 10, 10000
# serverInfo beyond baseUrl and serverTime; deploymentType is how clients tell the flavours apart.
CLOUD_SERVER = {
    "version": "1001.0.0-SNAPSHOT",
    "versionNumbers": [1001, 0, 0],
    "deploymentType": "Cloud",
    "buildNumber": 100289,
    "buildDate": "2025-11-01T00:00:00.000+0000",
    "scmInfo": "0f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4",
    "serverTitle": "Jira (restrat sandbox)",
}
DC_SERVER = {
    "version": "9.12.15",
    "versionNumbers": [9, 12, 15],
    "deploymentType": "DataCenter",
    "buildNumber": 9120015,
    "buildDate": "2024-10-01T00:00:00.000+0000",
    "scmInfo": "5c8e4b2a0d1f3e6a7b9c8d0e1f2a3b4c5d6e7f80",
    "serverTitle": "Jira (restrat sandbox)",
}


def install_jira_routes(router: Router, state: SandboxState) -> None:
    """Install the routes of ``state.flavor``'s Jira on ``router``."""
    api = JiraApi(state)
    on_reset = state.extras.setdefault("on_reset", [])
    on_reset.extend([api.page_tokens.clear, api.dc_results.clear])
    cloud = state.flavor == "cloud"
    for version in ("2", "3") if cloud else ("2",):
        api.install_common(router, version)
        if cloud:
            api.install_cloud(router, version)
        else:
            api.install_datacenter(router, version)


def jira_error(status: int, *messages: str) -> HttpError:
    """Jira's usual error body: ``{"errorMessages": [...], "errors": {}}``."""
    return HttpError(status, {"errorMessages": list(messages), "errors": {}})


class ResultCache:
    """Matched issue keys per search, so paging a 100k result does not re-run the query.

    The least recently used entries are dropped beyond ``size`` entries or ``budget`` keys in
    all; an entry expires ``ttl`` seconds after it was stored or, when ``sliding``, last read.
    """

    def __init__(self, size: int, ttl: float, sliding: bool, budget: int = 2_000_000) -> None:
        self.size, self.ttl, self.sliding, self.budget = size, ttl, sliding, budget
        self._entries: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self._held = 0  # keys held over all entries
        self._lock = threading.Lock()

    def get(self, key: str) -> list[str] | None:
        with self._lock:
            entry = self._entries.get(key)
            now = time.monotonic()
            if entry is None or now - entry[0] > self.ttl:
                self._drop(key)
                return None
            if self.sliding:
                self._entries[key] = (now, entry[1])
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, keys: list[str]) -> None:
        with self._lock:
            self._drop(key)
            self._entries[key] = (time.monotonic(), keys)
            self._held += len(keys)
            while len(self._entries) > 1 and (
                len(self._entries) > self.size or self._held > self.budget
            ):
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._held -= len(entry[1])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0


# --- request argument parsing -------------------------------------------------------------------


def _int_arg(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise jira_error(400, f"The value '{raw}' for '{name}' is not a valid integer.")
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise jira_error(400, f"The value '{raw}' for '{name}' is not a valid integer.") from exc


def _expand(raw: Any) -> set[str]:
    """``expand`` is a comma string, even in POST bodies; tolerate a list too."""
    if isinstance(raw, list):
        raw = ",".join(str(part) for part in raw)
    return {part.strip() for part in str(raw or "").split(",") if part.strip()}


@dataclass(frozen=True, slots=True)
class SearchArgs:
    jql: str
    token: str | None
    start_at: int
    max_results: int | None
    fields: list[str]
    expand: set[str]  # validateQuery, properties, fieldsByKeys... are accepted and ignored


def search_args(request: Request) -> SearchArgs:
    """The search parameters of a GET (query string) or POST (JSON body) search."""
    if request.method == "POST":
        body = request.json()
        if not isinstance(body, dict):
            raise jira_error(400, "Can not deserialize the request body.")
        raw_fields = body.get("fields") or []
        fields = split_fields(raw_fields if isinstance(raw_fields, list) else [str(raw_fields)])
        get: Callable[[str], Any] = body.get
    else:
        fields = split_fields(request.query.get("fields", []))
        get = request.arg
    max_raw = get("maxResults")
    return SearchArgs(
        jql=str(get("jql") or ""),
        token=get("nextPageToken") or None,
        start_at=max(0, _int_arg(get("startAt"), "startAt", 0)),
        max_results=None if max_raw in (None, "") else _int_arg(max_raw, "maxResults", 0),
        fields=fields,
        expand=_expand(get("expand")),
    )


# --- page tokens --------------------------------------------------------------------------------


def encode_token(query_id: str, offset: int) -> str:
    """An opaque page token: the cached query's id and the next offset."""
    return base64.urlsafe_b64encode(f"{query_id}:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        query_id, _, offset = base64.urlsafe_b64decode(padded).decode().partition(":")
        return query_id, int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise jira_error(400, STALE_PAGE_CURSOR) from exc


# --- the API ------------------------------------------------------------------------------------


class JiraApi:
    """Route handlers; one instance per sandbox, holding its result cache and renderers."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.cloud = state.flavor == "cloud"
        # Cloud page tokens: Jira's live 7 days; an hour after the last page read is plenty
        # for a sync, however long the result.
        self.page_tokens = ResultCache(size=256, ttl=3600.0, sliding=True)
        # Data Center re-runs the query per page; a short-lived cache keeps paging a large
        # result linear while relative dates (-1d) still move on.
        self.dc_results = ResultCache(size=32, ttl=60.0, sliding=False)
        self.generation = 0  # bumped by every write; part of the Data Center cache key
        self._renderers: dict[tuple[int, str], tuple[Portfolio, IssueRenderer]] = {}
        self._renderers_lock = threading.Lock()
        self._workflows: jira_writes.Workflows | None = None

    # installation

    def _add(self, router: Router, method: str, version: str, path: str, fn: ApiHandler) -> None:
        router.add(method, f"/rest/api/{version}{path}", lambda request: fn(request, version))

    def install_common(self, router: Router, version: str) -> None:
        add = self._add
        add(router, "GET", version, "/serverInfo", self.server_info)
        add(router, "GET", version, "/myself", self.myself)
        add(router, "GET", version, "/field", self.fields)
        add(router, "GET", version, "/status", self.statuses)
        add(router, "GET", version, "/issuetype", self.issue_types)
        add(router, "GET", version, "/issueLinkType", self.issue_link_types)
        add(router, "GET", version, "/issue/{issueIdOrKey}", self.get_issue)
        add(router, "PUT", version, "/issue/{issueIdOrKey}", self.edit_issue)
        add(router, "DELETE", version, "/issue/{issueIdOrKey}", self.delete_issue)
        add(router, "POST", version, "/issue", self.create_issue)
        add(router, "GET", version, "/issue/{issueIdOrKey}/transitions", self.get_transitions)
        add(router, "POST", version, "/issue/{issueIdOrKey}/transitions", self.do_transition)

    def install_cloud(self, router: Router, version: str) -> None:
        add = self._add
        for method in ("GET", "POST"):
            add(router, method, version, "/search/jql", self.search_jql)
            add(router, method, version, "/search", self.search_removed)
        add(router, "POST", version, "/search/approximate-count", self.approximate_count)
        add(router, "GET", version, "/issue/{issueIdOrKey}/changelog", self.issue_changelog)
        add(router, "POST", version, "/changelog/bulkfetch", self.bulk_changelog)
        add(router, "POST", version, "/jql/parse", self.parse_jql)

    def install_datacenter(self, router: Router, version: str) -> None:
        for method in ("GET", "POST"):
            self._add(router, method, version, "/search", self.search_legacy)

    # shared helpers

    def renderer(self, portfolio: Portfolio, version: str) -> IssueRenderer:
        """A renderer with catalogue fragments prebuilt; rebuilt when the portfolio changes."""
        key = (id(portfolio), version)
        with self._renderers_lock:
            cached = self._renderers.get(key)
            if (
                cached is None
                or cached[0] is not portfolio
                or cached[1].root != self._root(version)
            ):
                self._renderers = {k: v for k, v in self._renderers.items() if v[0] is portfolio}
                cached = (
                    portfolio,
                    IssueRenderer(portfolio, self.state.flavor, version, self.state.base_url),
                )
                self._renderers[key] = cached
            return cached[1]

    def workflows(self, portfolio: Portfolio) -> jira_writes.Workflows:
        """The learnt workflows of ``portfolio``; callers hold its lock."""
        if self._workflows is None or self._workflows.portfolio is not portfolio:
            self._workflows = jira_writes.Workflows(portfolio)
        return self._workflows

    def _root(self, version: str) -> str:
        return f"{self.state.base_url}/rest/api/{version}"

    def _context(self, portfolio: Portfolio) -> JqlContext:
        caller = next(iter(portfolio.users.values()))
        return JqlContext(portfolio, caller, datetime.now(UTC), flavor=self.state.flavor)

    def _issue(self, portfolio: Portfolio, request: Request) -> Issue:
        issue = portfolio.find_issue(request.params["issueIdOrKey"])
        if issue is None:
            raise jira_error(404, ISSUE_NOT_FOUND)
        return issue

    def _run(self, portfolio: Portfolio, jql: str, bounded: bool) -> list[str]:
        """The keys ``jql`` matches, in its order. Callers hold the portfolio lock."""
        try:
            if bounded and not parse_jql(jql).is_bounded:
                raise jira_error(400, UNBOUNDED_JQL)
            return [issue.key for issue in search(self._context(portfolio), jql)]
        except JqlError as err:
            raise jira_error(400, *err.messages) from err

    # catalogue endpoints

    def server_info(self, _: Request, version: str) -> Response:
        now = format_jira_datetime(datetime.now(UTC), "UTC")
        about = CLOUD_SERVER if self.cloud else DC_SERVER
        return Response(200, {"baseUrl": self.state.base_url, **about, "serverTime": now})

    def myself(self, _: Request, version: str) -> Response:
        portfolio = self.state.portfolio
        caller = next(iter(portfolio.users.values()))
        body = {
            **self.renderer(portfolio, version).user(caller),
            "emailAddress": caller.email,
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles",
        }
        return Response(200, body)

    def fields(self, _: Request, version: str) -> Response:
        return Response(200, field_catalogue(self.state.flavor))

    def statuses(self, _: Request, version: str) -> Response:
        return Response(200, list(self.renderer(self.state.portfolio, version).statuses.values()))

    def issue_types(self, _: Request, version: str) -> Response:
        return Response(200, list(self.renderer(self.state.portfolio, version).types.values()))

    def issue_link_types(self, _: Request, version: str) -> Response:
        types = self.renderer(self.state.portfolio, version).link_types.values()
        return Response(200, {"issueLinkTypes": list(types)})

    # search

    def search_jql(self, request: Request, version: str) -> Response:
        """Cloud's cursor search: ``nextPageToken``/``isLast``, no ``total``."""
        args = search_args(request)
        limit = 50 if args.max_results is None else args.max_results
        if not 1 <= limit <= CLOUD_MAX_RESULTS:
            raise jira_error(400, f"maxResults must be between 1 and {CLOUD_MAX_RESULTS}.")
        fields = select_fields(args.fields, "id", self.state.flavor)
        changelog = CLOUD_SEARCH_CHANGELOG if "changelog" in args.expand else None
        id_only = "key" not in args.fields  # fields=key adds the key (and self), nothing else
        if fields or changelog is not None:
            limit = min(limit, CLOUD_FIELDS_PAGE)
        portfolio = self.state.portfolio
        with portfolio.lock:
            query_id, keys, offset = self._cloud_keys(portfolio, args, limit)
            page = keys[offset : offset + limit]
            renderer = self.renderer(portfolio, version)
            issues = [
                renderer.issue(issue, fields, changelog, id_only=id_only)
                for issue in self._existing(portfolio, page)
            ]
        body: Json = {"issues": issues}
        if "names" in args.expand:
            body["names"] = field_names(fields, self.state.flavor)
        if offset + limit < len(keys):
            body["nextPageToken"] = encode_token(query_id, offset + limit)
        body["isLast"] = offset + limit >= len(keys)
        return Response(200, body)

    def _cloud_keys(
        self, portfolio: Portfolio, args: SearchArgs, limit: int
    ) -> tuple[str, list[str], int]:
        if args.token:
            query_id, offset = decode_token(args.token)
            keys = self.page_tokens.get(query_id)
            if keys is None or offset < 0:
                raise jira_error(400, STALE_PAGE_CURSOR)
            return query_id, keys, offset
        keys = self._run(portfolio, args.jql, bounded=True)
        query_id = uuid.uuid4().hex[:16]
        if len(keys) > limit:  # only a result with a next page needs remembering
            self.page_tokens.put(query_id, keys)
        return query_id, keys, 0

    @staticmethod
    def _existing(portfolio: Portfolio, keys: list[str]) -> list[Issue]:
        return [issue for key in keys if (issue := portfolio.issues.get(key)) is not None]

    def search_removed(self, _: Request, version: str) -> Response:
        raise jira_error(410, SEARCH_REMOVED)

    def search_legacy(self, request: Request, version: str) -> Response:
        """Data Center's offset search: ``startAt``/``maxResults``/``total``, full changelogs."""
        args = search_args(request)
        limit = 50 if args.max_results is None else min(max(args.max_results, 0), DC_MAX_RESULTS)
        fields = select_fields(args.fields, "*navigable", self.state.flavor)
        changelog = DC_CHANGELOG if "changelog" in args.expand else None
        portfolio = self.state.portfolio
        with portfolio.lock:
            keys = self._dc_keys(portfolio, args)
            page = keys[args.start_at : args.start_at + limit]
            renderer = self.renderer(portfolio, version)
            issues = [
                renderer.issue(issue, fields, changelog)
                for issue in self._existing(portfolio, page)
            ]
        body: Json = {
            "expand": "schema,names",
            "startAt": args.start_at,
            "maxResults": limit,
            "total": len(keys),
            "issues": issues,
        }
        if "names" in args.expand:
            body["names"] = field_names(fields, self.state.flavor)
        return Response(200, body)

    def _dc_keys(self, portfolio: Portfolio, args: SearchArgs) -> list[str]:
        # Data Center pages by offset, so each page re-runs the query; remember recent results
        # per portfolio generation and JQL text, so paging 100k issues is not quadratic.
        cache_key = f"{id(portfolio)}:{self.generation}:{args.jql}"
        keys = self.dc_results.get(cache_key)
        if keys is None:
            keys = self._run(portfolio, args.jql, bounded=False)
            self.dc_results.put(cache_key, keys)
        return keys

    def approximate_count(self, request: Request, version: str) -> Response:
        body = request.json()
        jql = str(body.get("jql") or "") if isinstance(body, dict) else ""
        portfolio = self.state.portfolio
        with portfolio.lock:
            count = len(self._run(portfolio, jql, bounded=True))
        return Response(200, {"count": count})

    # issues

    def get_issue(self, request: Request, version: str) -> Response:
        fields = select_fields(
            split_fields(request.query.get("fields", [])), "*all", self.state.flavor
        )
        expand = _expand(request.arg("expand"))
        policy: ChangelogPolicy = CLOUD_ISSUE_CHANGELOG if self.cloud else DC_CHANGELOG
        changelog = policy if "changelog" in expand else None
        portfolio = self.state.portfolio
        with portfolio.lock:
            issue = self._issue(portfolio, request)
            body = self.renderer(portfolio, version).issue(issue, fields, changelog)
        if "names" in expand:
            body["names"] = field_names(fields, self.state.flavor)
        return Response(200, body)

    def issue_changelog(self, request: Request, version: str) -> Response:
        """Cloud's paged changelog of one issue, oldest first."""
        start = max(0, _int_arg(request.arg("startAt"), "startAt", 0))
        limit = min(
            max(1, _int_arg(request.arg("maxResults"), "maxResults", CHANGELOG_PAGE)),
            CHANGELOG_PAGE,
        )
        portfolio = self.state.portfolio
        with portfolio.lock:
            issue = self._issue(portfolio, request)
            renderer = self.renderer(portfolio, version)
            chosen = issue.histories[start : start + limit]
            values = [renderer.history(issue, h) for h in chosen]
            total = len(issue.histories)
        url = f"{self._root(version)}/issue/{issue.key}/changelog"
        body: Json = {
            "self": f"{url}?startAt={start}&maxResults={limit}",
            "maxResults": limit,
            "startAt": start,
            "total": total,
            "isLast": start + limit >= total,
            "values": values,
        }
        if not body["isLast"]:
            body["nextPage"] = f"{url}?startAt={start + limit}&maxResults={limit}"
        return Response(200, body)

    def bulk_changelog(self, request: Request, version: str) -> Response:
        """Cloud's ``POST /changelog/bulkfetch``: histories of many issues, oldest first."""
        query = BulkQuery.from_body(request.json())
        portfolio = self.state.portfolio
        with portfolio.lock:
            renderer = self.renderer(portfolio, version)
            entries = query.entries(portfolio, renderer)
            page = entries[query.offset : query.offset + query.max_results]
            logs = _group_by_issue(renderer, page)
        body: Json = {"issueChangeLogs": logs}
        if query.offset + query.max_results < len(entries):
            body["nextPageToken"] = encode_token("bulk", query.offset + query.max_results)
        return Response(200, body)

    def parse_jql(self, request: Request, version: str) -> Response:
        """Cloud's ``POST /jql/parse``: per query, a structure or its errors."""
        body = request.json()
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list) or not queries:
            raise jira_error(400, "queries: must not be empty")
        mode = (request.arg("validation") or "strict").lower()
        portfolio = self.state.portfolio
        with portfolio.lock:
            parsed = [self._parse_one(portfolio, str(q), mode) for q in queries]
        return Response(200, {"queries": parsed})

    def _parse_one(self, portfolio: Portfolio, text: str, mode: str) -> Json:
        try:
            query = parse_jql(text)
        except JqlError as err:
            return {"query": text, "errors": list(dict.fromkeys(err.messages))}
        problems = [] if mode == "none" else validate_fields(query, self._context(portfolio))
        if problems and mode == "strict":
            return {"query": text, "errors": list(dict.fromkeys(problems))}
        result: Json = {"query": text, "structure": query.structure()}
        if problems:
            result["warnings"] = list(dict.fromkeys(problems))
        return result

    # writes

    def get_transitions(self, request: Request, version: str) -> Response:
        portfolio = self.state.portfolio
        with portfolio.lock:
            issue = self._issue(portfolio, request)
            renderer = self.renderer(portfolio, version)
            transitions = [
                {
                    "id": t.id,
                    "name": t.name,
                    "to": renderer.statuses[t.to.name],
                    "hasScreen": False,
                    "isGlobal": True,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                }
                for t in jira_writes.available_transitions(self.workflows(portfolio), issue)
            ]
        return Response(200, {"expand": "transitions", "transitions": transitions})

    def do_transition(self, request: Request, version: str) -> Response:
        body = request.json()
        target = body.get("transition") if isinstance(body, dict) else None
        if not isinstance(target, dict) or not target.get("id"):
            raise jira_error(400, "Missing 'transition' identifier")
        with self._writing() as portfolio:
            issue = self._issue(portfolio, request)
            jira_writes.transition(
                self.workflows(portfolio), issue, str(target["id"]), self._caller_id()
            )
        return Response(204)

    def edit_issue(self, request: Request, version: str) -> Response:
        body = request.json()
        with self._writing() as portfolio:
            issue = self._issue(portfolio, request)
            jira_writes.edit(portfolio, issue, body, self.state.flavor, self._caller_id())
        return Response(204)

    def delete_issue(self, request: Request, version: str) -> Response:
        flag = (request.arg("deleteSubtasks") or "false").lower()
        if flag not in ("true", "false"):
            raise jira_error(400, f"The value '{flag}' for 'deleteSubtasks' is not valid.")
        with self._writing() as portfolio:
            jira_writes.delete(portfolio, self._issue(portfolio, request), flag == "true")
        return Response(204)

    def create_issue(self, request: Request, version: str) -> Response:
        body = request.json()
        with self._writing() as portfolio:
            issue = jira_writes.create(
                self.workflows(portfolio), body, self.state.flavor, self._caller_id()
            )
        return Response(
            201,
            {
                "id": str(issue.id),
                "key": issue.key,
                "self": f"{self._root(version)}/issue/{issue.id}",
            },
        )

    @contextmanager
    def _writing(self) -> Iterator[Portfolio]:
        """The portfolio, locked; a write that completes bumps ``generation`` (stale caches)."""
        portfolio = self.state.portfolio
        with portfolio.lock:
            yield portfolio
            self.generation += 1

    def _caller_id(self) -> str:
        return next(iter(self.state.portfolio.users.values())).account_id


# --- bulk changelog -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkQuery:
    """A validated ``/changelog/bulkfetch`` body; pages count histories across issues."""

    keys: tuple[str, ...]
    field_ids: frozenset[str]
    max_results: int
    offset: int

    @classmethod
    def from_body(cls, body: Any) -> BulkQuery:
        if not isinstance(body, dict):
            raise jira_error(400, "Can not deserialize the request body.")
        keys = body.get("issueIdsOrKeys")
        if not isinstance(keys, list) or not keys:
            raise jira_error(400, "issueIdsOrKeys must contain at least one issue id or key.")
        if len(keys) > BULK_MAX_KEYS:
            raise jira_error(
                400, f"issueIdsOrKeys must not contain more than {BULK_MAX_KEYS} issue ids or keys."
            )
        field_ids = body.get("fieldIds") or []
        if not isinstance(field_ids, list) or len(field_ids) > BULK_MAX_FIELDS:
            raise jira_error(400, f"fieldIds must not contain more than {BULK_MAX_FIELDS} ids.")
        max_results = _int_arg(body.get("maxResults"), "maxResults", 1000)
        if not 1 <= max_results <= BULK_MAX_RESULTS:
            raise jira_error(400, f"maxResults must be between 1 and {BULK_MAX_RESULTS}.")
        offset = 0
        if body.get("nextPageToken"):
            marker, offset = decode_token(str(body["nextPageToken"]))
            if marker != "bulk" or offset < 0:
                raise jira_error(400, STALE_PAGE_CURSOR)
        return cls(tuple(str(k) for k in keys), frozenset(map(str, field_ids)), max_results, offset)

    def entries(self, portfolio: Portfolio, renderer: IssueRenderer) -> list[tuple[Issue, History]]:
        """Every (issue, history) to return, oldest first per issue, items filtered."""
        out: list[tuple[Issue, History]] = []
        seen: set[str] = set()
        for ref in self.keys:
            issue = portfolio.find_issue(ref)
            if issue is None or issue.key in seen:
                continue  # Jira silently leaves out issues the caller cannot see
            seen.add(issue.key)
            level = portfolio.level_of(issue)
            for history in issue.histories:
                kept = self._filter(history, renderer, level)
                if kept is not None:
                    out.append((issue, kept))
        return out

    def _filter(self, history: History, renderer: IssueRenderer, level: int) -> History | None:
        if not self.field_ids:
            return history
        items = [
            item
            for item in history.items
            if {item.field, item.field_id, renderer.item_field_id(item, level)} & self.field_ids
        ]
        # A history whose items were all filtered out is dropped, not sent empty.
        return History(history.id, history.created, history.author, items) if items else None


def _group_by_issue(renderer: IssueRenderer, page: list[tuple[Issue, History]]) -> list[Json]:
    logs: list[Json] = []
    for issue, history in page:
        if not logs or logs[-1]["issueId"] != str(issue.id):
            logs.append({"issueId": str(issue.id), "changeHistories": []})
        logs[-1]["changeHistories"].append(renderer.history(issue, history, epoch_created=True))
    return logs
