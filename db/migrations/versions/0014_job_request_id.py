"""job request id: the request that enqueued a job, for the worker's log lines

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 20:10:00

Issue 16 point 7: a worker logs a job's lines with the request id of the request that caused
it. Jobs enqueued before this step have none (null), as have jobs no request caused (a command's).

The downgrade drops the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("request_id")
