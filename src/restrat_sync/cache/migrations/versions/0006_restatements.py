"""Restatements: the numbers of closed periods that later computations changed, and when each
period was first computed after it ended.

A cache upgraded from 0005 has no record of closings: the next computation of each ended
period records its closing, and restatements are found from then on (so the first
computation after an upgrade, which a new release makes of everything, restates nothing).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from restrat_sync.cache.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "restatements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("new_value", sa.Float(), nullable=True),
        sa.Column("restated_at", UTCDateTime(), nullable=False),
        sa.Column("previous_computed_at", UTCDateTime(), nullable=False),
        sa.Column("causes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_restatements"),
    )
    op.create_index("ix_restatements_period", "restatements", ["period"])
    op.create_table(
        "closed_periods",
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period", name="pk_closed_periods"),
    )


def downgrade() -> None:
    op.drop_table("closed_periods")
    op.drop_index("ix_restatements_period", table_name="restatements")
    op.drop_table("restatements")
