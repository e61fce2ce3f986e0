"""handoff lifecycle: withdrawn escalations, lifecycle event details, the self-claim setting

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:00:00

New nullable columns (and one with a default), added in place on both databases: the handoff's
withdrawal (when, by whom), what a lifecycle event says besides who and when (a transfer's
colleague, a priority change's priorities), and the account's allow_self_claim (false: a user
withdraws their own escalation rather than claiming it). The downgrade drops them; withdrawn
escalations then read as unclaimed ones again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_reference(name: str) -> sa.Column:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("app_user.id"), nullable=True)


def upgrade() -> None:
    op.add_column(
        "account",
        sa.Column("allow_self_claim", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("handoff", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    # REFERENCES inline: SQLite adds a column with its foreign key, not a constraint after it.
    op.add_column("handoff", _user_reference("withdrawn_by_id"), inline_references=True)
    op.add_column("account_event", _user_reference("to_user_id"), inline_references=True)
    op.add_column("account_event", sa.Column("priority", sa.String(length=16), nullable=True))
    op.add_column(
        "account_event", sa.Column("previous_priority", sa.String(length=16), nullable=True)
    )


def downgrade() -> None:
    # Not batches: SQLite (3.35+) drops these columns in place; a batch would recreate tables
    # that rows of other tables point at.
    op.drop_column("account_event", "previous_priority")
    op.drop_column("account_event", "priority")
    op.drop_column("account_event", "to_user_id")
    op.drop_column("handoff", "withdrawn_by_id")
    op.drop_column("handoff", "withdrawn_at")
    op.drop_column("account", "allow_self_claim")
