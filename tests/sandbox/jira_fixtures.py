"""Hand-built portfolios and a running sandbox around them, for the Jira API tests.

The portfolio is small and fully known: a four-level hierarchy (PORT-1 initiative, PAY-1 epic,
PAY-2 story, PAY-3 sub-task), one story with 300 histories, one with timestamps on both sides of
Europe/Berlin's summer time change, and enough filler stories to need several search pages.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from restrat_sandbox import catalogue
from restrat_sandbox.jira_api import install_jira_routes
from restrat_sandbox.model import (
    ChangeItem,
    History,
    Issue,
    IssueLink,
    Portfolio,
    Status,
    User,
    Version,
)
from restrat_sandbox.server import DEFAULT_TOKEN, DEFAULT_USER, SandboxServer
from tests.sandbox.builders import install_catalogue, pick, serve

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
CALLER = catalogue.SANDBOX_USER
OTHER = User("5b10a2844c20165700ede21g", "mia", "Mia Krystof", "mia@example.com", "Asia/Tokyo")
FILLER_STORIES = 230
LONG_HISTORY = 300
LONG_KEY = "PAY-4"
DST_KEY = "PAY-5"
FILLER_FIRST = 6  # PAY-6 .. PAY-(5 + FILLER_STORIES)

_STATUSES = pick(catalogue.STATUSES, lambda s: s.name, ("To Do", "In Progress", "Done"))
TODO, DOING, DONE = _STATUSES.values()


def _catalogue(portfolio: Portfolio) -> None:
    install_catalogue(
        portfolio,
        projects=("PORT", "PAY"),
        issue_types=("Initiative", "Epic", "Story", "Sub-task"),
        statuses=_STATUSES.keys(),
        priorities=("High", "Medium"),
        link_types=("Implements",),
    )
    for version in (
        Version("10100", "PAY 2025.6", "PAY", True, date(2025, 6, 28)),
        Version("10101", "PAY 2025.7", "PAY", False, None),
    ):
        portfolio.versions[(version.project, version.name)] = version
    portfolio.users[CALLER.account_id] = CALLER
    portfolio.users[OTHER.account_id] = OTHER


def _status_change(history_id: int, when: datetime, old: Status, new: Status) -> History:
    item = ChangeItem("status", "jira", "status", old.id, old.name, new.id, new.name)
    return History(history_id, when, OTHER.account_id, [item])


def _parent_set(history_id: int, when: datetime, parent: Issue) -> History:
    item = ChangeItem("parent", "jira", "parent", None, None, str(parent.id), parent.key)
    return History(history_id, when, CALLER.account_id, [item])


def _issue(issue_id: int, key: str, issuetype: str, created: datetime, **extra: Any) -> Issue:
    return Issue(
        id=issue_id,
        key=key,
        project=key.split("-")[0],
        issuetype=issuetype,
        status=extra.pop("status", TODO.name),
        summary=extra.pop("summary", f"{key} work"),
        created=created,
        updated=extra.pop("updated", created),
        reporter=CALLER.account_id,
        **extra,
    )


def _hierarchy(portfolio: Portfolio) -> None:
    start = NOW - timedelta(days=60)
    initiative = _issue(10001, "PORT-1", "Initiative", start, labels=["theme-growth"])
    portfolio.add_issue(initiative)
    epic = _issue(10002, "PAY-1", "Epic", start, parent="PORT-1", status=DOING.name)
    epic.histories = [
        _parent_set(200001, start + timedelta(hours=1), initiative),
        _status_change(200002, start + timedelta(days=1), TODO, DOING),
    ]
    epic.updated = epic.histories[-1].created
    portfolio.add_issue(epic)
    story = _issue(
        10003,
        "PAY-2",
        "Story",
        start,
        parent="PAY-1",
        story_points=5.0,
        fix_versions=["PAY 2025.6"],
        assignee=OTHER.account_id,
        priority="High",
        duedate=date(2025, 7, 15),
        links=[IssueLink("30001", "Implements", "outward", "PORT-1")],
    )
    story.histories = [
        _parent_set(200003, start + timedelta(hours=2), epic),
        History(
            200004,
            start + timedelta(hours=3),
            CALLER.account_id,
            [ChangeItem("assignee", "jira", "assignee", None, None, OTHER.account_id, "Mia")],
        ),
    ]
    story.updated = story.histories[-1].created
    portfolio.add_issue(story)
    portfolio.add_issue(_issue(10004, "PAY-3", "Sub-task", start, parent="PAY-2"))


def _long_history(portfolio: Portfolio) -> None:
    created = NOW - timedelta(days=30)
    issue = _issue(10005, LONG_KEY, "Story", created)
    states = (TODO, DOING)
    issue.histories = [
        _status_change(
            210000 + n, created + timedelta(hours=n + 1), states[n % 2], states[(n + 1) % 2]
        )
        for n in range(LONG_HISTORY)
    ]
    issue.status = states[LONG_HISTORY % 2].name
    issue.updated = issue.histories[-1].created
    portfolio.add_issue(issue)


def _across_dst(portfolio: Portfolio) -> None:
    # Europe/Berlin: +0100 in January, +0200 in June; resolved in June.
    winter, summer = (
        datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
        datetime(2025, 6, 2, 9, 30, tzinfo=UTC),
    )
    issue = _issue(
        10006, DST_KEY, "Story", winter, status=DONE.name, resolutiondate=summer, updated=summer
    )
    issue.histories = [_status_change(220001, summer, TODO, DONE)]
    portfolio.add_issue(issue)


def build_portfolio(filler: int = FILLER_STORIES) -> Portfolio:
    """The hand-built portfolio; ``filler`` plain stories make multi-page searches."""
    portfolio = Portfolio(now=NOW)
    _catalogue(portfolio)
    _hierarchy(portfolio)
    _long_history(portfolio)
    _across_dst(portfolio)
    base = NOW - timedelta(days=10)
    for n in range(filler):
        number = FILLER_FIRST + n
        portfolio.add_issue(
            _issue(10100 + n, f"PAY-{number}", "Story", base + timedelta(minutes=n))
        )
    return portfolio


def running_sandbox(
    flavor: str, portfolio: Portfolio | None = None, **options: Any
) -> AbstractContextManager[SandboxServer]:
    """A started sandbox with only the Jira routes, around ``portfolio`` (or a fresh one)."""
    return serve(install_jira_routes, build_portfolio, portfolio, flavor=flavor, **options)


def session(user: str = DEFAULT_USER, token: str = DEFAULT_TOKEN) -> requests.Session:
    client = requests.Session()
    client.auth = (user, token)
    client.headers["Accept"] = "application/json"
    return client
