"""The sandbox's page view: its Confluence pages served as HTML through the product's preview,
with the Jira macro answered from the sandbox's own issues (``SandboxJira``).

The preview itself (macros, escaping, charts) is tested in tests/pages/test_preview.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from restrat_sandbox.confluence_view import SandboxJira
from restrat_sync.pages import preview
from tests.pages.preview_dom import jira_macro, macro, parse
from tests.sandbox.confluence_fixtures import AUTH, NASTY_SUMMARY, Wiki, make_portfolio

ADA = "5b10ac8d82e05b22cc7d4ef5"  # the one user make_portfolio adds


def sandbox_jira() -> SandboxJira:
    portfolio = make_portfolio()
    return SandboxJira(portfolio, portfolio.users[ADA], "http://jira.test")


def test_sandbox_jira_searches_with_its_jql_engine_and_gives_the_asked_columns() -> None:
    """A search counts every match and gives the first ``limit`` as rows, in the query's
    order, with the asked columns as Jira shows them."""
    found = sandbox_jira().search(
        "project = PORT ORDER BY key DESC", ["key", "type", "assignee", "resolution"], 2
    )
    assert found.total == 3
    assert [row.key for row in found.rows] == ["PORT-3", "PORT-2"]
    last, done = found.rows
    assert (last.summary, last.issuetype, last.status) == (NASTY_SUMMARY, "Story", "To Do")
    assert [last.status_category, done.status_category] == ["new", "done"]
    assert dict(last.cells) == {
        "key": "",
        "type": "Story",
        "assignee": "Unassigned",
        "resolution": "Unresolved",
    }
    assert done.cells["assignee"] == "Ada Lovelace"


def test_sandbox_jira_refuses_bad_jql_as_a_macro_error() -> None:
    """JQL the engine refuses becomes a MacroError carrying Jira's message."""
    with pytest.raises(preview.MacroError, match="nope"):
        sandbox_jira().search("nope = 1", ["key"], 20)


def test_sandbox_jira_finds_issues_and_users_by_key_and_id() -> None:
    """One issue by key (with its status category), a user's display name by account id."""
    jira = sandbox_jira()
    done = jira.issue("PORT-2")
    assert done is not None
    assert (done.summary, done.status_category) == ("Ship the overview page", "done")
    assert jira.issue("NOPE-1") is None
    assert jira.user_name(ADA) == "Ada Lovelace"
    assert jira.user_name("nobody") is None
    assert jira.search_url("key = PORT-1") == "http://jira.test/issues/?jql=key+%3D+PORT-1"


# --- served by the sandbox --------------------------------------------------------------------


def get_html(url: str) -> requests.Response:
    return requests.get(url, auth=AUTH, timeout=10)


def test_page_view_serves_html_at_the_webui_link(wiki: Wiki) -> None:
    """The page's _links.webui, under /wiki, answers an HTML document of the page."""
    page = wiki.create("Overview / Q1 & more", "<h1>Hello</h1><p>world</p>")
    response = get_html(f"{wiki.base}/wiki{page['_links']['webui']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    dom = parse(response.text)
    assert "Overview / Q1 & more" in dom.text
    assert "world" in dom.text
    bare = get_html(f"{wiki.base}/wiki/spaces/PORT/pages/{page['id']}")
    assert bare.status_code == 200


def test_space_index_links_pages_as_a_tree(wiki: Wiki) -> None:
    """The space index lists every page, children nested under their parent."""
    parent = wiki.create("Parent page")
    wiki.create("Child page", parent=parent["id"])
    response = get_html(f"{wiki.base}/wiki/spaces/PORT")
    assert response.status_code == 200
    dom = parse(response.text)
    hrefs = [str(attrs["href"]) for attrs in dom.named("a")]
    assert any(href.endswith("/Child+page") for href in hrefs)
    assert len(dom.named("ul")) >= 2  # nested


def test_unknown_page_view_is_a_404_page(wiki: Wiki) -> None:
    """An unknown page id answers an HTML 404."""
    response = get_html(f"{wiki.base}/wiki/spaces/PORT/pages/424242")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


def test_served_jira_macro_runs_the_real_jql(wiki: Wiki) -> None:
    """The served page resolves the Jira macro with the sandbox's JQL engine."""
    body = jira_macro(jqlQuery="project = PORT ORDER BY key ASC", columns="key,summary,status")
    body += jira_macro(jqlQuery="project = PORT AND")
    page = wiki.create("Live issues", body)
    dom = parse(get_html(f"{wiki.base}/wiki{page['_links']['webui']}").text)
    keys = [text for text in dom.texts if text.startswith("PORT-")]
    assert keys == ["PORT-1", "PORT-2", "PORT-3"]
    assert not dom.named("script")
    assert NASTY_SUMMARY.replace("\x07", "\ufffd") in dom.text
    assert "error-box" in dom.classes()


def test_links_to_pages_and_attached_images_resolve(wiki: Wiki) -> None:
    """ac:link to a page title and ac:image of an attachment point at their sandbox URLs."""
    target = wiki.create("Link target")
    body = (
        '<p><ac:link><ri:page ri:content-title="Link target" /><ac:plain-text-link-body>'
        "<![CDATA[see <here>]]></ac:plain-text-link-body></ac:link></p>"
        '<p><ac:image><ri:attachment ri:filename="chart.png" /></ac:image></p>'
    )
    page = wiki.create("Linking page", body)
    wiki.call(
        "POST",
        f"content/{page['id']}/child/attachment",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("chart.png", b"png", "image/png")},
    )
    dom = parse(get_html(f"{wiki.base}/wiki{page['_links']['webui']}").text)
    hrefs = [attrs.get("href") for attrs in dom.named("a")]
    assert f"/wiki{target['_links']['webui']}" in hrefs
    assert "see <here>" in dom.text
    image = dom.named("img")[0]["src"]
    assert get_html(f"{wiki.base}{image}").content == b"png"


def test_body_view_expansion_is_rendered_html(wiki: Wiki) -> None:
    """expand=body.view returns the page rendered the way the view shows it."""
    page = wiki.create("Viewed", macro("status", {"colour": "Green", "title": "ok"}))
    got: Any = wiki.call("GET", f"content/{page['id']}", params={"expand": "body.view"}).json()
    assert 'class="status status-green"' in got["body"]["view"]["value"]
