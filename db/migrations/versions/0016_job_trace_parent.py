"""job trace parent: the trace of the request that enqueued a job, for the worker's span

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 21:00:00

Issue 16 point 7: when traces are on, a job keeps its request's W3C trace context (a
`traceparent`, 55 characters in version 00), and the worker's span for it joins that trace.
Jobs enqueued before this step, or with traces off, have none (null).

The downgrade drops the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_parent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("trace_parent")
