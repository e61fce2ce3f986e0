"""The team queue: an account's escalations, unclaimed first, then by priority, newest first."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import case, exists, func, literal, tuple_
from sqlmodel import col, select

from db.enums import HandoffIntent
from db.models import Handoff, HandoffSeen
from db.types import UTCDateTime
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk, transaction
from resolvers.errors import BadInput
from resolvers.handoff_views import HandoffView, handoff_views, to_views
from resolvers.handoffs import get_handoff
from resolvers.outcomes import NotFound
from resolvers.seen import mark_seen


class QueueFilter(Enum):
    ALL = "all"
    UNCLAIMED = "unclaimed"
    CLAIMED = "claimed"


@dataclass(frozen=True)
class QueuePage:
    handoffs: list[HandoffView]
    has_next_page: bool
    unread_count: int
    total_count: int

    def cursor(self, handoff: HandoffView) -> str:
        return encode_cursor(handoff)


_unclaimed = case((col(Handoff.claimed_by_id).is_(None), 1), else_=0)
_sort_key = (_unclaimed, col(Handoff.priority_rank), col(Handoff.created_at), col(Handoff.id))


def encode_cursor(handoff: HandoffView) -> str:
    key = [
        1 if handoff.claimed_by_id is None else 0,
        handoff.priority_rank,
        handoff.created_at.isoformat(),
        str(handoff.id),
    ]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int, datetime, uuid.UUID]:
    try:
        unclaimed, rank, created_at, handoff_id = json.loads(base64.urlsafe_b64decode(cursor))
        key = int(unclaimed), int(rank), datetime.fromisoformat(created_at), uuid.UUID(handoff_id)
    except (ValueError, TypeError, AttributeError):
        raise BadInput("after is not a cursor from this queue") from None
    if key[2].tzinfo is None:  # every cursor we hand out carries its zone
        raise BadInput("after is not a cursor from this queue")
    return key


def _in_queue(viewer: Viewer, status: QueueFilter):
    clauses = [Handoff.account_id == viewer.account_id, Handoff.intent == HandoffIntent.ESCALATE]
    if status is QueueFilter.UNCLAIMED:
        clauses.append(col(Handoff.claimed_by_id).is_(None))
    elif status is QueueFilter.CLAIMED:
        clauses.append(col(Handoff.claimed_by_id).is_not(None))
    return clauses


def _seen_by(viewer: Viewer):
    return exists().where(
        HandoffSeen.handoff_id == Handoff.id, HandoffSeen.user_id == viewer.user_id
    )


async def handoff_queue(
    desk: Desk, viewer: Viewer, *, first: int, after: str | None, status: QueueFilter
) -> QueuePage:
    limits.check_page_size(first)
    where = _in_queue(viewer, status)
    page = handoff_views(viewer).where(*where)
    if after is not None:
        unclaimed, rank, created_at, handoff_id = decode_cursor(after)
        bound = (
            literal(unclaimed),
            literal(rank),
            literal(created_at, UTCDateTime),
            literal(handoff_id, Handoff.__table__.c.id.type),
        )
        page = page.where(tuple_(*_sort_key) < tuple_(*bound))
    page = page.order_by(*(k.desc() for k in _sort_key)).limit(first + 1)
    counts = (
        select(func.count(), func.count().filter(~_seen_by(viewer)))
        .select_from(Handoff)
        .where(*where)
    )
    async with desk.db.read() as db:
        rows = to_views((await db.exec(page)).all())
        total, unread = (await db.exec(counts)).one()
    return QueuePage(
        handoffs=rows[:first],
        has_next_page=len(rows) > first,
        unread_count=unread,
        total_count=total,
    )


async def mark_handoff_seen(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound:
    """Opening an escalation clears the caller's unread mark (and only theirs)."""
    handoff = await get_handoff(desk, viewer, handoff_id)
    if handoff is None:
        return NotFound("handoff")
    async with transaction(desk) as tx:
        await mark_seen(tx.session, viewer.user_id, handoff.id)
        tx.touch(viewer.account_id)
    return handoff
