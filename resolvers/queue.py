"""The team queue: an account's escalations, unclaimed first, then by priority, newest first."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, Select, bindparam, exists, func, tuple_
from sqlmodel import col, select

from db.enums import HandoffIntent
from db.models import Handoff, HandoffTimer
from db.types import UTCDateTime
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk, transaction
from resolvers.errors import BadInput
from resolvers.handoff_views import (
    HandoffView,
    handoff_views,
    to_views,
    viewer_params,
)
from resolvers.handoffs import get_handoff
from resolvers.outcomes import NotFound
from resolvers.sla import SlaState, in_sla_states
from resolvers.tenancy import in_account
from resolvers.unread import mark_opened, read_count


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
    # Whether the view holds handoffs before the page (false without `after`).
    has_previous_page: bool = False

    def cursor(self, handoff: HandoffView) -> str:
        return encode_cursor(handoff)


# Matches ix_handoff_queue expression for expression, so the index gives the order.
# Every view of handoffs (resolvers/views.py too) is in this order, and its cursors are this key.
_unclaimed = col(Handoff.claimed_by_id).is_(None)
SORT_KEY = (_unclaimed, col(Handoff.priority_rank), col(Handoff.created_at), col(Handoff.id))


def encode_cursor(handoff: HandoffView) -> str:
    """The sort key as base64 of its JSON list, `[1, 3, "2026-…+00:00", "uuid"]`. Written out
    rather than `json.dumps`-ed (one per edge): the same bytes, as none of its parts needs
    escaping (ints, an ISO timestamp, a UUID)."""
    unclaimed = 1 if handoff.claimed_by_id is None else 0
    key = f'[{unclaimed}, {int(handoff.priority_rank)}, "{handoff.created_at.isoformat()}", '
    key += f'"{handoff.id}"]'
    return base64.urlsafe_b64encode(key.encode()).decode()


# A cursor we hand out is about 110 characters; refusing longer ones before decoding bounds the
# work a crafted one can cause (JSON nested thousands deep would exhaust the parser's recursion).
CURSOR_MAX = 256
# The sort key's rank is an INTEGER column: a rank beyond it fails to bind, not to compare.
_RANK_RANGE = range(-(2**31), 2**31)
_NOT_A_CURSOR = "after is not a cursor from this queue"


def decode_cursor(cursor: str) -> tuple[int, int, datetime, uuid.UUID]:
    """The sort key a cursor carries, each part checked to be one the database can compare
    with: a crafted cursor is the client's mistake (BAD_USER_INPUT), never an internal error."""
    if len(cursor) > CURSOR_MAX:
        raise BadInput(_NOT_A_CURSOR)
    try:
        unclaimed, rank, created_at, handoff_id = json.loads(base64.urlsafe_b64decode(cursor))
        # Exactly the types we write: json.loads also yields floats, Infinity, bools, huge ints.
        if type(unclaimed) is not int or unclaimed not in (0, 1):
            raise ValueError
        if type(rank) is not int or rank not in _RANK_RANGE:
            raise ValueError
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:  # every cursor we hand out carries its zone
            raise ValueError
        moment.astimezone(UTC)  # what binding does: out of range near year 1 or 9999
        key = unclaimed, rank, moment, uuid.UUID(handoff_id)
    except (ValueError, TypeError, AttributeError, OverflowError):
        raise BadInput(_NOT_A_CURSOR) from None
    return key


# (SQLModel's types declare no __table__; SQLAlchemy's declarative mapping adds it.)
ACCOUNT_ID = bindparam("account_id", type_=Handoff.__table__.c.account_id.type)  # type: ignore[attr-defined]
_AFTER = (
    bindparam("after_unclaimed", type_=Boolean()),
    bindparam("after_rank", type_=Integer()),
    bindparam("after_created_at", type_=UTCDateTime()),
    bindparam("after_id", type_=Handoff.__table__.c.id.type),  # type: ignore[attr-defined]
)


def _in_queue(status: QueueFilter) -> list[ColumnElement[bool]]:
    clauses = [in_account(Handoff, ACCOUNT_ID), col(Handoff.intent) == HandoffIntent.ESCALATE]
    clauses.append(col(Handoff.withdrawn_at).is_(None))  # taken back: history, not the queue
    if status is QueueFilter.UNCLAIMED:
        clauses.append(col(Handoff.claimed_by_id).is_(None))
    elif status is QueueFilter.CLAIMED:
        clauses.append(col(Handoff.claimed_by_id).is_not(None))
    return clauses


def page_of(where: list[ColumnElement[bool]], after: bool) -> Select[*tuple[Any, ...]]:
    """A page of the handoffs matching `where`, in the queue's order: the first `limit` (a
    parameter), after the cursor's key when `after`."""
    page = handoff_views().where(*where)
    if after:
        page = page.where(tuple_(*SORT_KEY) < tuple_(*_AFTER))
    return page.order_by(*(k.desc() for k in SORT_KEY)).limit(bindparam("limit"))


def counts_of(where: list[ColumnElement[bool]], after: bool) -> Select[*tuple[Any, ...]]:
    """How many handoffs match `where`, how many of them the caller has read, and (when
    `after`) whether any comes before the page (at the cursor's key or before): one statement."""
    total = select(func.count()).select_from(Handoff).where(*where)
    read = read_count(*where)
    columns: list[ColumnElement[Any]] = [total.scalar_subquery(), read.scalar_subquery()]
    if after:
        columns.append(exists().where(*where, tuple_(*SORT_KEY) >= tuple_(*_AFTER)))
    counts: Select[*tuple[Any, ...]] = select(*columns)
    return counts


# Built once: a request only binds its values (no statement construction on the hot path).
_PAGES = {
    (status, after): page_of(_in_queue(status), after)
    for status in QueueFilter
    for after in (False, True)
}
_COUNTS = {
    (status, after): counts_of(_in_queue(status), after)
    for status in QueueFilter
    for after in (False, True)
}


async def handoff_queue(
    desk: Desk, viewer: Viewer, *, first: int, after: str | None, status: QueueFilter
) -> QueuePage:
    params = page_params(viewer, first, after)
    key = status, after is not None
    return await read_page(desk, _PAGES[key], _COUNTS[key], params, first)


def page_params(viewer: Viewer, first: int, after: str | None) -> dict[str, Any]:
    """What `page_of` and `counts_of` statements bind: the caller, the page's size (checked),
    and the cursor's key (checked)."""
    limits.check_page_size(first)
    params = {**viewer_params(viewer), "account_id": viewer.account_id, "limit": first + 1}
    if after is not None:
        unclaimed, rank, created_at, handoff_id = decode_cursor(after)
        params.update(
            after_unclaimed=bool(unclaimed),
            after_rank=rank,
            after_created_at=created_at,
            after_id=handoff_id,
        )
    return params


async def read_page(
    desk: Desk,
    page: Select[*tuple[Any, ...]],
    counts: Select[*tuple[Any, ...]],
    params: dict[str, Any],
    first: int,
) -> QueuePage:
    """A page and its counts (statements of `page_of` and `counts_of`): two statements, whatever
    the page's size."""
    async with desk.db.read_rows() as conn:
        rows = to_views((await conn.execute(page, params)).all())
        total, read, *earlier = (await conn.execute(counts, params)).one()
    return QueuePage(
        handoffs=rows[:first],
        has_next_page=len(rows) > first,
        unread_count=total - read,
        total_count=total,
        has_previous_page=bool(earlier and earlier[0]),
    )


async def mark_handoff_seen(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> HandoffView | NotFound:
    """Opening an escalation clears the caller's unread mark (and only theirs)."""
    handoff = await get_handoff(desk, viewer, handoff_id)
    if handoff is None:
        return NotFound("handoff")
    async with transaction(desk) as tx:
        # Only the caller's answers change: their read-mark count moves, the account's does not.
        await mark_opened(tx, viewer.user_id, handoff.id)
    return handoff


async def unread_count(desk: Desk, viewer: Viewer) -> int:
    """The caller's unread escalations: the queue's `unreadCount`, by the same statement."""
    params = {**viewer_params(viewer), "account_id": viewer.account_id}
    async with desk.db.read_rows() as conn:
        total, read = (await conn.execute(_COUNTS[QueueFilter.ALL, False], params)).one()
    return int(total - read)


# --- timers (issue 14): the queue by due time, and by SLA state ------------------------------
# Apart from the queue above, which answers as it did when neither is asked for.


class QueueOrder(Enum):
    QUEUE = "queue"  # the queue's own: unclaimed first, then by priority, newest first
    DUE = "due"  # unclaimed first, then the soonest due first (the longest overdue first)


_claimed = col(Handoff.claimed_by_id).is_not(None)
# Every escalation has a timer (migration 0010 gave the older ones theirs): the fallback is for
# a row that has none all the same.
_due = func.coalesce(col(HandoffTimer.due_at), col(Handoff.created_at))
_due_key = (_claimed, _due, col(Handoff.id))
_DUE_AFTER = (
    bindparam("after_claimed", type_=Boolean()),
    bindparam("after_due", type_=UTCDateTime()),
    bindparam("after_id", type_=Handoff.__table__.c.id.type),  # type: ignore[attr-defined]
)
_DUE_CURSOR = "due"  # a due-order cursor's first part: never mistaken for the queue's


@dataclass(frozen=True, kw_only=True)
class TimedQueuePage(QueuePage):
    order: QueueOrder
    dues: dict[uuid.UUID, datetime]

    def cursor(self, handoff: HandoffView) -> str:
        if self.order is QueueOrder.QUEUE:
            return encode_cursor(handoff)
        claimed = 0 if handoff.claimed_by_id is None else 1
        key = [_DUE_CURSOR, claimed, self.dues[handoff.id].isoformat(), str(handoff.id)]
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_due_cursor(cursor: str) -> tuple[bool, datetime, uuid.UUID]:
    if len(cursor) > CURSOR_MAX:
        raise BadInput(_NOT_A_CURSOR)
    try:
        tag, claimed, due, handoff_id = json.loads(base64.urlsafe_b64decode(cursor))
        if tag != _DUE_CURSOR or type(claimed) is not int or claimed not in (0, 1):
            raise ValueError
        moment = datetime.fromisoformat(due)
        if moment.tzinfo is None:
            raise ValueError
        moment.astimezone(UTC)
        key = bool(claimed), moment, uuid.UUID(handoff_id)
    except (ValueError, TypeError, AttributeError, OverflowError):
        raise BadInput(_NOT_A_CURSOR) from None
    return key


@functools.cache
def _timed_statements(
    status: QueueFilter, sla: frozenset[SlaState] | None, order: QueueOrder, after: bool
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """A page and its counts, built once for each combination asked for."""
    where = _in_queue(status)
    if sla is not None:
        where.append(in_sla_states(sla))
    page = (
        handoff_views()
        .add_columns(_due)
        .outerjoin(HandoffTimer, col(HandoffTimer.handoff_id) == col(Handoff.id))
        .where(*where)
    )
    if order is QueueOrder.QUEUE:
        if after:
            page = page.where(tuple_(*SORT_KEY) < tuple_(*_AFTER))
        page = page.order_by(*(k.desc() for k in SORT_KEY))
    else:
        if after:
            page = page.where(tuple_(*_due_key) > tuple_(*_DUE_AFTER))
        page = page.order_by(*_due_key)
    total = select(func.count()).select_from(Handoff).where(*where)
    columns: list[ColumnElement[Any]] = [
        total.scalar_subquery(),
        read_count(*where).scalar_subquery(),
    ]
    if after:  # whether any comes before the page (at the cursor's key or before)
        if order is QueueOrder.QUEUE:
            earlier = tuple_(*SORT_KEY) >= tuple_(*_AFTER)
        else:
            earlier = tuple_(*_due_key) <= tuple_(*_DUE_AFTER)
        timer = col(HandoffTimer.handoff_id) == col(Handoff.id)
        columns.append(
            exists(select(Handoff.id).outerjoin(HandoffTimer, timer).where(*where, earlier))
        )
    counts: Select[*tuple[Any, ...]] = select(*columns)
    return page.limit(bindparam("limit")), counts


async def timed_queue(
    desk: Desk,
    viewer: Viewer,
    *,
    first: int,
    after: str | None,
    status: QueueFilter,
    sla: frozenset[SlaState] | None,
    order: QueueOrder,
) -> TimedQueuePage:
    """The queue in `order`, of the escalations in the `sla` states (all, if None)."""
    in_queue_order = order is QueueOrder.QUEUE
    params = page_params(viewer, first, after if in_queue_order else None)
    if after is not None and not in_queue_order:
        claimed, due, handoff_id = decode_due_cursor(after)
        params.update(after_claimed=claimed, after_due=due, after_id=handoff_id)
    page, counts = _timed_statements(status, sla, order, after is not None)
    async with desk.db.read_rows() as conn:
        rows = (await conn.execute(page, params)).all()
        total, read, *earlier = (await conn.execute(counts, params)).one()
    handoffs = to_views(rows)
    return TimedQueuePage(
        handoffs=handoffs[:first],
        has_next_page=len(rows) > first,
        unread_count=total - read,
        total_count=total,
        has_previous_page=bool(earlier and earlier[0]),
        order=order,
        dues={view.id: row[-1] for view, row in zip(handoffs, rows, strict=True)},
    )
