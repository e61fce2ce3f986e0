"""indexes that keep reads flat as the data grows: read marks by handoff, jobs by kind and by
subject

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 06:00:00

Issue 17 point 4 (bench/growth.py; the plans are checked by tests/postgres/test_plans.py):
- ix_handoff_seen_handoff: who has read a handoff (`resolvers.unread.readers`, which every
  catch-up and every live event's payload reads). The primary key leads with the user, so this
  read scanned every read mark of every account.
- ix_job_kind_ready: a worker leases a job of its kinds (`db.jobs.lease_job`); ix_job_ready has
  no kind, so a lease read every due job of every kind (an email backlog, say) and sorted them.
- ix_job_subject: a timer's job by its timer (`resolvers.sla`, on a release or a priority
  change), which had no index at all.
- ix_handoff_queue, of the escalations not withdrawn only (what the queue shows): the queue's
  count then reads the index alone, where it read a row of the table for each of the account's
  escalations (to see withdrawn_at), a page each as their rows lie scattered among the others'.

The downgrade drops the three and puts ix_handoff_queue back over every handoff.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_handoff_seen_handoff", "handoff_seen", ["handoff_id", "user_id"])
    op.create_index("ix_job_kind_ready", "job", ["kind", "state", "run_after"])
    op.create_index("ix_job_subject", "job", ["subject_id"])
    op.drop_index("ix_handoff_queue", table_name="handoff")
    _queue_index(where=sa.text("withdrawn_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_handoff_queue", table_name="handoff")
    _queue_index(where=None)
    op.drop_index("ix_job_subject", table_name="job")
    op.drop_index("ix_job_kind_ready", table_name="job")
    op.drop_index("ix_handoff_seen_handoff", table_name="handoff_seen")


def _queue_index(where: sa.TextClause | None) -> None:
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
        postgresql_where=where,
        sqlite_where=where,
    )
