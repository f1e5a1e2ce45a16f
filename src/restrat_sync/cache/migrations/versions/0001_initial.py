"""The initial cache: issues with their history and links, statuses, memberships, sync bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from restrat_sync.cache.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than derived from the models: a migration must keep meaning what it meant.
OPEN_SPAN = "left_at IS NULL"


def _issue_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "issue_id",
        sa.BigInteger(),
        sa.ForeignKey("issues.id", name=f"fk_{table}_issue_id_issues", ondelete="CASCADE"),
        nullable=False,
    )


def _history_key(table: str) -> list[sa.Column[int]]:
    return [
        _issue_id(table),
        sa.Column("history_id", sa.BigInteger(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    _create_issues()
    _create_history()
    _create_catalogue_and_memberships()
    _create_bookkeeping()


def _create_issues() -> None:
    op.create_table(
        "issues",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("issuetype", sa.String(), nullable=False),
        sa.Column("hierarchy_level", sa.Integer(), nullable=True),
        sa.Column("subtask", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_id", sa.String(), nullable=False),
        sa.Column("status_category", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("resolved", UTCDateTime(), nullable=True),
        sa.Column("duedate", sa.Date(), nullable=True),
        sa.Column("priority", sa.String(), nullable=True),
        sa.Column("story_points", sa.Float(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("fix_versions", sa.JSON(), nullable=False),
        sa.Column("parent_key", sa.String(), nullable=True),
        sa.Column("epic_link_key", sa.String(), nullable=True),
        sa.Column("parent_link_key", sa.String(), nullable=True),
        sa.Column("changelog_total", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("out_of_scope_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issues"),
    )
    op.create_index("ix_issues_key", "issues", ["key"], unique=True)
    for column in ("updated", "project", "parent_key", "epic_link_key", "parent_link_key"):
        op.create_index(f"ix_issues_{column}", "issues", [column])


def _create_history() -> None:
    op.create_table(
        "status_transitions",
        *_history_key("status_transitions"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status_id", sa.String(), nullable=True),
        sa.Column("from_status", sa.String(), nullable=True),
        sa.Column("to_status_id", sa.String(), nullable=True),
        sa.Column("to_status", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint(
            "issue_id", "history_id", "item_index", name="pk_status_transitions"
        ),
    )
    op.create_index("ix_status_transitions_issue_id_at", "status_transitions", ["issue_id", "at"])
    op.create_table(
        "field_changes",
        *_history_key("field_changes"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("from_string", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("to_string", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("issue_id", "history_id", "item_index", name="pk_field_changes"),
    )
    op.create_table(
        "issue_links",
        _issue_id("issue_links"),
        sa.Column("link_id", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("type_name", sa.String(), nullable=False),
        sa.Column("other_key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "link_id", "direction", name="pk_issue_links"),
    )


def _create_catalogue_and_memberships() -> None:
    op.create_table(
        "statuses",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_statuses"),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mapping_key", sa.String(), nullable=False),
        sa.Column("issue_key", sa.String(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("left_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
    )
    # At most one open span per mapping and issue; closed spans are history and may repeat.
    op.create_index(
        "uq_memberships_open_span",
        "memberships",
        ["mapping_key", "issue_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_SPAN),
        postgresql_where=sa.text(OPEN_SPAN),
    )


def _create_bookkeeping() -> None:
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("watermark_ms", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_sync_state"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("requests", sa.JSON(), nullable=False),
        sa.Column("retries", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_table(
        "metric_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_snapshots"),
        sa.UniqueConstraint(
            "period", "scope", "metric", name="uq_metric_snapshots_period_scope_metric"
        ),
    )
    op.create_table(
        "published_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("page_id", sa.String(), nullable=False),
        sa.Column("cadence", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_published_pages"),
        sa.UniqueConstraint("title", name="uq_published_pages_title"),
    )


def downgrade() -> None:
    for table in (
        "published_pages",
        "metric_snapshots",
        "sync_runs",
        "sync_state",
        "memberships",
        "statuses",
        "issue_links",
        "field_changes",
        "status_transitions",
        "issues",
    ):
        op.drop_table(table)
