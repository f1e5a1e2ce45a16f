"""The cache's tables as typed SQLAlchemy models.

Migrations (``migrations/versions``) create these tables; a test checks that both agree. Every
timestamp is a ``UTCDateTime``: aware UTC in Python, whatever the backend.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from restrat_sync.cache.types import CompressedJSON, UTCDateTime

# Explicit constraint names, so that later migrations can address them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
OPEN_SPAN = "left_at IS NULL"
OPEN_UNTIL = "until IS NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        date: Date(),
        str: String(),
        dict[str, int]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


def _issue_fk() -> ForeignKey:
    # History and links are the issue's own: they go when the issue row goes.
    return ForeignKey("issues.id", ondelete="CASCADE")


class Issue(Base):
    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(index=True, unique=True)
    project: Mapped[str] = mapped_column(index=True)
    issuetype: Mapped[str]
    hierarchy_level: Mapped[int | None]
    subtask: Mapped[bool]
    status: Mapped[str]
    status_id: Mapped[str]
    status_category: Mapped[str]
    summary: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    updated: Mapped[datetime] = mapped_column(index=True)
    resolved: Mapped[datetime | None]
    duedate: Mapped[date | None]
    priority: Mapped[str | None]
    story_points: Mapped[float | None] = mapped_column(Float)
    labels: Mapped[list[str]]
    fix_versions: Mapped[list[dict[str, Any]]]  # {name, released, release_date (ISO) | None}
    parent_key: Mapped[str | None] = mapped_column(index=True)
    epic_link_key: Mapped[str | None] = mapped_column(index=True)
    parent_link_key: Mapped[str | None] = mapped_column(index=True)
    changelog_total: Mapped[int]
    first_seen_at: Mapped[datetime]
    synced_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]  # Jira no longer has the issue
    out_of_scope_at: Mapped[datetime | None]  # no mapping selects it any more


class StatusTransition(Base):
    __tablename__ = "status_transitions"
    __table_args__ = (Index("ix_status_transitions_issue_id_at", "issue_id", "at"),)

    issue_id: Mapped[int] = mapped_column(BigInteger, _issue_fk(), primary_key=True)
    history_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_index: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    from_status_id: Mapped[str | None]
    from_status: Mapped[str | None]
    to_status_id: Mapped[str | None]
    to_status: Mapped[str | None]


class FieldChange(Base):
    __tablename__ = "field_changes"

    issue_id: Mapped[int] = mapped_column(BigInteger, _issue_fk(), primary_key=True)
    history_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_index: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    field: Mapped[str]
    from_value: Mapped[str | None] = mapped_column(Text)
    from_string: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    to_string: Mapped[str | None] = mapped_column(Text)


class IssueLink(Base):
    __tablename__ = "issue_links"

    issue_id: Mapped[int] = mapped_column(BigInteger, _issue_fk(), primary_key=True)
    link_id: Mapped[str] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(primary_key=True)  # "outward" | "inward"
    type_name: Mapped[str]
    other_key: Mapped[str]


class Status(Base):
    __tablename__ = "statuses"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    category: Mapped[str]


class LinkType(Base):
    """Jira's issue link types: the verbs a changelog words a link with, from either end."""

    __tablename__ = "link_types"

    name: Mapped[str] = mapped_column(primary_key=True)
    inward: Mapped[str]
    outward: Mapped[str]


class Membership(Base):
    """A span during which ``issue_key`` was selected by the mapping's JQL."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_open_span",
            "mapping_key",
            "issue_key",
            unique=True,
            sqlite_where=text(OPEN_SPAN),
            postgresql_where=text(OPEN_SPAN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_key: Mapped[str]  # "theme:GROWTH", "kr:GROWTH:0", ...
    issue_key: Mapped[str]
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class ThemeAttribution(Base):
    """A span during which ``issue_key`` was attributed to ``theme`` (a theme key or UNALIGNED),
    recorded each time metrics are computed: theme changes between syncs are pivots."""

    __tablename__ = "theme_attributions"
    __table_args__ = (
        Index(
            "uq_theme_attributions_open_span",
            "issue_key",
            unique=True,
            sqlite_where=text(OPEN_UNTIL),
            postgresql_where=text(OPEN_UNTIL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_key: Mapped[str]
    theme: Mapped[str]
    since: Mapped[datetime]
    until: Mapped[datetime | None]


class SyncState(Base):
    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(primary_key=True)  # a mapping key or a cursor name
    watermark_ms: Mapped[int | None] = mapped_column(BigInteger)  # epoch milliseconds
    updated_at: Mapped[datetime]


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str]  # "running" | "ok" | "failed"
    full: Mapped[bool]
    counts: Mapped[dict[str, int]]
    requests: Mapped[dict[str, int]]  # endpoint -> requests sent
    retries: Mapped[dict[str, int]]
    error: Mapped[str | None] = mapped_column(Text)


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("period", "scope", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str]  # "2026-W47", "2026-11", "2026-Q4"
    scope: Mapped[str]  # "overall", "theme:GROWTH"
    metric: Mapped[str]
    computed_at: Mapped[datetime]  # when the value was last computed *with a different value*
    value: Mapped[Any] = mapped_column(CompressedJSON)  # compressed on SQLite
    value_hash: Mapped[str | None]  # sha256 of the value's canonical JSON: compared, not read


class Restatement(Base):
    """A number of a closed period that a later computation changed: what it was, what it is,
    when, and the issues whose changes caused it (``metrics.restatements``)."""

    __tablename__ = "restatements"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(index=True)  # "2026-W47", "2026-11", "2026-Q4"
    scope: Mapped[str]  # "overall", "theme:GROWTH", "unaligned"
    metric: Mapped[str]  # "alignment", "flow", ...
    number: Mapped[str]  # "av", "share:GROWTH", "velocity", ...
    old_value: Mapped[float | None] = mapped_column(Float)
    new_value: Mapped[float | None] = mapped_column(Float)
    restated_at: Mapped[datetime]
    previous_computed_at: Mapped[datetime]  # when the old value had been computed
    causes: Mapped[list[str]]  # issue keys


class ClosedPeriod(Base):
    """When a calendar period was first computed after it ended: from then on its snapshots
    are the numbers as known at its close, and a change to one is a restatement."""

    __tablename__ = "closed_periods"

    period: Mapped[str] = mapped_column(primary_key=True)
    closed_at: Mapped[datetime]


class PendingChange(Base):
    """A change a sync made that no metric computation has taken in yet: an issue that is new,
    changed (a field, history, links, a flag) or moved, or a mapping whose membership changed.

    Written in the transaction of the change, deleted by the computation that took it in (the
    very rows it read): unlike a comparison of timestamps, this misses nothing that commits
    while a computation runs on another replica."""

    __tablename__ = "pending_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_key: Mapped[str | None]
    mapping_key: Mapped[str | None]  # "theme:GROWTH", "kr:GROWTH:0"
    new: Mapped[bool] = mapped_column(default=False)  # the cache did not hold the issue
    # Its place in the graph changed (parent, Epic Link, Parent Link, links, key, a flag): the
    # neighbours it had are not known any more.
    moved: Mapped[bool] = mapped_column(default=False)
    noticed_at: Mapped[datetime]


class MetricRun(Base):
    """One computation of the metrics by the dashboards (``dashboards.refresh_metrics``): when,
    with which config, and what it touched. The latest says what is up to date."""

    __tablename__ = "metric_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime]
    fingerprint: Mapped[str]  # of the config, JQL, status catalogue, version it computed with
    periods: Mapped[list[str]]  # the labels computed (besides "current")
    touched: Mapped[list[str] | None] = mapped_column(JSON)  # buckets whose data changed; None: all
    changed: Mapped[int]  # snapshots whose value changed


class PublishedPage(Base):
    __tablename__ = "published_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(unique=True)
    page_id: Mapped[str]
    cadence: Mapped[str]
    period: Mapped[str]
    content_hash: Mapped[str]
    version: Mapped[int]
    published_at: Mapped[datetime]  # restrat-sync's last write (or adoption) of the page
    # The last time restrat-sync wrote the page or found it as it would write it: what the
    # page shows is current as of then. None: not since this column exists.
    checked_at: Mapped[datetime | None]


class JobFiring(Base):
    """One firing of a scheduled worker job, claimed by the runner that runs it: the unique
    (job, firing) pair lets replicas that share the database run each firing once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "firing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str]  # "sync", "weekly", "monthly", "quarterly"
    firing: Mapped[datetime]  # the scheduled fire time, the same on every replica
    runner: Mapped[str]  # "host:pid"
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str]  # "running" | "ok" | "failed" | "interrupted"
    detail: Mapped[str | None] = mapped_column(Text)
