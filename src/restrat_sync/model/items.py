"""Work items as the graph and the metrics see them: plain, immutable values read from the cache.

``metrics.load`` builds these from the cache; everything downstream (``timeline``, ``graph``,
``metrics``) is pure code over them and is tested with hand-built values. All timestamps are
aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# Field-change names, as the cache keeps them (see ``jira.records``).
HIERARCHY_FIELDS = ("parent", "epic_link", "parent_link")  # in the order WorkItem.parent_key uses
PRIORITY = "priority"
LABELS = "labels"  # Jira's changelog string: the labels, space-separated
LINK = "link"  # an issue link made or removed: "This issue implements INIT-1"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One status change from the changelog."""

    at: datetime
    history_id: int
    item_index: int
    from_status_id: str | None
    from_status: str | None  # the name, as Jira wrote it then (localised names happen)
    to_status_id: str | None
    to_status: str | None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A change of a tracked field: ``parent``, ``epic_link``, ``parent_link``, ``priority``,
    ``labels``, ``link``."""

    at: datetime
    history_id: int
    field: str
    from_string: str | None
    to_string: str | None


@dataclass(frozen=True, slots=True)
class Link:
    type_name: str  # e.g. "Implements"
    direction: str  # "outward": this item <outward verb> other_key; "inward": the reverse
    other_key: str


@dataclass(frozen=True, slots=True)
class WorkItem:
    key: str
    summary: str
    project: str
    issuetype: str
    level: int  # Jira's hierarchyLevel, else the config's level for the type (-1 sub-task)
    status_id: str
    status: str
    created: datetime
    resolved: datetime | None
    duedate: date | None
    release_date: date | None  # earliest release date among the fix versions that have one
    story_points: float | None
    labels: tuple[str, ...]
    priority: str | None
    parent_key: str | None  # the hierarchy parent: parent, else Epic Link, else Parent Link
    links: tuple[Link, ...] = ()
    # (field, key) of each hierarchy field set now, in HIERARCHY_FIELDS order; () means
    # ``parent_key`` held in ``parent`` (what hand-built items and Cloud have).
    parent_fields: tuple[tuple[str, str], ...] = ()
    status_changes: tuple[StatusChange, ...] = ()  # any order; timelines sort them
    field_changes: tuple[FieldChange, ...] = ()
    changelog_complete: bool = True  # every history Jira reported is in the cache

    @property
    def due(self) -> date | None:
        """The day the item is due: its due date, else its fix version's release date."""
        return self.duedate if self.duedate is not None else self.release_date
