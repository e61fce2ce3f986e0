"""the queue index in the queue's order: unclaimed first, then priority, newest

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_handoff_queue", table_name="handoff")
    op.create_index(
        "ix_handoff_queue",
        "handoff",
        [
            "account_id",
            "intent",
            sa.text("(claimed_by_id IS NULL)"),
            "priority_rank",
            "created_at",
            "id",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_queue", table_name="handoff")
    op.create_index(
        "ix_handoff_queue", "handoff", ["account_id", "intent", "priority_rank", "created_at"]
    )
