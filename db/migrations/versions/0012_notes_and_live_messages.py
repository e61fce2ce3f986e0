"""notes and the conversation live: internal notes on escalations, the account's setting of
whether viewers read them, and what a MESSAGE_ADDED or NOTE_ADDED event names

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 12:00:00

Issue 15: each message added to a session is an event of the account's log from now on
(MESSAGE_ADDED, naming its session); messages added before this step have no event, which is
all right: a subscriber catches up from the messages themselves, by position. Notes are a table
of their own, each with a NOTE_ADDED event (naming the note) in its escalation's history. The
setting is on for every account (viewers read notes, as the issue's default says).

The downgrade drops the notes and the events only this step's release records (MESSAGE_ADDED,
NOTE_ADDED: the release before it knows no such kinds).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("message_added", "note_added")


def upgrade() -> None:
    op.create_table(
        "handoff_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("handoff_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_note_handoff", "handoff_note", ["handoff_id", "created_at"])
    op.add_column(
        "account",
        sa.Column(
            "notes_visible_to_viewers", sa.Boolean(), server_default=sa.true(), nullable=False
        ),
    )
    # REFERENCES inline: SQLite adds a column with its foreign key, not a constraint after it.
    op.add_column(
        "account_event",
        sa.Column(
            "session_id", sa.Uuid(), sa.ForeignKey("troubleshooting_session.id"), nullable=True
        ),
        inline_references=True,
    )
    op.add_column(
        "account_event",
        sa.Column("note_id", sa.Uuid(), sa.ForeignKey("handoff_note.id"), nullable=True),
        inline_references=True,
    )


def downgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in _KINDS)
    op.execute(f"DELETE FROM account_event WHERE kind IN ({kinds})")
    # Not batches: SQLite (3.35+) drops these columns in place; a batch would recreate tables
    # that rows of other tables point at.
    op.drop_column("account_event", "note_id")
    op.drop_column("account_event", "session_id")
    op.drop_column("account", "notes_visible_to_viewers")
    op.drop_index("ix_handoff_note_handoff", table_name="handoff_note")
    op.drop_table("handoff_note")
