"""A user's in-app notifications (issue 15): what the desk told them, newest first, read or not.

Recorded in the transaction of the news they tell (resolvers/notifications.py decides who hears
of what, by their preferences), at most `notifications_kept` per user: each recording drops that
user's oldest beyond it. After the commit the user's own sockets hear that their notifications
changed (the per-user channel of read marks): `myNotificationCount` reads the count again then
(resolvers/read_marks.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, insert
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import NotificationKind
from db.models import Handoff, Notification, User
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.errors import BadInput
from resolvers.tenancy import in_account


async def record(
    tx: Tx,
    handoff: Handoff,
    summary: str,
    users: Sequence[User],
    kind: NotificationKind,
    *,
    actor_id: uuid.UUID | None,
) -> None:
    """One notification of the handoff to each user, and each user's oldest beyond the bound
    dropped."""
    if not users:
        return
    now = tx.now()
    rows = [
        {
            "account_id": handoff.account_id,
            "user_id": user.id,
            "kind": kind,
            "handoff_id": handoff.id,
            "actor_id": actor_id,
            "priority": handoff.priority,
            "summary": summary[: limits.PROBLEM_SUMMARY_MAX],
            "created_at": now,
            "read_at": None,
        }
        for user in users
    ]
    # One statement, without ORM objects (nothing reads them back here).
    table = Notification.__table__  # type: ignore[attr-defined]
    await tx.session.exec(insert(table), params=rows)
    tx.notified.update(user.id for user in users)
    tx.do_last("inbox.trim", lambda: _trim(tx))


async def _trim(tx: Tx) -> None:
    """Every recipient's oldest beyond the bound, in one statement (not one per recipient),
    last in the transaction (its row locks are held to the commit)."""
    ranked = (
        select(
            col(Notification.id).label("id"),
            func.row_number()
            .over(partition_by=col(Notification.user_id), order_by=col(Notification.id).desc())
            .label("rank"),
        )
        .where(col(Notification.user_id).in_(sorted(tx.notified)))
        .subquery()
    )
    beyond = select(ranked.c.id).where(ranked.c.rank > tx.notifications_kept)
    # Rows another transaction holds are left to it (SKIP LOCKED): concurrent news to one team
    # would otherwise queue up behind each other's trims of the same old rows (and deadlock on
    # PostgreSQL, deleting them in different orders). A row left over goes with the next news.
    doomed = (
        select(Notification.id)
        .where(col(Notification.id).in_(beyond))
        .with_for_update(skip_locked=True)
    )
    await tx.session.exec(
        delete(Notification)
        .where(col(Notification.id).in_(doomed))
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class NotificationPage:
    notifications: list[Notification]
    has_next_page: bool
    unread_count: int


def cursor(notification: Notification) -> str:
    return str(notification.id)


def _after(after: str | None) -> int | None:
    if after is None:
        return None
    try:
        value = int(after)
    except ValueError:
        raise BadInput("after is not a cursor of this list") from None
    if value < 0:
        raise BadInput("after is not a cursor of this list")
    return value


def _mine(viewer: Viewer) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (in_account(Notification, viewer), col(Notification.user_id) == viewer.user_id)


async def notifications(
    desk: Desk, viewer: Viewer, *, first: int, after: str | None
) -> NotificationPage:
    """The caller's notifications, newest first, a page after the cursor."""
    limits.check_page_size(first)
    start = _after(after)
    stmt = select(Notification).where(*_mine(viewer))
    if start is not None:
        stmt = stmt.where(col(Notification.id) < start)
    stmt = stmt.order_by(col(Notification.id).desc()).limit(first + 1)
    async with desk.db.read() as db:
        rows = list((await db.exec(stmt)).all())
        unread = await _unread(db, viewer)
    return NotificationPage(rows[:first], len(rows) > first, unread)


async def _unread(db: AsyncSession, viewer: Viewer) -> int:
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(*_mine(viewer), col(Notification.read_at).is_(None))
    )
    return int((await db.exec(stmt)).one())


async def unread_notifications(desk: Desk, viewer: Viewer) -> int:
    async with desk.db.read() as db:
        return await _unread(db, viewer)


# At most this many ids a call (every one of them: `all`).
MARK_IDS_MAX = limits.QUEUE_PAGE_MAX


async def mark_read(desk: Desk, viewer: Viewer, ids: Sequence[int] | None, *, every: bool) -> int:
    """Marks the caller's notifications read: every one of theirs (`every`), or those named
    (ids of another user's, or unknown, change nothing); neither, nothing. Answers the caller's
    unread count after."""
    if not every and ids is not None and len(ids) > MARK_IDS_MAX:
        raise BadInput(f"At most {MARK_IDS_MAX} ids at once; use all: true for every one")
    if not every and not ids:
        return await unread_notifications(desk, viewer)
    async with transaction(desk) as tx:
        stmt = (
            update(Notification)
            .where(*_mine(viewer), col(Notification.read_at).is_(None))
            .values(read_at=tx.now())
        )
        if not every:
            stmt = stmt.where(col(Notification.id).in_(list(ids or ())))
        changed = (await tx.session.exec(stmt)).rowcount
        if changed:
            # The caller's answers move on (as with their read marks), nobody else's.
            await tx.session.exec(
                update(User)
                .where(col(User.id) == viewer.user_id)
                .values(read_marks=col(User.read_marks) + 1)
            )
            tx.notified.add(viewer.user_id)
        count = await _unread(tx.session, viewer)
    return count
