"""The readable side of the sandbox's Confluence: pages and spaces as HTML under ``/wiki/spaces``.

Storage is rendered by ``pageview``; the Jira macro is resolved against the sandbox's own Jira
through ``jql.search``, so a published page shows the issues the sandbox serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from restrat_sandbox import pageview
from restrat_sandbox.confluence_json import CONTEXT, webui
from restrat_sandbox.confluence_requests import caller
from restrat_sandbox.confluence_store import ConfluenceError, ConfluenceStore, Page
from restrat_sandbox.http_app import Request, Response
from restrat_sandbox.jql import JqlContext, JqlError, search
from restrat_sandbox.model import Issue, Portfolio, User
from restrat_sandbox.server import SandboxState

HTML = "text/html; charset=utf-8"


def html_response(status: int, body: str) -> Response:
    return Response(status, body, content_type=HTML)


def _read_url(page: Page) -> str:
    """Where a person reads ``page``: its ``webui`` link under the ``/wiki`` context."""
    return CONTEXT + webui(page)


def _space_url(key: str) -> str:
    return f"{CONTEXT}/spaces/{quote(key)}"


def _download_url(page: Page, name: str) -> str:
    return f"{CONTEXT}/download/attachments/{page.id}/{quote(name)}"


@dataclass(frozen=True)
class SandboxJira:
    """``pageview.JiraSource`` over this sandbox's portfolio, searched with its JQL engine."""

    portfolio: Portfolio
    user: User
    base_url: str
    flavor: str = "cloud"

    def search(self, jql: str) -> list[Issue]:
        context = JqlContext(self.portfolio, self.user, self.portfolio.now, self.flavor)
        try:
            return search(context, jql)  # takes its own snapshot under the portfolio's lock
        except JqlError as err:
            raise pageview.MacroError(list(err.messages)) from err

    def browse_url(self, key: str) -> str:
        return f"{self.base_url}/browse/{quote(key)}"

    def search_url(self, jql: str) -> str:
        return f"{self.base_url}/issues/?{urlencode({'jql': jql})}"


class PageView:
    """The HTML handlers. Each holds the store's lock while it reads and renders."""

    def __init__(self, store: ConfluenceStore, state: SandboxState) -> None:
        self.store = store
        self.state = state

    def view_context(self, page: Page) -> pageview.ViewContext:
        """Links and Jira for rendering ``page``'s storage."""
        portfolio = self.state.portfolio
        jira = SandboxJira(portfolio, caller(self.state), self.state.base_url, self.state.flavor)

        def page_url(space_key: str | None, title: str) -> str | None:
            try:
                found = self.store.find(space_key or page.space_key, title)
            except ConfluenceError:  # a link into a space that does not exist
                return None
            return _read_url(found[0]) if found else None

        def attachment_url(name: str) -> str | None:
            if any(a.title == name for a in page.attachments):
                return _download_url(page, name)
            return None

        return pageview.ViewContext(jira, page_url, attachment_url)

    def view_page(self, request: Request) -> Response:
        with self.store.lock:
            try:
                page = self.store.page(request.params["id"])
            except ConfluenceError:
                return html_response(404, pageview.render_message("Page not found", request.path))
            return html_response(
                200, pageview.render_page(self._page_doc(page), self.view_context(page))
            )

    def _page_doc(self, page: Page) -> pageview.PageDoc:
        space = self.store.space(page.space_key)
        current, first = page.current, page.versions[0]

        def link(other: Page) -> pageview.Link:
            return pageview.Link(other.title, _read_url(other))

        byline = (
            f"Version {current.number}, last updated by {current.by.display_name} on "
            f"{current.when:%Y-%m-%d %H:%M} UTC; created by {first.by.display_name}"
        )
        files = [pageview.Link(a.title, _download_url(page, a.title)) for a in page.attachments]
        return pageview.PageDoc(
            title=page.title,
            space_name=space.name,
            space_url=_space_url(space.key),
            storage=page.body,
            breadcrumbs=[link(a) for a in self.store.ancestors(page)],
            children=[link(c) for c in self.store.children(page)],
            labels=[lab.name for lab in page.labels],
            attachments=files,
            byline=byline,
        )

    def view_space(self, request: Request) -> Response:
        with self.store.lock:
            try:
                space = self.store.space(request.params["space"])
            except ConfluenceError as err:
                return html_response(404, pageview.render_message("Space not found", err.message))
            roots = [p for p in self.store.find(space.key, None) if p.parent_id is None]
            tree = [self._tree(p) for p in roots]
            return html_response(200, pageview.render_space(space.name, space.key, tree))

    def _tree(self, page: Page) -> pageview.TreeNode:
        children = [self._tree(child) for child in self.store.children(page)]
        return pageview.TreeNode(pageview.Link(page.title, _read_url(page)), children)

    def view_spaces(self, _: Request) -> Response:
        with self.store.lock:
            links = [
                pageview.Link(f"{s.name} ({s.key})", _space_url(s.key))
                for s in self.store.spaces.values()
            ]
        return html_response(200, pageview.render_spaces(links))
