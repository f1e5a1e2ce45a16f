"""A fingerprint of the cache's content, for tests that compare two caches.

A sync that was killed and run again must leave the cache a clean sync leaves. The digest covers
what Jira said and what the sync concluded from it, but none of the moments at which the sync
happened to run: bookkeeping timestamps, membership span times and watermark values (Jira's
clock at the start of a sync) are reduced to whether they are set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, select
from sqlalchemy.engine import Connection

from restrat_sync.cache.models import Base
from restrat_sync.cache.store import Cache

Row = Sequence[Any]


def _is_set(value: Any) -> bool:
    return value is not None


def _as_is(value: Any) -> Any:
    return value


ISSUE_COLUMNS = (
    "id", "key", "project", "issuetype", "hierarchy_level", "subtask", "status", "status_id",
    "status_category", "summary", "created", "updated", "resolved", "duedate", "priority",
    "story_points", "labels", "fix_versions", "parent_key", "epic_link_key", "parent_link_key",
    "changelog_total",
)  # fmt: skip
HISTORY_KEY = ("issue_id", "history_id", "item_index", "at")
# Per table: the columns digested as they are, then those reduced to "is set".
DIGESTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "issues": (ISSUE_COLUMNS, ("deleted_at", "out_of_scope_at")),
    "status_transitions": (
        (*HISTORY_KEY, "from_status_id", "from_status", "to_status_id", "to_status"),
        (),
    ),
    "field_changes": (
        (*HISTORY_KEY, "field", "from_value", "from_string", "to_value", "to_string"),
        (),
    ),
    "issue_links": (("issue_id", "link_id", "direction", "type_name", "other_key"), ()),
    "statuses": (("id", "name", "category"), ()),
    "memberships": (("mapping_key", "issue_key"), ("left_at",)),
    "sync_state": (("key",), ("watermark_ms",)),
}


def table_digest(cache: Cache) -> str:
    """SHA-256 (hex) over the cache's content, independent of row order and of the backend."""
    digest = hashlib.sha256()
    with cache.engine.connect() as connection:
        for name, (kept, reduced) in DIGESTED.items():
            digest.update(f"table {name}\n".encode())
            for line in sorted(_lines(connection, name, kept, reduced)):
                digest.update(line.encode() + b"\n")
    return digest.hexdigest()


def _lines(
    connection: Connection, name: str, kept: Sequence[str], reduced: Sequence[str]
) -> Iterator[str]:
    table = Base.metadata.tables[name]
    columns: list[Column[Any]] = [table.c[column] for column in (*kept, *reduced)]
    transforms: list[Callable[[Any], Any]] = [_as_is] * len(kept) + [_is_set] * len(reduced)
    for row in connection.execute(select(*columns)):
        values = [transform(value) for transform, value in zip(transforms, row, strict=True)]
        yield json.dumps(values, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()  # datetimes come back aware UTC from UTCDateTime
    raise TypeError(f"cannot digest {type(value).__name__}")
