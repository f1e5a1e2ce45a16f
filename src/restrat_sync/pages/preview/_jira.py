"""The Jira macro in the preview: a live issue table from a ``JiraSource``, or, offline, the
query the macro would run.

``JiraSource`` is what the preview asks of a Jira: rows of issue data, found by JQL or by key.
The sandbox supplies one over its own issues; a dry run has none, and shows each macro's query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from restrat_sync.pages.preview._markup import MacroError, esc, lozenge


@dataclass(frozen=True)
class IssueRow:
    """One issue as the Jira macro shows it.

    Key, summary and status are linked or coloured, so they have fields of their own;
    ``status_category`` is Jira's category key (``new``, ``indeterminate`` or ``done``).
    ``cells`` holds the text of every other column asked for, by its lower-case name as the
    macro's ``columns`` parameter spells it (``assignee``, ``created``, ``story points``...).
    """

    key: str
    summary: str
    issuetype: str
    status: str
    status_category: str
    cells: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueSearch:
    """What a search found: how many issues match, and the first of them as rows."""

    total: int
    rows: Sequence[IssueRow]


class JiraSource(Protocol):
    """The Jira that the preview's Jira macros read."""

    def search(self, jql: str, columns: Sequence[str], limit: int) -> IssueSearch:
        """The issues matching ``jql``: their number, and the first ``limit`` in the query's
        order with the text of ``columns``; raises MacroError for a query Jira refuses."""
        ...

    def issue(self, key: str) -> IssueRow | None:
        """The issue ``key`` (no cells needed), or None when there is none."""
        ...

    def user_name(self, account_id: str) -> str | None:
        """The display name of a user mentioned on a page, or None for an unknown one."""
        ...

    def browse_url(self, key: str) -> str: ...

    def search_url(self, jql: str) -> str: ...


# Confluence's own default column set for the Jira macro.
DEFAULT_COLUMNS = "type,key,summary,assignee,reporter,priority,status,resolution,created,updated"
DEFAULT_COLUMNS += ",due"
COLUMN_TITLES = {
    "type": "T",
    "issuetype": "T",
    "key": "Key",
    "summary": "Summary",
    "status": "Status",
    "assignee": "Assignee",
    "reporter": "Reporter",
    "priority": "P",
    "created": "Created",
    "updated": "Updated",
    "due": "Due",
    "duedate": "Due",
    "resolution": "Resolution",
    "resolved": "Resolved",
    "resolutiondate": "Resolved",
    "labels": "Labels",
    "fixversion": "Fix Version/s",
    "fixversions": "Fix Version/s",
    "parent": "Parent",
    "story points": "Story Points",
}
CATEGORY_COLOURS = {"new": "grey", "indeterminate": "blue", "done": "green"}


def jira_macro(params: Mapping[str, str], jira: JiraSource | None) -> str:
    """The Jira macro with ``params`` as HTML; raises MacroError for what cannot be shown."""
    if jira is None:  # an offline preview (a dry run): show what the macro asks for
        asked = f"issue {params['key']}" if params.get("key") else params.get("jqlQuery", "")
        return f'<div class="jira-issues jira-offline">Jira issues: <code>{esc(asked)}</code></div>'
    if params.get("key"):
        return _single_issue(params["key"], jira)
    jql = params.get("jqlQuery", "").strip()
    if not jql:
        raise MacroError(["The Jira macro needs a JQL query or an issue key."])
    if params.get("count", "").lower() == "true":
        total = jira.search(jql, [], 0).total
        count = f"{total} issue{'' if total == 1 else 's'}"
        return f'<a class="jira-count" href="{esc(jira.search_url(jql))}">{esc(count)}</a>'
    limit = _int_or(params.get("maximumIssues"), 20)
    columns = [c.strip().lower() for c in (params.get("columns") or DEFAULT_COLUMNS).split(",")]
    columns = [c for c in columns if c]
    return _issue_table(jira.search(jql, columns, limit), columns, limit, jql, jira)


def _int_or(value: str | None, default: int) -> int:
    try:
        return max(0, int(value or ""))
    except ValueError:
        return default


def _single_issue(key: str, jira: JiraSource) -> str:
    issue = jira.issue(key.strip())
    if issue is None:
        raise MacroError([f"Unable to locate Jira issue: {key}"])
    return (
        f'<span class="jira-issue">{esc(issue.issuetype)} '
        f'<a href="{esc(jira.browse_url(issue.key))}">{esc(issue.key)}</a> '
        f"<bdi>{esc(issue.summary)}</bdi> {_issue_status(issue)}</span>"
    )


def _issue_table(
    found: IssueSearch, columns: list[str], limit: int, jql: str, jira: JiraSource
) -> str:
    shown = found.rows[:limit]
    head = "".join(f"<th>{esc(COLUMN_TITLES.get(c, c.title()))}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(issue, c, jira)}</td>" for c in columns) + "</tr>"
        for issue in shown
    )
    total = found.total
    noun = "issue" if total == 1 else "issues"
    count = f"{total} {noun}" if len(shown) == total else f"{len(shown)} of {total} {noun}"
    link = f'<a href="{esc(jira.search_url(jql))}">{esc(count)}</a>'
    return (
        f'<div class="jira-issues"><table class="jira-table"><thead><tr>{head}</tr></thead>'
        f'<tbody>{rows}</tbody></table><p class="jira-count">{link}</p></div>'
    )


def _issue_status(issue: IssueRow) -> str:
    return lozenge(issue.status, CATEGORY_COLOURS.get(issue.status_category, "grey"))


def _cell(issue: IssueRow, column: str, jira: JiraSource) -> str:
    if column == "key":
        return f'<a href="{esc(jira.browse_url(issue.key))}">{esc(issue.key)}</a>'
    if column == "summary":
        return f"<bdi>{esc(issue.summary)}</bdi>"
    if column == "status":
        return _issue_status(issue)
    return esc(issue.cells.get(column, ""))
