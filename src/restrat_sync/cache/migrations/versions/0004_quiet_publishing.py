"""Quiet publishing: the changes the metrics have not taken in, snapshots compared by hash, the
metric runs, and when each page was last found current.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from restrat_sync.cache.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An upgraded cache has no metric run yet: its first computation takes in everything.
    op.create_table(
        "pending_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_key", sa.String(), nullable=True),
        sa.Column("mapping_key", sa.String(), nullable=True),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("noticed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_changes"),
    )
    with op.batch_alter_table("metric_snapshots") as snapshots:
        snapshots.add_column(sa.Column("value_hash", sa.String(), nullable=True))
    with op.batch_alter_table("published_pages") as pages:
        pages.add_column(sa.Column("checked_at", UTCDateTime(), nullable=True))
    op.create_table(
        "metric_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("periods", sa.JSON(), nullable=False),
        sa.Column("touched", sa.JSON(), nullable=True),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_runs"),
    )


def downgrade() -> None:
    op.drop_table("metric_runs")
    with op.batch_alter_table("published_pages") as pages:
        pages.drop_column("checked_at")
    with op.batch_alter_table("metric_snapshots") as snapshots:
        snapshots.drop_column("value_hash")
    op.drop_table("pending_changes")
