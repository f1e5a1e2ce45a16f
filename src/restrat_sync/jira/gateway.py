"""Jira over atlassian-python-api: flavour detection, search paging, changelog completion,
counting, JQL validation.

The library is used for its URL handling and authentication only; every call goes through
``get``/``post`` on an explicit path, because several of its helpers are wrong on Cloud (see
``../shared/atlassian-api.md``). Its own retries are off: ``http.RetryingSession`` is the one
retry layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import requests
from atlassian import Jira

from restrat_sync.errors import ConnectionProblem, CredentialsRejected, RestratError
from restrat_sync.http import RequestStats, RetryingSession
from restrat_sync.jira import extract
from restrat_sync.jira.fields import FieldIds
from restrat_sync.jira.records import IssueRecord, LinkTypeRecord, StatusRecord
from restrat_sync.settings import Credentials

log = logging.getLogger(__name__)

JiraFlavor = Literal["cloud", "datacenter"]
CLOUD_PAGE_SIZE = 5000  # /search/jql accepts up to 5000 ids per page
CLOUD_DETAIL_PAGE_SIZE = 100  # ...but pages with fields come capped at about 100 issues
DC_PAGE_SIZE = 1000  # Data Center's usual cap on maxResults
BULK_MAX_ISSUES = 1000  # /changelog/bulkfetch: issueIdsOrKeys per request
BULK_MAX_RESULTS = 10000  # /changelog/bulkfetch: histories per page, across issues
CHANGELOG_PAGE_SIZE = 100  # /issue/{key}/changelog: its cap on maxResults
BULK_UNAVAILABLE = frozenset({404, 405, 501})  # bulk fetch not offered by this site


@dataclass
class IssuePage:
    """One search page, extracted, with every changelog complete."""

    records: list[IssueRecord]
    raw_count: int  # issues Jira sent in the page
    changelog_requests: int  # requests spent completing truncated changelogs
    total: int | None = None  # Data Center's total for the whole query; Cloud sends none


class JiraGateway:
    """One Jira site in one flavour."""

    def __init__(
        self, url: str, flavor: JiraFlavor, client: Jira, unset_token: str | None = None
    ) -> None:
        self.url = url
        self.flavor = flavor
        self.client = client
        self.unset_token = unset_token  # what to say on a refusal when no token is set
        self._bulk_changelog = flavor == "cloud"  # until the site says it has no bulk fetch
        self._own_stats = RequestStats()
        self._changelog_calls = 0  # requests sent to complete changelogs, failed ones included

    @property
    def stats(self) -> RequestStats:
        """Requests and retries by endpoint, as counted by the session (when it counts)."""
        session = getattr(self.client, "session", None)
        return session.stats if isinstance(session, RetryingSession) else self._own_stats

    # --- reads used by `check` -----------------------------------------------------------------

    @property
    def session(self) -> RetryingSession:
        session = self.client.session
        if not isinstance(session, RetryingSession):
            raise TypeError("the gateway needs restrat_sync.http.RetryingSession")
        return session

    def server_info(self) -> dict[str, Any]:
        """``GET serverInfo``, the first request to a Jira: a 404 or an answer that is not
        Jira's means the base URL is wrong (exit 3, with what to check)."""
        try:
            answer = self._get("rest/api/2/serverInfo")
        except JiraAnswered as refused:
            if refused.status != 404 and not refused.not_json:
                raise
            raise ConnectionProblem(_not_jira(self.url, refused.status)) from None
        if not isinstance(answer, dict):
            raise ConnectionProblem(_not_jira(self.url, 200))
        return answer

    def myself(self) -> dict[str, Any]:
        return dict(self._get("rest/api/2/myself"))

    def fields(self) -> list[dict[str, Any]]:
        return self._get_list("rest/api/2/field")

    def statuses(self) -> list[dict[str, Any]]:
        return self._get_list("rest/api/2/status")

    def validate_jql(self, queries: list[str]) -> list[list[str]]:
        """Jira's error messages for each query (an empty list when it is valid)."""
        if self.flavor == "cloud":
            body = {"queries": queries}
            answer = self._post("rest/api/3/jql/parse", body, params={"validation": "strict"})
            return [list(parsed.get("errors") or []) for parsed in answer["queries"]]
        # Data Center has no parse endpoint: run each query for a count and read the 400.
        return [self._dc_query_errors(query) for query in queries]

    def count(self, jql: str) -> int:
        if self.flavor == "cloud":
            answer = self._post("rest/api/3/search/approximate-count", {"jql": jql})
            return int(answer["count"])
        answer = self._get("rest/api/2/search", {"jql": jql, "maxResults": 0, "fields": "id"})
        return int(answer["total"])

    def search(self, jql: str, fields: list[str], page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every issue matching ``jql``, paging by token on Cloud and by offset on Data Center."""
        if self.flavor == "cloud":
            answers = self._cloud_answers(jql, {"fields": fields}, page_size)
        else:
            answers = self._dc_answers(jql, {"fields": ",".join(fields)}, page_size, post=False)
        for answer in answers:
            yield from answer.get("issues", [])

    # --- extraction ----------------------------------------------------------------------------

    def status_records(self) -> list[StatusRecord]:
        return extract.status_records(self.statuses())

    def link_type_records(self) -> list[LinkTypeRecord]:
        """The link-type catalogue: the verbs a changelog words links with."""
        return extract.link_type_records(dict(self._get("rest/api/2/issueLinkType")))

    def list_keys(self, jql: str) -> list[str]:
        """The keys ``jql`` matches, each once, in the largest pages the flavour serves."""
        if self.flavor == "cloud":
            # Pages of id/key only are not capped at 100 the way pages with fields are.
            answers = self._cloud_answers(jql, {"fields": ["key"]}, CLOUD_PAGE_SIZE)
        else:
            answers = self._dc_answers(jql, {"fields": ["key"]}, DC_PAGE_SIZE, post=True)
        keys = (_key_of(issue) for answer in answers for issue in answer.get("issues") or [])
        return list(dict.fromkeys(keys))  # offset paging can show an issue twice

    def fetch_issues(
        self, jql: str, fields: FieldIds, page_size: int | None = None
    ) -> Iterator[IssuePage]:
        """Pages of records, each issue with its fields and complete changelog.

        Truncated changelogs are completed before a page is yielded, so a page can be stored as
        it comes.
        """
        wanted = extract.REQUEST_FIELDS(fields)
        if self.flavor == "cloud":
            query: dict[str, Any] = {"fields": wanted, "expand": "changelog"}
            answers = self._cloud_answers(jql, query, page_size or CLOUD_DETAIL_PAGE_SIZE)
        else:
            # POST: chunked `key in (...)` JQL can outgrow a URL. DC's body takes expand as a list.
            query = {"fields": wanted, "expand": ["changelog"]}
            answers = self._dc_answers(jql, query, page_size or DC_PAGE_SIZE, post=True)
        for answer in answers:
            yield self._issue_page(answer, fields)

    def _issue_page(self, answer: dict[str, Any], fields: FieldIds) -> IssuePage:
        issues: list[dict[str, Any]] = list(answer.get("issues") or [])
        calls_before = self._changelog_calls
        histories = self._complete_changelogs(issues, fields)
        records = [extract.issue_record(raw, fields, histories[_id(raw)]) for raw in issues]
        total = answer.get("total")
        return IssuePage(
            records=records,
            raw_count=len(issues),
            changelog_requests=self._changelog_calls - calls_before,
            total=total if isinstance(total, int) else None,
        )

    # --- paging --------------------------------------------------------------------------------

    def _cloud_answers(
        self, jql: str, query: dict[str, Any], size: int
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, **query, "maxResults": size}
            if token:
                body["nextPageToken"] = token
            answer = self._post("rest/api/3/search/jql", body)
            yield answer
            token = answer.get("nextPageToken")
            # A page may hold fewer issues than asked; only isLast/the token say it is the end.
            if answer.get("isLast", token is None) or not token:
                return

    def _dc_answers(
        self, jql: str, query: dict[str, Any], size: int, post: bool
    ) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            args = {"jql": jql, **query, "startAt": start, "maxResults": size}
            path = "rest/api/2/search"
            answer = self._post(path, args) if post else self._get(path, args)
            issues = answer.get("issues") or []
            yield answer
            # The server may cap maxResults below what was asked: advance by what came.
            start += len(issues)
            if not issues or start >= int(answer.get("total", 0)):
                return

    # --- changelog completion ------------------------------------------------------------------

    def _complete_changelogs(
        self, issues: list[dict[str, Any]], fields: FieldIds
    ) -> dict[str, list[dict[str, Any]]]:
        """Every issue's complete histories, by issue id."""
        histories = {_id(raw): extract.histories_of(raw) for raw in issues}
        truncated = [raw for raw in issues if extract.is_truncated(raw)]
        if truncated and self.flavor != "cloud":
            # Data Center embeds the whole changelog and has no endpoint to page one.
            # The record keeps Jira's total, so the gap stays visible downstream.
            for raw in truncated:
                held, total = len(histories[_id(raw)]), (raw.get("changelog") or {}).get("total")
                message = "Jira sent %d of %s histories of %s; Data Center cannot page the rest"
                log.warning(message, held, total, raw.get("key"))
        elif truncated:
            embedded = {_id(raw): histories[_id(raw)] for raw in truncated}
            for issue_id, fetched in self._fetch_changelogs(embedded, fields).items():
                histories[issue_id] = extract.merge_histories(histories[issue_id], fetched)
        return histories

    def _fetch_changelogs(
        self, embedded: dict[str, list[dict[str, Any]]], fields: FieldIds
    ) -> dict[str, list[dict[str, Any]]]:
        """Full histories of the issues in ``embedded``: bulk fetch, else one issue at a time."""
        fetched: dict[str, list[dict[str, Any]]] = {}
        if self._bulk_changelog:
            try:
                fetched = self._bulk_changelogs(list(embedded), fields)
            except JiraAnswered as answer:
                if answer.status not in BULK_UNAVAILABLE:
                    raise
                log.info("changelog bulk fetch unavailable (%d); paging per issue", answer.status)
                self._bulk_changelog = False
        for issue_id, known in embedded.items():
            got = fetched.get(issue_id, [])
            if not self._bulk_changelog or not _bulk_agrees(known, got, fields):
                fetched[issue_id] = self._issue_changelog(issue_id)
        return fetched

    def _bulk_changelogs(
        self, issue_ids: list[str], fields: FieldIds
    ) -> dict[str, list[dict[str, Any]]]:
        """``POST /changelog/bulkfetch`` (the library's helper sends the wrong body key)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(issue_ids), BULK_MAX_ISSUES):
            body: dict[str, Any] = {
                "issueIdsOrKeys": issue_ids[start : start + BULK_MAX_ISSUES],
                # Items are filtered to these fields: all that transitions and changes need.
                "fieldIds": extract.changelog_field_ids(fields),
                "maxResults": BULK_MAX_RESULTS,
            }
            while True:
                self._changelog_calls += 1
                answer = self._post("rest/api/3/changelog/bulkfetch", body)
                for entry in answer.get("issueChangeLogs") or []:
                    # One issue's histories can be split over pages (they count across issues).
                    histories = out.setdefault(str(entry.get("issueId")), [])
                    histories.extend(entry.get("changeHistories") or [])
                token = answer.get("nextPageToken")
                if not token or token == body.get("nextPageToken"):
                    break
                body["nextPageToken"] = token
        return out

    def _issue_changelog(self, issue_id: str) -> list[dict[str, Any]]:
        """``GET /issue/{id}/changelog`` (Cloud only), paged by startAt, oldest first."""
        histories: list[dict[str, Any]] = []
        while True:
            params = {"startAt": len(histories), "maxResults": CHANGELOG_PAGE_SIZE}
            self._changelog_calls += 1
            try:
                answer = self._get(f"rest/api/3/issue/{issue_id}/changelog", params)
            except JiraAnswered as refused:
                if refused.status != 404:
                    raise
                log.warning("issue %s vanished while its changelog was read", issue_id)
                return histories
            values = answer.get("values") or []
            histories.extend(values)
            last = answer.get("isLast")
            if last is None:
                last = len(histories) >= int(answer.get("total", 0))
            if last or not values:
                return histories

    def _dc_query_errors(self, jql: str) -> list[str]:
        try:
            self._get("rest/api/2/search", {"jql": jql, "maxResults": 0, "validateQuery": "strict"})
        except JiraAnswered as answer:
            if answer.status == 400:
                return answer.messages
            raise
        return []

    # --- the wire ------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def _get_list(self, path: str) -> list[dict[str, Any]]:
        answer = self._get(path)
        return list(answer) if isinstance(answer, list) else []

    def _post(self, path: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        return self._call("POST", path, params=params, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, advanced_mode=True, **kwargs)
        except requests.RequestException as exc:
            raise ConnectionProblem(f"Jira at {self.url} is unreachable: {_reason(exc)}") from None
        if response.status_code in (401, 403) and self.unset_token:
            raise CredentialsRejected(self.unset_token)
        return _answer(response, f"{method} {path}")


class JiraAnswered(RestratError):
    """Jira answered with an error status, or with something other than JSON (``not_json``);
    ``messages`` are its errorMessages."""

    def __init__(
        self, status: int, where: str, messages: list[str], not_json: bool = False
    ) -> None:
        self.status = status
        self.messages = messages
        self.not_json = not_json
        super().__init__(f"Jira answered {status} to {where}: {'; '.join(messages) or 'no detail'}")


def _answer(response: requests.Response, where: str) -> Any:
    if response.status_code in (401, 403):
        raise CredentialsRejected(
            f"Jira refused the credentials ({response.status_code} to {where}); check "
            "RESTRAT_JIRA_USER and RESTRAT_JIRA_TOKEN"
        )
    if response.status_code >= 400:
        raise JiraAnswered(response.status_code, where, _error_messages(response))
    try:
        return response.json() if response.content else None
    except ValueError:  # a web page, say: whatever answered is not Jira's REST API
        kind = response.headers.get("Content-Type", "no content type")
        raise JiraAnswered(response.status_code, where, [f"not JSON ({kind})"], True) from None


def _not_jira(url: str, status: int) -> str:
    return (
        f"{url} does not answer like Jira ({status} to GET rest/api/2/serverInfo): check "
        "RESTRAT_JIRA_URL (or jira.url). It is the address you open Jira at, without /rest/... "
        "or /browse/...: https://acme.atlassian.net on Cloud; on Data Center with its context "
        "path, if any, such as https://jira.example.com/jira"
    )


def _error_messages(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return [response.text[:200]] if response.text else []
    if not isinstance(body, dict):
        return [str(body)[:200]]
    messages = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{k}: {v}" for k, v in errors.items()]
    if body.get("message"):
        messages.append(str(body["message"]))
    return messages


def _id(raw: dict[str, Any]) -> str:
    return str(raw["id"])


def _key_of(issue: dict[str, Any]) -> str:
    key = issue.get("key")
    if not key:
        # Cloud's /search/jql sends only ids unless `key` is among the fields asked for.
        raise RestratError(f"Jira sent issue {issue.get('id')} without its key")
    return str(key)


def _bulk_agrees(
    embedded: list[dict[str, Any]], fetched: list[dict[str, Any]], fields: FieldIds
) -> bool:
    """Whether bulk fetch returned every relevant item the embedded newest histories hold.

    Its ``fieldIds`` filter is the one part not checked against a real site for every kind of
    hierarchy item (``IssueParentAssociation``); a history it left out, or items it dropped,
    send the issue to the per-issue endpoint instead.
    """
    by_id = {str(history["id"]): history for history in fetched}
    for history in embedded:
        wanted = extract.relevant_items(history, fields)
        if wanted and extract.relevant_items(by_id.get(str(history["id"]), {}), fields) != wanted:
            return False
    return True


def _reason(exc: requests.RequestException) -> str:
    # The exception text can embed the URL with credentials; keep only its class and cause.
    return type(exc).__name__


def flavor_of(server_info: dict[str, Any]) -> JiraFlavor:
    """``cloud`` for deploymentType Cloud; Server and DataCenter share the DC API."""
    deployment = str(server_info.get("deploymentType", "Server"))
    return "cloud" if deployment.lower() == "cloud" else "datacenter"


def connect_jira(
    url: str, credentials: Credentials, session: RetryingSession, flavor: str = "auto"
) -> JiraGateway:
    """A gateway for the Jira at ``url``; with flavor ``auto`` the server says which it is."""
    unset_token = credentials.unset_token("Jira")
    if flavor == "auto":
        client = _client(url, credentials, session, cloud=False)
        probe = JiraGateway(url, "datacenter", client, unset_token)
        flavor = flavor_of(probe.server_info())
        log.debug("Jira at %s is %s", url, flavor)
    cloud = flavor == "cloud"
    chosen: JiraFlavor = "cloud" if cloud else "datacenter"
    return JiraGateway(url, chosen, _client(url, credentials, session, cloud=cloud), unset_token)


def _client(url: str, credentials: Credentials, session: RetryingSession, cloud: bool) -> Jira:
    # The library's own retries would stack on ours: switch both of its mechanisms off.
    return Jira(
        url=url,
        session=session,
        cloud=cloud,
        backoff_and_retry=False,
        retry_with_header=False,
        **credentials.library_auth(),
    )
