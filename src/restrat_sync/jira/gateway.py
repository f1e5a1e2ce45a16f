"""Jira over atlassian-python-api: flavour detection, search paging, counting, JQL validation.

The library is used for its URL handling and authentication only; every call goes through
``get``/``post`` on an explicit path, because several of its helpers are wrong on Cloud (see
``../shared/atlassian-api.md``). Its own retries are off: ``http.RetryingSession`` is the one
retry layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal

import requests
from atlassian import Jira

from restrat_sync.errors import ConnectionProblem, CredentialsRejected, RestratError
from restrat_sync.http import RetryingSession
from restrat_sync.settings import Credentials

log = logging.getLogger(__name__)

JiraFlavor = Literal["cloud", "datacenter"]
CLOUD_PAGE_SIZE = 5000  # /search/jql accepts up to 5000 ids per page
DC_PAGE_SIZE = 1000  # Data Center's usual cap on maxResults


class JiraGateway:
    """One Jira site in one flavour."""

    def __init__(self, url: str, flavor: JiraFlavor, client: Jira) -> None:
        self.url = url
        self.flavor = flavor
        self.client = client

    # --- reads used by `check` -----------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        return dict(self._get("rest/api/2/serverInfo"))

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
        pages = self._cloud_pages if self.flavor == "cloud" else self._dc_pages
        for page in pages(jql, fields, page_size):
            yield from page

    def _cloud_pages(self, jql: str, fields: list[str], size: int) -> Iterator[list[Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": size}
            if token:
                body["nextPageToken"] = token
            answer = self._post("rest/api/3/search/jql", body)
            yield answer.get("issues", [])
            token = answer.get("nextPageToken")
            # A page may hold fewer issues than asked; only isLast/the token say it is the end.
            if answer.get("isLast", token is None) or not token:
                return

    def _dc_pages(self, jql: str, fields: list[str], size: int) -> Iterator[list[Any]]:
        start = 0
        while True:
            params = {"jql": jql, "fields": ",".join(fields), "startAt": start, "maxResults": size}
            answer = self._get("rest/api/2/search", params)
            issues = answer.get("issues", [])
            yield issues
            start += len(issues)
            if not issues or start >= int(answer.get("total", 0)):
                return

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
        return _answer(response, f"{method} {path}")


class JiraAnswered(RestratError):
    """Jira answered with an error status; ``messages`` are its errorMessages."""

    def __init__(self, status: int, where: str, messages: list[str]) -> None:
        self.status = status
        self.messages = messages
        super().__init__(f"Jira answered {status} to {where}: {'; '.join(messages) or 'no detail'}")


def _answer(response: requests.Response, where: str) -> Any:
    if response.status_code in (401, 403):
        raise CredentialsRejected(
            f"Jira refused the credentials ({response.status_code} to {where}); check "
            "RESTRAT_JIRA_USER and RESTRAT_JIRA_TOKEN"
        )
    if response.status_code >= 400:
        raise JiraAnswered(response.status_code, where, _error_messages(response))
    return response.json() if response.content else None


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
    if flavor == "auto":
        probe = JiraGateway(url, "datacenter", _client(url, credentials, session, cloud=False))
        flavor = flavor_of(probe.server_info())
        log.info("Jira at %s is %s", url, flavor)
    cloud = flavor == "cloud"
    chosen: JiraFlavor = "cloud" if cloud else "datacenter"
    return JiraGateway(url, chosen, _client(url, credentials, session, cloud=cloud))


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
