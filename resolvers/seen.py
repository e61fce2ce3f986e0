"""Unread marks: an escalation is unread to a user until they open it or claim it.

A read mark changes what its user sees and nothing anyone else sees. Opening an escalation
(`mark_read`) therefore moves the user's own `read_marks` count, which their cached answers key
on, and leaves the account's version alone: any member, a viewer included, may mark what they
read without making every teammate's cached answers stale. Claiming and escalating mark too
(`mark_seen`), inside writes that move the account's version anyway.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, update

from db.models import HandoffSeen, User
from db.types import utcnow


async def mark_seen(db, user_id: uuid.UUID, handoff_id: uuid.UUID) -> bool:
    """Idempotent: the first time a user saw it is kept. True if this is the first time."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(HandoffSeen)
        .values(user_id=user_id, handoff_id=handoff_id, seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "handoff_id"])
        .returning(HandoffSeen.handoff_id)
    )
    return (await db.exec(stmt)).first() is not None


async def mark_read(db, user_id: uuid.UUID, handoff_id: uuid.UUID) -> None:
    """The user opened it: mark it, and move the user's read-mark count if the mark is new (a
    repeated mark changes no answer, so it moves nothing)."""
    if await mark_seen(db, user_id, handoff_id):
        await db.exec(
            update(User).where(col(User.id) == user_id).values(read_marks=col(User.read_marks) + 1)
        )
