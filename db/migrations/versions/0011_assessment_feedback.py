"""assessment feedback: every assessment of an escalation kept, and the seniors' ratings of them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 06:00:00

Issue 15: an escalation's assessments are rows of their own (number 1, asked by the escalation;
later ones, asked by a senior), each rated by the account's seniors; the handoff keeps a copy of
the one it shows, and its number. Escalations made before this step get their one assessment
here, as number 1, copied from the handoff (pending ones stay pending: their jobs, whose subject
is the handoff, land them as before); which assessor made it is not known.

The downgrade drops the ratings, every assessment but what the handoffs show, and the events
only reassessments record (REASSESSMENT_REQUESTED: the release before it knows no such kind).
A reassessment still pending then never lands: the handoff shows the assessment it had.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    versions = op.create_table(
        "assessment_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("handoff_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assessor", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("likely_cause", sa.Text(), nullable=True),
        sa.Column(
            "suggested_steps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("confidence", sa.String(length=16), nullable=True),
        sa.Column("landed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_assessment_version_handoff_number",
        "assessment_version",
        ["handoff_id", "number"],
        unique=True,
    )
    op.create_table(
        "assessment_rating",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment_version.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("assessment_id", "user_id"),
    )
    # Not a batch: SQLite adds a column in place; a batch would recreate the table, which rows
    # of other tables point at.
    op.add_column(
        "handoff",
        sa.Column("assessment_number", sa.Integer(), server_default="0", nullable=False),
    )
    _first_assessments(versions)


def _first_assessments(versions: sa.Table) -> None:
    handoff = sa.table(
        "handoff",
        *(
            sa.column(name, kind)
            for name, kind in (
                ("id", sa.Uuid()),
                ("account_id", sa.Uuid()),
                ("intent", sa.String()),
                ("created_at", sa.DateTime(timezone=True)),
                ("assessment_status", sa.String()),
                ("assessment_summary", sa.Text()),
                ("assessment_likely_cause", sa.Text()),
                ("assessment_suggested_steps", sa.JSON()),
                ("assessment_confidence", sa.String()),
                ("assessment_updated_at", sa.DateTime(timezone=True)),
                ("assessment_number", sa.Integer()),
            )
        ),
    )
    c = handoff.c
    escalations = op.get_bind().execute(
        sa.select(
            c.id,
            c.account_id,
            c.created_at,
            c.assessment_status,
            c.assessment_summary,
            c.assessment_likely_cause,
            c.assessment_suggested_steps,
            c.assessment_confidence,
            c.assessment_updated_at,
        ).where(c.intent == "escalate")
    ).all()
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "handoff_id": handoff_id,
            "number": 1,
            "requested_by_id": None,
            "requested_at": created_at,
            "status": status,
            "assessor": None,
            "summary": summary,
            "likely_cause": cause,
            "suggested_steps": steps,
            "confidence": confidence,
            "landed_at": None if status == "pending" else updated_at,
        }
        for (
            handoff_id,
            account_id,
            created_at,
            status,
            summary,
            cause,
            steps,
            confidence,
            updated_at,
        ) in escalations
    ]
    if rows:
        op.bulk_insert(versions, rows)
    op.execute(handoff.update().where(c.intent == "escalate").values(assessment_number=1))


def downgrade() -> None:
    op.execute("DELETE FROM account_event WHERE kind = 'reassessment_requested'")
    op.drop_column("handoff", "assessment_number")
    op.drop_table("assessment_rating")
    op.drop_index("ix_assessment_version_handoff_number", table_name="assessment_version")
    op.drop_table("assessment_version")
