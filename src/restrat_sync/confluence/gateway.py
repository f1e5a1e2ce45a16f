"""Confluence over the v1 content API (the v2 API cannot write labels or attachments).

atlassian-python-api switches to a v2 client on Cloud URLs unless it is built with the ``/wiki``
URL and ``cloud=False``; see ``../shared/atlassian-api.md``.
"""

from __future__ import annotations

from typing import Any

import requests
from atlassian import Confluence

from restrat_sync.errors import ConnectionProblem, CredentialsRejected, RestratError
from restrat_sync.http import RetryingSession
from restrat_sync.settings import Credentials


class ConfluenceGateway:
    def __init__(self, url: str, client: Confluence) -> None:
        self.url = url
        self.client = client

    def space(self, key: str) -> dict[str, Any] | None:
        """The space, or None when it does not exist (or is not visible to this user)."""
        response = self._request("GET", f"rest/api/space/{key}")
        if response.status_code == 404:
            return None
        return dict(_answer(response, f"GET space {key}"))

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request(method, path, advanced_mode=True, **kwargs)
        except requests.RequestException as exc:
            raise ConnectionProblem(
                f"Confluence at {self.url} is unreachable: {type(exc).__name__}"
            ) from None


def _answer(response: requests.Response, where: str) -> Any:
    if response.status_code in (401, 403):
        raise CredentialsRejected(
            f"Confluence refused the credentials ({response.status_code} to {where}); check "
            "RESTRAT_CONFLUENCE_USER and RESTRAT_CONFLUENCE_TOKEN"
        )
    if response.status_code >= 400:
        raise RestratError(f"Confluence answered {response.status_code} to {where}")
    return response.json()


def connect_confluence(
    url: str, credentials: Credentials, session: RetryingSession
) -> ConfluenceGateway:
    # v1 methods need cloud=False even on Cloud; the library's own retries stay off.
    client = Confluence(  # type: ignore[no-untyped-call]
        url=url,
        session=session,
        cloud=False,
        backoff_and_retry=False,
        retry_with_header=False,
        **credentials.library_auth(),
    )
    return ConfluenceGateway(url, client)
