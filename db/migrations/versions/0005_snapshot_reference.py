"""snapshot by reference: a handoff keeps the position of the session's last message, not a copy
of the conversation; the escalation package keeps the handoff's id, not a second copy

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_EXCERPT = 140  # as resolvers/handoffs.py cut conversation-path excerpts
_BATCH = 500

handoff = sa.table(
    "handoff",
    sa.column("id", sa.Uuid()),
    sa.column("session_id", sa.Uuid()),
    sa.column("snapshot", _JSON),
    sa.column("snapshot_through", sa.Integer()),
)
session = sa.table(
    "troubleshooting_session",
    sa.column("id", sa.Uuid()),
    sa.column("escalation_package", _JSON),
)
message = sa.table(
    "session_message",
    sa.column("session_id", sa.Uuid()),
    sa.column("position", sa.Integer()),
    sa.column("role", sa.String()),
    sa.column("content", sa.Text()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _batches(conn, stmt, key):
    """The statement's rows in batches by key, each read fully before the caller writes."""
    last = None
    while True:
        page = stmt if last is None else stmt.where(key > last)
        rows = conn.execute(page.order_by(key).limit(_BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    op.add_column(
        "handoff",
        sa.Column("snapshot_through", sa.Integer(), server_default="0", nullable=False),
    )
    conn = op.get_bind()
    # Messages are append-only and numbered 1, 2, ...: the copy equals the session's messages up
    # to its last position, so that position is all a handoff needs to keep.
    for rows in _batches(conn, sa.select(handoff.c.id, handoff.c.snapshot), handoff.c.id):
        for handoff_id, snapshot in rows:
            copied = snapshot.pop("messages", None) or []
            through = max((m["position"] for m in copied), default=0)
            conn.execute(
                handoff.update()
                .where(handoff.c.id == handoff_id)
                .values(snapshot=snapshot, snapshot_through=through)
            )
    packages = sa.select(session.c.id, session.c.escalation_package).where(
        session.c.escalation_package.is_not(None)
    )
    for rows in _batches(conn, packages, session.c.id):
        for session_id, package in rows:
            if package is None:  # a JSON null, not SQL NULL
                continue
            reference = {k: package[k] for k in ("handoff_id", "escalated_at")}
            conn.execute(
                session.update()
                .where(session.c.id == session_id)
                .values(escalation_package=reference)
            )


def _conversation(conn, session_id, through: int) -> list[dict]:
    rows = conn.execute(
        sa.select(message.c.position, message.c.role, message.c.content, message.c.created_at)
        .where(message.c.session_id == session_id, message.c.position <= through)
        .order_by(message.c.position)
    ).all()
    return [
        {
            "position": position,
            "role": role,
            "content": content,
            "created_at": _utc(created_at).isoformat(),
        }
        for position, role, content, created_at in rows
    ]


def _utc(value: datetime) -> datetime:
    """As the app writes it: SQLite hands datetimes back without their zone (UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _path(messages: list[dict]) -> list[dict]:
    path = []
    for m in messages:
        first_line = m["content"].strip().splitlines()[0] if m["content"].strip() else ""
        if len(first_line) > _EXCERPT:
            first_line = first_line[: _EXCERPT - 1] + "…"
        path.append({"position": m["position"], "role": m["role"], "excerpt": first_line})
    return path


def downgrade() -> None:
    conn = op.get_bind()
    stmt = sa.select(
        handoff.c.id, handoff.c.session_id, handoff.c.snapshot, handoff.c.snapshot_through
    )
    snapshots = {}
    for rows in _batches(conn, stmt, handoff.c.id):
        for handoff_id, session_id, snapshot, through in rows:
            messages = _conversation(conn, session_id, through)
            snapshots[str(handoff_id)] = (snapshot | {"messages": messages}, messages)
            conn.execute(
                handoff.update()
                .where(handoff.c.id == handoff_id)
                .values(snapshot=snapshots[str(handoff_id)][0])
            )
    packages = sa.select(session.c.id, session.c.escalation_package).where(
        session.c.escalation_package.is_not(None)
    )
    for rows in _batches(conn, packages, session.c.id):
        for session_id, package in rows:
            if package is None or package["handoff_id"] not in snapshots:
                continue
            snapshot, messages = snapshots[package["handoff_id"]]
            package = package | {"snapshot": snapshot, "conversation_path": _path(messages)}
            conn.execute(
                session.update()
                .where(session.c.id == session_id)
                .values(escalation_package=package)
            )
    # Not a batch: SQLite (3.35+) drops the column in place; a batch would recreate the table,
    # which rows of other tables point at.
    op.drop_column("handoff", "snapshot_through")
