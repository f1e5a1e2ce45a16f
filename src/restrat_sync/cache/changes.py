"""The changes syncs made that no metric computation has taken in yet (``pending_changes``).

Syncs queue them in the transaction of the change itself (``store._queue_changes``): an issue
new, changed or moved, a mapping whose membership changed. A computation reads the queue,
works from it, and deletes exactly the rows it read when it records its run
(``snapshots.record_metric_run``), so a change that commits meanwhile waits for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from restrat_sync.cache.models import PendingChange
from restrat_sync.cache.store import Cache


@dataclass(frozen=True, slots=True)
class IssueChange:
    key: str
    new: bool  # the cache did not hold it before
    moved: bool  # its place in the graph changed (or it left it, or came back)
    noticed_at: datetime | None = None  # the last sync that changed it


@dataclass(frozen=True, slots=True)
class Changes:
    """What the queue held when read: one entry per issue (new or moved if it ever was since),
    the mappings whose membership changed, and the ids of the rows read."""

    issues: tuple[IssueChange, ...] = ()
    mappings: frozenset[str] = frozenset()
    ids: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.ids


def pending_changes(cache: Cache) -> Changes:
    """The changes no computation has taken in, oldest first."""
    statement = select(PendingChange).order_by(PendingChange.id)
    issues: dict[str, IssueChange] = {}
    mappings: set[str] = set()
    ids: list[int] = []
    with cache.engine.connect() as connection:
        for row in connection.execute(statement):
            ids.append(row.id)
            if row.mapping_key is not None:
                mappings.add(row.mapping_key)
            if row.issue_key is not None:
                seen = issues.get(row.issue_key)
                new = row.new or (seen is not None and seen.new)
                moved = row.moved or (seen is not None and seen.moved)
                # Rows come oldest first: the last one read is the latest.
                issues[row.issue_key] = IssueChange(row.issue_key, new, moved, row.noticed_at)
    return Changes(tuple(issues.values()), frozenset(mappings), tuple(ids))
