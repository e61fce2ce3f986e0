"""notifications people control: preferences, account defaults, and each user's in-app list

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 06:00:00

Issue 15 point 4: a user's notification preferences (each null follows the account's default),
the account's defaults (no row: the desk's own), and the in-app notifications of each user.
Nothing before this step is carried over: every user follows the desk's defaults, which send
the emails the desk sent before, and nobody has notifications yet.

The downgrade drops the three tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_defaults",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("new_escalations", sa.String(length=16), nullable=False),
        sa.Column("my_escalations", sa.Boolean(), nullable=False),
        sa.Column("in_app_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("new_escalations", sa.String(length=16), nullable=True),
        sa.Column("my_escalations", sa.Boolean(), nullable=True),
        sa.Column("in_app_only", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("handoff_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_user", "notification", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notification_user", table_name="notification")
    op.drop_table("notification")
    op.drop_table("notification_preference")
    op.drop_table("notification_defaults")
