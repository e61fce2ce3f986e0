"""handoff views: an index in the queue's order across both intents, and PostgreSQL full-text
search over a handoff's summary, notes and assessment

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 06:00:00

ix_handoff_views is ix_handoff_queue without the intent: views that list escalations and the
caller's own parks together walk it in order. ix_handoff_search is a GIN index on the expression
`db.models.handoff_search_vector` builds (written out here as it stood, as a migration must);
PostgreSQL only: SQLite matches search words as substrings, without an index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VECTOR = (
    "to_tsvector('english'::regconfig, "
    "coalesce(snapshot ->> 'problem_summary', '') || ' ' || engineer_notes || ' ' || "
    "coalesce(assessment_summary, '') || ' ' || coalesce(assessment_likely_cause, '')) || "
    "to_tsvector('english'::regconfig, coalesce(assessment_suggested_steps, '[]'::jsonb))"
)


def upgrade() -> None:
    op.create_index(
        "ix_handoff_views",
        "handoff",
        ["account_id", sa.text("(claimed_by_id IS NULL)"), "priority_rank", "created_at", "id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_handoff_search ON handoff USING gin (({_VECTOR}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_handoff_search")
    op.drop_index("ix_handoff_views", table_name="handoff")
