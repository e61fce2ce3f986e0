"""Unread marks: an escalation is unread to a user until they open it or claim it."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.models import HandoffSeen
from db.types import utcnow


async def mark_seen(db, user_id: uuid.UUID, handoff_id: uuid.UUID) -> None:
    """Idempotent: the first time a user saw it is kept."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(HandoffSeen)
        .values(user_id=user_id, handoff_id=handoff_id, seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "handoff_id"])
    )
    await db.exec(stmt)
