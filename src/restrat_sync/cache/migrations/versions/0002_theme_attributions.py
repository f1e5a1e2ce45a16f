"""Theme attribution history: which theme each item was attributed to, and since when.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from restrat_sync.cache.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_UNTIL = "until IS NULL"


def upgrade() -> None:
    op.create_table(
        "theme_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_key", sa.String(), nullable=False),
        sa.Column("theme", sa.String(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_theme_attributions"),
    )
    # At most one open span per issue: an item has one theme at a time.
    op.create_index(
        "uq_theme_attributions_open_span",
        "theme_attributions",
        ["issue_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_UNTIL),
        postgresql_where=sa.text(OPEN_UNTIL),
    )


def downgrade() -> None:
    op.drop_index("uq_theme_attributions_open_span", table_name="theme_attributions")
    op.drop_table("theme_attributions")
