"""Unread marks: an escalation is unread to a user until they open it or claim it. Every read
and write of the marks is here: marking (on open, claim and escalate), the per-row flag of a
handoff view, the queue's read count, and who has read what for the subscribers of an event.

A read mark changes what its user sees and nothing anyone else sees. Opening an escalation
(`mark_opened`) therefore moves the user's own `read_marks` count, which their cached answers key
on, and leaves the account's version alone: any member, a viewer included, may mark what they
read without making every teammate's cached answers stale. Claiming (`mark_claimed`) and
escalating (`mark_seen`) mark too, inside writes that move the account's version anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, bindparam, exists, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from db.models import Handoff, HandoffSeen, User
from resolvers.desk import Tx

# Whose marks a prepared statement reads: bound per request, so statements are built once.
# (SQLModel's types declare no __table__; SQLAlchemy's declarative mapping adds it.)
# How far a new read moves its reader's count: a version that cached answers key on (with the
# account's), compared and never shown, so any step forward would do as well.
A_READ = 1

VIEWER_ID = bindparam("viewer_id", type_=Handoff.__table__.c.id.type)  # type: ignore[attr-defined]


async def mark_seen(db: AsyncSession, user_id: uuid.UUID, handoff_id: uuid.UUID) -> bool:
    """Idempotent: the first time a user saw it is kept. True if this is the first time."""
    # PostgreSQL's construct, for both databases: SQLite's compiler writes the same INSERT ... ON
    # CONFLICT DO NOTHING from it.
    stmt = (
        insert(HandoffSeen)
        .values(user_id=user_id, handoff_id=handoff_id)  # seen_at: its column's default, now
        .on_conflict_do_nothing()  # its one unique key: (user_id, handoff_id)
        .returning(col(HandoffSeen.handoff_id))
    )
    return (await db.exec(stmt)).scalar_one_or_none() is not None


async def mark_opened(tx: Tx, user_id: uuid.UUID, handoff_id: uuid.UUID) -> None:
    """The user opened it: mark it, and move the user's read-mark count if the mark is new (a
    repeated mark changes no answer, so it moves nothing)."""
    if await _mark_read(tx, user_id, handoff_id):
        await tx.session.exec(
            update(User)
            .where(col(User.id) == user_id)
            .values(read_marks=col(User.read_marks) + A_READ)
        )


async def mark_claimed(tx: Tx, user_id: uuid.UUID, handoff_id: uuid.UUID) -> None:
    """The user claimed it: marked as read, in the claim's own write."""
    await _mark_read(tx, user_id, handoff_id)


async def _mark_read(tx: Tx, user_id: uuid.UUID, handoff_id: uuid.UUID) -> bool:
    """Marks it read; a new mark is told to the reader's other clients after the commit
    (resolvers/read_marks.py). True if the mark is new."""
    if not await mark_seen(tx.session, user_id, handoff_id):
        return False
    tx.marked(user_id, handoff_id)
    return True


def seen_flag() -> ColumnElement[bool]:
    """Whether VIEWER_ID has seen the row's handoff: probed for a page's rows only (primary
    key), not joined for the whole account."""
    return (
        exists()
        .where(
            col(HandoffSeen.handoff_id) == col(Handoff.id), col(HandoffSeen.user_id) == VIEWER_ID
        )
        .label("seen")
    )


def read_count(*where: ColumnElement[bool]) -> SelectOfScalar[int]:
    """How many handoffs matching `where` VIEWER_ID has read: their marks are a range of one
    index, where probing a mark per handoff would cost one lookup per row."""
    return (
        select(func.count())
        .select_from(HandoffSeen)
        .join(Handoff)  # by the mark's one foreign key to it
        .where(HandoffSeen.user_id == VIEWER_ID, *where)
    )


async def readers(
    db: AsyncSession, handoff_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Who has seen each handoff: one read for the subscribers of a batch of events."""
    stmt = select(HandoffSeen.handoff_id, HandoffSeen.user_id).where(
        col(HandoffSeen.handoff_id).in_(handoff_ids)
    )
    read_by: dict[uuid.UUID, set[uuid.UUID]] = {h: set() for h in handoff_ids}
    for handoff_id, user_id in (await db.exec(stmt)).all():
        read_by[handoff_id].add(user_id)
    return {h: frozenset(users) for h, users in read_by.items()}
