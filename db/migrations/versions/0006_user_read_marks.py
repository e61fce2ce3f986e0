"""user read marks: a read mark moves its user's count, not the account's version

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("read_marks", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    # Not a batch: SQLite (3.35+) drops the column in place; a batch would recreate the table,
    # which rows of other tables point at.
    op.drop_column("app_user", "read_marks")
