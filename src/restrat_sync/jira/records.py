"""What restrat-sync keeps of a Jira issue: flavour-neutral, typed, UTC, and nothing more.

``jira.extract`` turns REST JSON (either flavour) into these records; ``cache`` stores them.
Only the fields that the strategy graph and the metrics use are kept (see ``domain.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# Normalised names of the changelog fields kept as field changes. Jira names hierarchy changes
# differently per flavour and level ("IssueParentAssociation", "Parent", "Epic Link",
# "Parent Link"); they are kept under the name of the link they change.
PARENT = "parent"  # Cloud's parent at any level; Data Center's sub-task parent
EPIC_LINK = "epic_link"  # Data Center: story -> epic
PARENT_LINK = "parent_link"  # Data Center (Advanced Roadmaps): epic -> initiative and above
PRIORITY = "priority"
LABELS = "labels"
# An issue link made or removed, worded from this issue's side ("This issue implements INIT-1");
# the link-type catalogue tells which type and direction the verb is (``model.structure``).
LINK = "link"
TRACKED_FIELDS = (PARENT, EPIC_LINK, PARENT_LINK, PRIORITY, LABELS, LINK)


@dataclass(frozen=True, slots=True)
class FixVersion:
    name: str
    released: bool
    release_date: date | None


@dataclass(frozen=True, slots=True)
class LinkTypeRecord:
    """One of Jira's issue link types, with the verbs its two ends are worded with."""

    name: str  # e.g. "Implements"
    inward: str  # e.g. "is implemented by"
    outward: str  # e.g. "implements"


@dataclass(frozen=True, slots=True)
class LinkRecord:
    link_id: str
    type_name: str  # e.g. "Implements"
    direction: str  # "outward": this issue <outward verb> other; "inward": the reverse
    other_key: str


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One status change: a changelog item with field ``status``."""

    history_id: int
    item_index: int  # position of the item within its history
    at: datetime  # aware UTC
    from_status_id: str | None
    from_status: str | None
    to_status_id: str | None
    to_status: str | None


@dataclass(frozen=True, slots=True)
class FieldChangeRecord:
    """One change of a tracked field (``TRACKED_FIELDS``)."""

    history_id: int
    item_index: int
    at: datetime  # aware UTC
    field: str  # one of TRACKED_FIELDS
    from_value: str | None  # Jira's "from" (an id), as sent
    from_string: str | None  # Jira's "fromString" (a key, a name, space-separated labels)
    to_value: str | None
    to_string: str | None


@dataclass(frozen=True, slots=True)
class IssueRecord:
    id: int  # Jira's issue id: stable across moves, unlike the key
    key: str
    project: str  # project key
    issuetype: str
    hierarchy_level: int | None  # issuetype.hierarchyLevel when Jira sends it
    subtask: bool
    status: str
    status_id: str
    status_category: str  # "new" | "indeterminate" | "done"
    summary: str
    created: datetime  # aware UTC
    updated: datetime  # aware UTC
    resolved: datetime | None
    duedate: date | None
    priority: str | None
    story_points: float | None
    labels: tuple[str, ...]
    fix_versions: tuple[FixVersion, ...]
    parent_key: str | None  # fields.parent
    epic_link_key: str | None  # Data Center Epic Link
    parent_link_key: str | None  # Data Center Parent Link
    links: tuple[LinkRecord, ...]
    transitions: tuple[TransitionRecord, ...]  # ordered by (at, history_id, item_index)
    field_changes: tuple[FieldChangeRecord, ...]  # same order
    changelog_total: int  # histories Jira reported; all of them are in the two tuples above


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A status of Jira's catalogue (``GET /rest/api/2/status``)."""

    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"
