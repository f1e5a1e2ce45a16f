"""A small portfolio, a running Confluence-only sandbox around it, and a thin REST client.

The portfolio gives the page view's Jira macro something to show: three issues in PORT, one
of them with a summary built to break HTML.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import requests

from restrat_sandbox.confluence_api import install_confluence_routes
from restrat_sandbox.model import Issue, Portfolio, User
from restrat_sandbox.server import DEFAULT_TOKEN, DEFAULT_USER, SandboxServer
from tests.sandbox.builders import install_catalogue, serve

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTH = (DEFAULT_USER, DEFAULT_TOKEN)
NASTY_SUMMARY = "<script>alert(1)</script> ]]> \"double\" 'single' & 🚀 שלום \x07end"


def make_portfolio() -> Portfolio:
    """Three issues in one project, one of them with a summary built to break HTML."""
    portfolio = Portfolio(now=NOW)
    install_catalogue(
        portfolio,
        projects=("PORT",),
        issue_types=("Story", "Epic"),
        statuses=("To Do", "In Progress", "Done"),
        priorities=("Medium",),
    )
    ada = User("5b10ac8d82e05b22cc7d4ef5", "ada", "Ada Lovelace", "ada@example.com", "UTC")
    portfolio.users[ada.account_id] = ada
    rows = [
        ("PORT-1", "Epic", "In Progress", "Grow the portfolio"),
        ("PORT-2", "Story", "Done", "Ship the overview page"),
        ("PORT-3", "Story", "To Do", NASTY_SUMMARY),
    ]
    for number, (key, kind, status, summary) in enumerate(rows, 1):
        issue = Issue(10000 + number, key, "PORT", kind, status, summary, NOW, NOW)
        issue.assignee = ada.account_id if number != 3 else None
        portfolio.add_issue(issue)
    return portfolio


def confluence_sandbox(flavor: str = "cloud") -> AbstractContextManager[SandboxServer]:
    """A started sandbox serving only Confluence, around ``make_portfolio()``."""
    return serve(install_confluence_routes, make_portfolio, flavor=flavor)


def reset(server: SandboxServer) -> None:
    """Forget every page written so far; the PORT space comes back with its home page."""
    requests.post(f"{server.url}/_sandbox/reset", auth=AUTH, timeout=10)


class Wiki:
    """A thin authenticated client for ``/wiki/rest/api``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.auth = AUTH

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}/wiki/rest/api/{path}"
        return self.session.request(method, url, timeout=10, **kwargs)

    def post_page(
        self, title: str, body: str = "<p>hi</p>", parent: str | None = None
    ) -> requests.Response:
        """POST a page into PORT and return the raw answer, refusals included."""
        payload: dict[str, Any] = {
            "type": "page",
            "title": title,
            "space": {"key": "PORT"},
            "body": {"storage": {"value": body, "representation": "storage"}},
        }
        if parent is not None:
            payload["ancestors"] = [{"id": parent}]
        return self.call("POST", "content", json=payload)

    def create(self, title: str, body: str = "<p>hi</p>", parent: str | None = None) -> Any:
        response = self.post_page(title, body, parent)
        assert response.status_code == 200, response.text
        return response.json()

    def update(self, page: Any, number: int, body: str = "<p>new</p>") -> requests.Response:
        payload = {
            "type": "page",
            "title": page["title"],
            "version": {"number": number},
            "body": {"storage": {"value": body, "representation": "storage"}},
        }
        return self.call("PUT", f"content/{page['id']}", json=payload)

    def close(self) -> None:
        self.session.close()
