"""`publish_pages` against the sandbox, both flavours, over HTTP on loopback.

The pages are hand-made with the storage builder (hostile text included), so these tests check
the publisher and the wire, not the page models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from restrat_sandbox import SandboxServer
from restrat_sync.cache import Cache, open_cache
from restrat_sync.config import ConfluenceConfig
from restrat_sync.confluence import ConfluenceGateway, connect_confluence
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.pages import storage as s
from restrat_sync.pages.page import LABEL, RenderedPage
from restrat_sync.publish import PublishReport, publish_pages, write_dry_run
from restrat_sync.settings import Credentials
from tests.e2e.conftest import NOW

CONFIG = ConfluenceConfig(space="PORT", parent_page="Strategy execution")
FAST = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.01)
HOSTILE = "<script>alert(1)</script> ]]> &amp; \"q\" 'q' 🚀 שלום"
WRITES = ("POST ", "PUT ", "DELETE ")


def rendered(title: str, text: str, parent: str | None = None) -> RenderedPage:
    cadence: Any = "weekly" if parent or title.startswith("Weekly") else "overview"
    body = s.serialize(
        [
            s.heading(2, title),
            s.paragraph(text, " ", s.status("On track", "Green")),
            s.table(["Theme", "Share"], [[HOSTILE, "40 %"]]),
            s.jira_issues("project = PORT ORDER BY key", "System JIRA", "abc-123"),
        ]
    )
    return RenderedPage(
        title, cadence, "2026-W47", parent, (LABEL, f"restrat-sync-{cadence}"), body
    )


def portfolio_pages(overview_text: str = "AV 12 pp") -> list[RenderedPage]:
    return [
        rendered("Overview", overview_text),
        rendered("Weekly telemetry", "every week"),
        rendered("Weekly telemetry 2026-W47", "week 47", "Weekly telemetry"),
    ]


class Wiki:
    """Raw REST calls to the sandbox's Confluence, as a person's browser or script would."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.auth = (server.state.options.user, server.state.options.token)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.server.url}/wiki/rest/api/{path}"
        return requests.request(method, url, auth=self.auth, timeout=10, **kwargs)

    def page(self, title: str) -> Any:
        params = {"title": title, "spaceKey": "PORT", "expand": "body.storage,version"}
        results = self.call("GET", "content", params=params).json()["results"]
        return results[0] if results else None

    def edit(self, page_id: str, body: str) -> None:
        """Edit a page by hand: PUT at its current version + 1."""
        current = self.call("GET", f"content/{page_id}", params={"expand": "version"}).json()
        payload = {
            "type": "page",
            "title": current["title"],
            "version": {"number": current["version"]["number"] + 1},
            "body": {"storage": {"value": body, "representation": "storage"}},
        }
        assert self.call("PUT", f"content/{page_id}", json=payload).status_code == 200

    def stats(self) -> dict[str, int]:
        answer = requests.get(f"{self.server.url}/_sandbox/stats", timeout=10)
        return dict(answer.json()["requests"])

    def reset_stats(self) -> None:
        requests.delete(f"{self.server.url}/_sandbox/stats", timeout=10)


@pytest.fixture
def wiki(sandbox: SandboxServer) -> Wiki:
    """The sandbox with its Confluence emptied (the PORT space and its home page remain)."""
    options = sandbox.state.options
    auth = (options.user, options.token)
    requests.post(f"{sandbox.url}/_sandbox/reset", auth=auth, timeout=10)
    return Wiki(sandbox)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    opened = open_cache(f"sqlite:///{tmp_path / 'restrat.db'}")
    yield opened
    opened.close()


def connect(server: SandboxServer) -> ConfluenceGateway:
    options = server.state.options
    creds = Credentials(options.user, SecretStr(options.token))
    return connect_confluence(f"{server.url}/wiki", creds, create_session(FAST))


def publish(server: SandboxServer, cache: Cache, pages: list[RenderedPage]) -> PublishReport:
    return publish_pages(pages, connect(server), cache, CONFIG, NOW)


def test_publish_then_publish_again_makes_zero_writes(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """The first run creates every page; the second sends no POST, PUT or DELETE at all."""
    first = publish(sandbox, cache, portfolio_pages())
    assert first.count("created") == 3
    wiki.reset_stats()
    second = publish(sandbox, cache, portfolio_pages())
    stats = wiki.stats()
    assert second.count("unchanged") == 3
    assert second.write_requests == 0
    assert not [label for label in stats if label.startswith(WRITES)], stats
    assert stats.get("GET /wiki/rest/api/content", 0) >= 1  # it did look


def test_published_pages_show_hostile_text_as_text(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """The sandbox accepts the bodies, and its page view shows untrusted text escaped."""
    publish(sandbox, cache, portfolio_pages())
    overview = wiki.page("Overview")
    view = requests.get(f"{sandbox.url}/wiki/spaces/PORT/pages/{overview['id']}", timeout=10)
    assert view.status_code == 200
    assert "<script>alert(1)</script>" not in view.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; &amp;amp;" in view.text
    assert 'class="jira-table"' in view.text  # the Jira macro resolved against the sandbox


def test_a_change_updates_only_that_page(sandbox: SandboxServer, wiki: Wiki, cache: Cache) -> None:
    """A new overview: one PUT of the page, one of its property, nothing else written."""
    publish(sandbox, cache, portfolio_pages())
    wiki.reset_stats()
    report = publish(sandbox, cache, portfolio_pages("AV 15 pp"))
    stats = wiki.stats()
    assert report.count("updated") == 1
    assert report.write_requests == 2
    writes = {label: n for label, n in stats.items() if label.startswith(WRITES)}
    assert writes == {
        "PUT /wiki/rest/api/content/{id}": 1,
        "PUT /wiki/rest/api/content/{id}/property/{key}": 1,
    }
    assert "AV 15 pp" in wiki.page("Overview")["body"]["storage"]["value"]


class EditingGateway(ConfluenceGateway):
    """A gateway during whose page updates a person edits the page first, ``edits`` times."""

    def __init__(self, inner: ConfluenceGateway, wiki: Wiki, edits: int) -> None:
        super().__init__(inner.url, inner.client)
        self.wiki = wiki
        self.edits = edits

    def update_page(self, page_id: str, title: str, body: str, parent_id: str, version: int) -> int:
        if self.edits:
            self.edits -= 1
            self.wiki.edit(page_id, f"<p>hand edit {self.edits}</p>")
        return super().update_page(page_id, title, body, parent_id, version)


def test_an_edit_between_read_and_write_is_retried_once(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """The sandbox answers 409 to the stale version; the retry lands our content on top."""
    publish(sandbox, cache, portfolio_pages())
    gateway = EditingGateway(connect(sandbox), wiki, edits=1)
    wiki.reset_stats()
    report = publish_pages(portfolio_pages("AV 15 pp"), gateway, cache, CONFIG, NOW)
    overview = wiki.page("Overview")
    assert [p.outcome for p in report.pages if p.title == "Overview"] == ["updated"]
    assert overview["version"]["number"] == 3  # 1 ours, 2 the hand edit, 3 ours again
    assert "AV 15 pp" in overview["body"]["storage"]["value"]
    assert wiki.stats()["PUT /wiki/rest/api/content/{id}"] == 3  # edit, 409, retry


def test_edits_racing_twice_fail_the_page_and_keep_the_others(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """Two conflicts in a row: that page fails with a clear message, the rest is published."""
    publish(sandbox, cache, portfolio_pages())
    gateway = EditingGateway(connect(sandbox), wiki, edits=2)
    pages = portfolio_pages("AV 15 pp")
    pages[1] = rendered("Weekly telemetry", "every week, changed")
    report = publish_pages(pages, gateway, cache, CONFIG, NOW)
    by_title = {p.title: p for p in report.pages}
    assert by_title["Overview"].outcome == "failed"
    assert "changed in Confluence twice" in (by_title["Overview"].reason or "")
    assert by_title["Weekly telemetry"].outcome == "updated"
    assert "hand edit" in wiki.page("Overview")["body"]["storage"]["value"]


def test_someone_elses_page_survives_and_the_rest_is_published(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """A foreign page with our title is left untouched; the report names it."""
    payload = {
        "type": "page",
        "title": "Overview",
        "space": {"key": "PORT"},
        "body": {"storage": {"value": "<p>mine</p>", "representation": "storage"}},
    }
    assert wiki.call("POST", "content", json=payload).status_code == 200
    report = publish(sandbox, cache, portfolio_pages())
    assert [p.title for p in report.failed] == ["Overview"]
    assert "belongs to someone else" in (report.failed[0].reason or "")
    assert report.count("created") == 2
    assert wiki.page("Overview")["body"]["storage"]["value"] == "<p>mine</p>"


def test_a_page_deleted_by_hand_comes_back(
    sandbox: SandboxServer, wiki: Wiki, cache: Cache
) -> None:
    """The cache still lists a page that was deleted in Confluence: it is created again."""
    publish(sandbox, cache, portfolio_pages())
    gone = wiki.page("Weekly telemetry 2026-W47")
    assert wiki.call("DELETE", f"content/{gone['id']}").status_code == 204
    report = publish(sandbox, cache, portfolio_pages())
    assert {p.title: p.outcome for p in report.pages}["Weekly telemetry 2026-W47"] == "created"
    assert wiki.page("Weekly telemetry 2026-W47")["id"] != gone["id"]


def test_dry_run_sends_nothing(sandbox: SandboxServer, wiki: Wiki, tmp_path: Path) -> None:
    """write_dry_run writes files only: the sandbox sees no request at all."""
    wiki.reset_stats()
    result = write_dry_run(portfolio_pages(), tmp_path / "preview")
    assert wiki.stats() == {}
    assert result.index.exists()
    assert len(result.files) == 3
