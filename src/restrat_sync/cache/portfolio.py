"""Reading the cache as the metrics need it: every live issue as a ``WorkItem``, in bulk.

One query per table, streamed and grouped by issue id in Python: fewer round trips than any
join, and the history tables are read once whatever the number of periods computed later.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.sql import ColumnElement

from restrat_sync.cache.models import LinkType, Membership, Status, SyncRun
from restrat_sync.cache.store import Cache
from restrat_sync.model.items import HIERARCHY_FIELDS, FieldChange, Link, StatusChange, WorkItem
from restrat_sync.model.structure import MemberSpan

LevelOf = Callable[[int | None, str, bool], int]  # (hierarchyLevel, issue type, sub-task) -> level
STREAM_ROWS = 10_000


@dataclass(frozen=True)
class CachedPortfolio:
    """What the cache holds for the metrics."""

    items: dict[str, WorkItem]
    categories: dict[str, str]  # status id -> category, from Jira's catalogue
    current_categories: dict[str, str]  # item key -> its current status's category
    members: dict[str, set[str]]  # mapping key -> keys it selects now
    last_sync_at: datetime | None  # end of the last successful sync
    # The themes' membership spans, open and closed (the graph with memory's anchors).
    theme_spans: tuple[MemberSpan, ...] = ()
    link_types: tuple[tuple[str, str, str], ...] = ()  # (name, inward, outward)


ISSUE_COLUMNS = (
    "id", "key", "summary", "project", "issuetype", "hierarchy_level", "subtask", "status_id",
    "status", "status_category", "created", "resolved", "duedate", "fix_versions", "story_points",
    "labels", "priority", "parent_key", "epic_link_key", "parent_link_key",
)  # fmt: skip
TRANSITION_COLUMNS = (
    "issue_id", "at", "history_id", "item_index", "from_status_id", "from_status",
    "to_status_id", "to_status",
)  # fmt: skip
CHANGE_COLUMNS = ("issue_id", "at", "history_id", "field", "from_string", "to_string")
LINK_COLUMNS = ("issue_id", "type_name", "direction", "other_key")
LIVE = "deleted_at IS NULL AND out_of_scope_at IS NULL"
THEME_PREFIX = "theme:"  # the mapping key of a theme's JQL


def read_portfolio(cache: Cache, level_of: LevelOf) -> CachedPortfolio:
    """Every live issue (neither deleted nor out of scope) with its history and links."""
    with cache.engine.connect() as connection:
        raw = _Raw(connection)
        transitions = raw.grouped("status_transitions", TRANSITION_COLUMNS, raw.status_change)
        changes = raw.grouped("field_changes", CHANGE_COLUMNS, raw.field_change)
        links = raw.grouped("issue_links", LINK_COLUMNS, lambda row: Link(*row[1:]))
        items: dict[str, WorkItem] = {}
        current: dict[str, str] = {}
        # Identifiers from the constants above only: nothing user-supplied reaches the SQL.
        issues = f"SELECT {', '.join(ISSUE_COLUMNS)} FROM issues WHERE {LIVE}"  # noqa: S608
        for row in raw.rows(issues):
            item = raw.item(row, level_of, transitions, changes, links)
            items[item.key] = item
            current[item.key] = row[9]
        categories = dict(connection.execute(select(Status.id, Status.category)).all())
        return CachedPortfolio(
            items=items,
            categories=categories,
            current_categories=current,
            members=_open_members(connection),
            last_sync_at=_last_success(connection),
            theme_spans=_theme_spans(connection),
            link_types=_link_types(connection),
        )


def status_catalogue(cache: Cache) -> list[tuple[str, str, str]]:
    """Jira's status catalogue as stored: (id, name, category), by id."""
    statement = select(Status.id, Status.name, Status.category).order_by(Status.id)
    with cache.engine.connect() as connection:
        return [(row[0], row[1], row[2]) for row in connection.execute(statement)]


class _Raw:
    """Rows straight from the driver, converted here: a TypeDecorator per value costs seconds
    on 100,000 issues. SQLite hands back text for timestamps and JSON, PostgreSQL objects."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"

    def rows(self, sql: str) -> Iterator[tuple[Any, ...]]:
        # The driver's own cursor, in batches: SQLAlchemy's result layer costs about a
        # microsecond a row, half a second on the 380,000 rows of 100,000 issues.
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(STREAM_ROWS):
                yield from batch
        finally:
            cursor.close()

    def grouped(
        self, table: str, columns: tuple[str, ...], build: Callable[[tuple[Any, ...]], Any]
    ) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in self.rows(f"SELECT {', '.join(columns)} FROM {table}"):  # noqa: S608
            grouped[row[0]].append(build(row))
        return grouped

    def utc(self, value: Any) -> datetime:
        if isinstance(value, str):
            # SQLite holds naive UTC (see ``UTCDateTime``). Parsing the text with its offset
            # spelled out is several times faster than ``datetime.replace``, and a run reads
            # 400,000 of these.
            return datetime.fromisoformat(value + "+00:00")
        return _utc(value)

    def json(self, value: Any) -> Any:
        if value == "[]":  # most labels and fix versions: spare the parser
            return []
        return json.loads(value) if isinstance(value, str) else value

    def status_change(self, row: tuple[Any, ...]) -> StatusChange:
        return StatusChange(self.utc(row[1]), *row[2:])

    def field_change(self, row: tuple[Any, ...]) -> FieldChange:
        return FieldChange(self.utc(row[1]), *row[2:])

    def item(
        self,
        row: tuple[Any, ...],
        level_of: LevelOf,
        transitions: Mapping[int, list[StatusChange]],
        changes: Mapping[int, list[FieldChange]],
        links: Mapping[int, list[Link]],
    ) -> WorkItem:
        (issue_id, key, summary, project, issuetype, level, subtask, status_id, status, _,
         created, resolved, duedate, fix_versions, points, labels, priority, parent, epic_link,
         parent_link) = row  # fmt: skip
        history = transitions.get(issue_id, [])
        return WorkItem(
            key=key,
            summary=summary,
            project=project,
            issuetype=issuetype,
            level=level_of(level, issuetype, bool(subtask)),
            status_id=status_id,
            status=status,
            created=self.utc(created),
            resolved=None if resolved is None else self.utc(resolved),
            duedate=date.fromisoformat(duedate) if isinstance(duedate, str) else duedate,
            release_date=_earliest_release(self.json(fix_versions)),
            story_points=points,
            labels=tuple(self.json(labels)),
            priority=priority,
            parent_key=parent or epic_link or parent_link,
            parent_fields=tuple(
                (name, value)
                for name, value in zip(
                    HIERARCHY_FIELDS, (parent, epic_link, parent_link), strict=True
                )
                if value
            ),
            links=tuple(links.get(issue_id, ())),
            status_changes=tuple(history),
            field_changes=tuple(changes.get(issue_id, ())),
            changelog_complete=_leads_to_current_status(history, status_id),
        )


def _leads_to_current_status(history: list[StatusChange], status_id: str) -> bool:
    """A changelog whose last status change does not end in the current status is missing
    histories (a completion that failed, or an edit Jira did not log)."""
    if not history:
        return True  # created in its current status: nothing to contradict
    last = max(history, key=lambda c: (c.at, c.history_id, c.item_index))
    return last.to_status_id == status_id


def _earliest_release(fix_versions: list[dict[str, Any]]) -> date | None:
    dates = [date.fromisoformat(v["release_date"]) for v in fix_versions if v.get("release_date")]
    return min(dates, default=None)


def _open_members(connection: Connection) -> dict[str, set[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    statement = select(Membership.mapping_key, Membership.issue_key).where(
        Membership.left_at.is_(None)
    )
    for mapping_key, issue_key in connection.execute(statement):
        members[mapping_key].add(issue_key)
    return dict(members)


def _theme_spans(connection: Connection) -> tuple[MemberSpan, ...]:
    """Every membership span of every theme mapping (``theme:KEY``), by theme, key and time."""
    columns = (
        Membership.mapping_key,
        Membership.issue_key,
        Membership.joined_at,
        Membership.left_at,
    )
    statement = (
        select(*columns)
        .where(Membership.mapping_key.startswith(THEME_PREFIX, autoescape=True))
        .order_by(*columns[:3])
    )
    return tuple(
        MemberSpan(mapping.removeprefix(THEME_PREFIX), key, _utc(joined), left and _utc(left))
        for mapping, key, joined, left in connection.execute(statement)
    )


def _link_types(connection: Connection) -> tuple[tuple[str, str, str], ...]:
    statement = select(LinkType.name, LinkType.inward, LinkType.outward).order_by(LinkType.name)
    return tuple((name, inward, outward) for name, inward, outward in connection.execute(statement))


def _last_success(connection: Connection) -> datetime | None:
    ok: ColumnElement[bool] = SyncRun.outcome == "ok"
    statement = select(SyncRun.finished_at).where(ok).order_by(SyncRun.id.desc()).limit(1)
    return connection.execute(statement).scalar()


def last_sync_by(cache: Cache, moment: datetime) -> datetime | None:
    """The end of the last successful sync that had finished by ``moment``."""
    ok: ColumnElement[bool] = (SyncRun.outcome == "ok") & (SyncRun.finished_at <= moment)
    statement = select(SyncRun.finished_at).where(ok).order_by(SyncRun.finished_at.desc()).limit(1)
    with cache.engine.connect() as connection:
        found: datetime | None = connection.execute(statement).scalar()
        return found


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
