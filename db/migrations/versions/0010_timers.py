"""timers: each escalation's timer, each account's timer settings, and an event's reason

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 06:00:00

Escalations made before this step get their timer here: a row that has waited since the
escalation was made (with the default times: no account has settings yet), closed for those
whose session is resolved, and for the others a job due at once, whose first check finds where
each stands (claimed, overdue, or still in time) and goes on from there.

The downgrade drops the timers, their jobs, and the events only they record (OVERDUE,
ADMINS_ALERTED, NUDGED: the release before it knows no such kinds); a RELEASED event with
reason `idle` stays, as a plain RELEASED.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# resolvers/sla.py's defaults, as they stood when this step was written.
_OVERDUE_MINUTES = {"urgent": 5, "high": 15, "normal": 60, "low": 240}
_TIMER_KINDS = ("overdue", "admins_alerted", "nudged")


def upgrade() -> None:
    with op.batch_alter_table("account_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=16), nullable=True))
    op.create_table(
        "timer_settings",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("urgent_overdue_minutes", sa.Integer(), nullable=False),
        sa.Column("high_overdue_minutes", sa.Integer(), nullable=False),
        sa.Column("normal_overdue_minutes", sa.Integer(), nullable=False),
        sa.Column("low_overdue_minutes", sa.Integer(), nullable=False),
        sa.Column("urgent_admins_minutes", sa.Integer(), nullable=False),
        sa.Column("high_admins_minutes", sa.Integer(), nullable=False),
        sa.Column("normal_admins_minutes", sa.Integer(), nullable=False),
        sa.Column("low_admins_minutes", sa.Integer(), nullable=False),
        sa.Column("nudge_minutes", sa.Integer(), nullable=False),
        sa.Column("release_minutes", sa.Integer(), nullable=False),
        sa.Column("release_idle", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    timers = op.create_table(
        "handoff_timer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("handoff_id", sa.Uuid(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admins_alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_timer_due", "handoff_timer", ["account_id", "due_at"])
    op.create_index("ix_handoff_timer_handoff_id", "handoff_timer", ["handoff_id"], unique=True)
    _arm_existing_escalations(timers)


def _arm_existing_escalations(timers: sa.Table) -> None:
    handoff = sa.table(
        "handoff",
        sa.column("id", sa.Uuid()),
        sa.column("account_id", sa.Uuid()),
        sa.column("session_id", sa.Uuid()),
        sa.column("intent", sa.String()),
        sa.column("priority", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    session = sa.table("troubleshooting_session", sa.column("id", sa.Uuid()), sa.column("status"))
    escalations = op.get_bind().execute(
        sa.select(
            handoff.c.id,
            handoff.c.account_id,
            handoff.c.priority,
            handoff.c.created_at,
            session.c.status,
        )
        .join_from(handoff, session, session.c.id == handoff.c.session_id)
        .where(handoff.c.intent == "escalate")
    ).all()
    jobs = sa.table(
        "job",
        sa.column("id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("account_id", sa.Uuid()),
        sa.column("subject_id", sa.Uuid()),
        sa.column("state", sa.String()),
        sa.column("attempts", sa.Integer()),
        sa.column("run_after", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    timer_rows, job_rows = [], []
    for handoff_id, account_id, priority, created_at, status in escalations:
        since = _utc(created_at)
        timer_id = uuid.uuid4()
        resolved = status == "resolved"
        timer_rows.append(
            {
                "id": timer_id,
                "account_id": account_id,
                "handoff_id": handoff_id,
                "waiting_since": since,
                "due_at": since + timedelta(minutes=_OVERDUE_MINUTES.get(priority, 60)),
                "closed_at": now if resolved else None,
            }
        )
        if not resolved:
            job_rows.append(
                {
                    "id": uuid.uuid4(),
                    "kind": "timer",
                    "account_id": account_id,
                    "subject_id": timer_id,
                    "state": "pending",
                    "attempts": 0,
                    "run_after": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if timer_rows:
        op.bulk_insert(timers, timer_rows)
    if job_rows:
        op.bulk_insert(jobs, job_rows)


def _utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite gives back naive values)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    op.execute("DELETE FROM job WHERE kind = 'timer'")
    kinds = ", ".join(f"'{kind}'" for kind in _TIMER_KINDS)
    op.execute(f"DELETE FROM account_event WHERE kind IN ({kinds})")
    op.drop_index("ix_handoff_timer_handoff_id", table_name="handoff_timer")
    op.drop_index("ix_handoff_timer_due", table_name="handoff_timer")
    op.drop_table("handoff_timer")
    op.drop_table("timer_settings")
    # Not a batch: SQLite (3.35+) drops the column in place; a batch would recreate the table,
    # which rows of other tables point at.
    op.drop_column("account_event", "reason")
