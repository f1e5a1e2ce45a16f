"""The sandbox's in-memory Jira data: one portfolio of projects, issues and their catalogues.

This is the single source of truth the sandbox serves. Issues are kept flavour-neutral: a
generic ``parent`` key stands for whatever link Jira would show (``fields.parent`` on Cloud;
Epic Link, Parent Link or ``parent`` on Data Center, by hierarchy level), and every timestamp is
an aware UTC ``datetime``. Rendering to REST JSON, in the caller's flavour and time zone, happens
in ``jira_api``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime

# Flavour-neutral names of changelog items whose Jira name depends on flavour and level: the
# renderer turns PARENT_CHANGE into IssueParentAssociation (Cloud) or Epic Link / Parent Link /
# Parent (Data Center), and STORY_POINTS_CHANGE into the flavour's story points field.
PARENT_CHANGE = "parent"
STORY_POINTS_CHANGE = "story_points"

STATUS_CATEGORIES = {
    # key -> (id, display name, colour name); these are Jira's own, identical on every instance.
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    # -1 sub-task, 0 story/task/bug, 1 epic, 2 initiative (Jira's issuetype.hierarchyLevel).
    hierarchy_level: int

    @property
    def subtask(self) -> bool:
        return self.hierarchy_level == -1


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    category: str  # a key of STATUS_CATEGORIES


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    name: str
    project: str
    released: bool
    release_date: date | None


@dataclass(frozen=True, slots=True)
class User:
    account_id: str  # Cloud identity
    name: str  # Data Center username (also its `key`)
    display_name: str
    email: str
    time_zone: str  # IANA name; Jira renders timestamps in it


@dataclass(frozen=True, slots=True)
class LinkType:
    id: str
    name: str  # e.g. "Implements"
    inward: str  # e.g. "is implemented by"
    outward: str  # e.g. "implements"


@dataclass(slots=True)
class ChangeItem:
    """One field change inside a changelog history, exactly as Jira names its parts."""

    field: str
    fieldtype: str  # "jira" for system fields, "custom" for custom fields
    field_id: str | None
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None


@dataclass(slots=True)
class History:
    id: int
    created: datetime  # aware, UTC
    author: str  # User.account_id
    items: list[ChangeItem]


@dataclass(frozen=True, slots=True)
class IssueLink:
    id: str
    type_name: str  # LinkType.name
    direction: str  # "outward" (this issue <outward> other) or "inward"
    other_key: str


@dataclass(slots=True)
class Issue:
    id: int
    key: str
    project: str  # Project.key
    issuetype: str  # IssueType.name
    status: str  # Status.name
    summary: str
    created: datetime  # aware, UTC
    updated: datetime  # aware, UTC
    resolutiondate: datetime | None = None
    duedate: date | None = None
    priority: str = "Medium"
    labels: list[str] = field(default_factory=list)
    parent: str | None = None  # key of the hierarchical parent, flavour-neutral
    fix_versions: list[str] = field(default_factory=list)  # Version.name within the project
    assignee: str | None = None  # User.account_id
    reporter: str | None = None  # User.account_id
    story_points: float | None = None
    links: list[IssueLink] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)  # oldest first

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


@dataclass
class Portfolio:
    """Everything the sandbox's Jira holds. Mutations go through ``lock``."""

    now: datetime  # the reference instant the generated data ends at (aware, UTC)
    projects: dict[str, Project] = field(default_factory=dict)  # by key
    issue_types: dict[str, IssueType] = field(default_factory=dict)  # by name
    statuses: dict[str, Status] = field(default_factory=dict)  # by name
    priorities: dict[str, Priority] = field(default_factory=dict)  # by name
    versions: dict[tuple[str, str], Version] = field(default_factory=dict)  # by (project, name)
    users: dict[str, User] = field(default_factory=dict)  # by account_id
    link_types: dict[str, LinkType] = field(default_factory=dict)  # by name
    issues: dict[str, Issue] = field(default_factory=dict)  # by key, in creation order
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    _by_id: dict[int, Issue] = field(default_factory=dict, repr=False, compare=False)
    _last_history_id: int = field(default=100000, repr=False, compare=False)

    def add_issue(self, issue: Issue) -> None:
        self.issues[issue.key] = issue
        self._by_id[issue.id] = issue
        for history in issue.histories:
            self._last_history_id = max(self._last_history_id, history.id)

    def remove_issue(self, issue: Issue) -> None:
        del self.issues[issue.key]
        del self._by_id[issue.id]

    def find_issue(self, id_or_key: str) -> Issue | None:
        """Look an issue up the way Jira's ``{issueIdOrKey}`` path segment does."""
        if id_or_key.isdigit():
            return self._by_id.get(int(id_or_key))
        return self.issues.get(id_or_key.upper())

    def next_issue_id(self) -> int:
        return max(self._by_id, default=10000) + 1

    def next_history_id(self) -> int:
        """A fresh changelog id; histories appended later always sort after older ones."""
        self._last_history_id += 1
        return self._last_history_id

    def level_of(self, issue: Issue) -> int:
        return self.issue_types[issue.issuetype].hierarchy_level

    def category_of(self, issue: Issue) -> str:
        return self.statuses[issue.status].category
