"""The readable side of the sandbox's Confluence: pages and spaces as HTML under ``/wiki/spaces``.

Storage is rendered by the product's preview (``restrat_sync.pages.preview``), the same code a
dry run writes its previews with. The Jira macro is resolved against the sandbox's own Jira:
``SandboxJira`` answers the preview's ``JiraSource`` with rows of its issues, searched by
``jql.search``, so a published page shows the issues the sandbox serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from restrat_sandbox.confluence_json import CONTEXT, webui
from restrat_sandbox.confluence_requests import caller
from restrat_sandbox.confluence_store import ConfluenceError, ConfluenceStore, Page
from restrat_sandbox.http_app import Request, Response
from restrat_sandbox.jql import JqlContext, JqlError, search
from restrat_sandbox.model import Issue, Portfolio, User
from restrat_sandbox.server import SandboxState
from restrat_sync.pages import preview
from restrat_sync.pages.preview import esc

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
    """The preview's ``JiraSource`` over this sandbox's portfolio, searched with its JQL engine."""

    portfolio: Portfolio
    user: User
    base_url: str
    flavor: str = "cloud"

    def search(self, jql: str, columns: Sequence[str], limit: int) -> preview.IssueSearch:
        context = JqlContext(self.portfolio, self.user, self.portfolio.now, self.flavor)
        try:
            issues = search(context, jql)  # takes its own snapshot under the portfolio's lock
        except JqlError as err:
            raise preview.MacroError(list(err.messages)) from err
        rows = [issue_row(issue, self.portfolio, columns) for issue in issues[:limit]]
        return preview.IssueSearch(len(issues), rows)

    def issue(self, key: str) -> preview.IssueRow | None:
        found = self.portfolio.find_issue(key)
        return None if found is None else issue_row(found, self.portfolio, [])

    def user_name(self, account_id: str) -> str | None:
        user = self.portfolio.users.get(account_id)
        return None if user is None else user.display_name

    def browse_url(self, key: str) -> str:
        return f"{self.base_url}/browse/{quote(key)}"

    def search_url(self, jql: str) -> str:
        return f"{self.base_url}/issues/?{urlencode({'jql': jql})}"


def issue_row(issue: Issue, portfolio: Portfolio, columns: Sequence[str]) -> preview.IssueRow:
    """``issue`` as the Jira macro shows it, with the text of ``columns``."""
    status = portfolio.statuses.get(issue.status)
    return preview.IssueRow(
        key=issue.key,
        summary=issue.summary,
        issuetype=issue.issuetype,
        status=issue.status,
        status_category=status.category if status else "new",
        cells={column: _plain_cell(issue, column, portfolio) for column in columns},
    )


def _plain_cell(issue: Issue, column: str, portfolio: Portfolio) -> str:
    users = portfolio.users
    values: dict[str, Callable[[], object]] = {
        "type": lambda: issue.issuetype,
        "issuetype": lambda: issue.issuetype,
        "priority": lambda: issue.priority,
        "assignee": lambda: users[issue.assignee].display_name if issue.assignee else "Unassigned",
        "reporter": lambda: users[issue.reporter].display_name if issue.reporter else "",
        "created": lambda: issue.created.date(),
        "updated": lambda: issue.updated.date(),
        "due": lambda: issue.duedate or "",
        "duedate": lambda: issue.duedate or "",
        "resolution": lambda: "Done" if issue.resolutiondate else "Unresolved",
        "resolved": lambda: issue.resolutiondate.date() if issue.resolutiondate else "",
        "resolutiondate": lambda: issue.resolutiondate.date() if issue.resolutiondate else "",
        "labels": lambda: ", ".join(issue.labels),
        "fixversion": lambda: ", ".join(issue.fix_versions),
        "fixversions": lambda: ", ".join(issue.fix_versions),
        "parent": lambda: issue.parent or "",
        "story points": lambda: "" if issue.story_points is None else f"{issue.story_points:g}",
    }
    getter = values.get(column)
    try:
        return str(getter()) if getter else ""
    except KeyError:  # an assignee missing from the user catalogue
        return ""


class PageView:
    """The HTML handlers. Each holds the store's lock while it reads and renders."""

    def __init__(self, store: ConfluenceStore, state: SandboxState) -> None:
        self.store = store
        self.state = state

    def view_context(self, page: Page) -> preview.ViewContext:
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

        return preview.ViewContext(jira, page_url, attachment_url)

    def view_page(self, request: Request) -> Response:
        with self.store.lock:
            try:
                page = self.store.page(request.params["id"])
            except ConfluenceError:
                return html_response(404, render_message("Page not found", request.path))
            return html_response(
                200, preview.render_page(self._page_doc(page), self.view_context(page))
            )

    def _page_doc(self, page: Page) -> preview.PageDoc:
        space = self.store.space(page.space_key)
        current, first = page.current, page.versions[0]

        def link(other: Page) -> preview.Link:
            return preview.Link(other.title, _read_url(other))

        byline = (
            f"Version {current.number}, last updated by {current.by.display_name} on "
            f"{current.when:%Y-%m-%d %H:%M} UTC; created by {first.by.display_name}"
        )
        files = [preview.Link(a.title, _download_url(page, a.title)) for a in page.attachments]
        return preview.PageDoc(
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
                return html_response(404, render_message("Space not found", err.message))
            roots = [p for p in self.store.find(space.key, None) if p.parent_id is None]
            tree = [self._tree(p) for p in roots]
            return html_response(200, render_space(space.name, space.key, tree))

    def _tree(self, page: Page) -> TreeNode:
        children = [self._tree(child) for child in self.store.children(page)]
        return TreeNode(preview.Link(page.title, _read_url(page)), children)

    def view_spaces(self, _: Request) -> Response:
        with self.store.lock:
            links = [
                preview.Link(f"{s.name} ({s.key})", _space_url(s.key))
                for s in self.store.spaces.values()
            ]
        return html_response(200, render_spaces(links))


# --- the space views, in the preview's document -------------------------------------------------


@dataclass(frozen=True)
class TreeNode:
    link: preview.Link
    children: list[TreeNode]


def render_space(name: str, key: str, tree: list[TreeNode]) -> str:
    """A space's page tree, for browsing."""
    listing = _tree(tree) if tree else "<p>This space has no pages.</p>"
    heading = f'<h1><bdi>{esc(name)}</bdi> <span class="space-key">({esc(key)})</span></h1>'
    return preview.document(name, heading + listing)


def render_spaces(spaces: list[preview.Link]) -> str:
    return preview.document("Spaces", "<h1>Spaces</h1>" + preview.link_list("", spaces))


def render_message(title: str, message: str) -> str:
    return preview.document(title, f"<h1>{esc(title)}</h1><p>{esc(message)}</p>")


def _tree(nodes: list[TreeNode]) -> str:
    items = "".join(
        f'<li><a href="{esc(node.link.url)}">{esc(node.link.title)}</a>'
        f"{_tree(node.children) if node.children else ''}</li>"
        for node in nodes
    )
    return f'<ul class="tree">{items}</ul>'
