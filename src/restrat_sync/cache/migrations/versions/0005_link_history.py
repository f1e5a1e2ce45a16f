"""The graph with memory: Jira's link-type catalogue, and every changelog read again once.

Link changes ("This issue implements INIT-1") are kept as field changes from this release on.
The histories of the issues already cached were stored without them, so the watermarks are
dropped: the next sync reads every mapping whole again, with complete changelogs, and the
upserts add the link changes it finds (nothing else changes; the rows stay).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_types",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("inward", sa.String(), nullable=False),
        sa.Column("outward", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_link_types"),
    )
    op.execute("DELETE FROM sync_state")


def downgrade() -> None:
    op.drop_table("link_types")
