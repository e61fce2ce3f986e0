"""Troubleshooting sessions: start, converse, resolve; read what the caller's account holds."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import Confidence, EventKind, IntakeType, MessageRole, SessionStatus
from db.models import SessionMessage, TroubleshootingSession
from resolvers import limits, pages
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.outcomes import InvalidState, NotFound, NotPermitted
from resolvers.permissions import Capability, may_work, requires
from resolvers.tenancy import in_account

_OPEN = (SessionStatus.ACTIVE, SessionStatus.PAUSED)


async def get_session(
    desk: Desk, viewer: Viewer, session_id: uuid.UUID
) -> TroubleshootingSession | None:
    async with desk.db.read() as db:
        return (
            await db.exec(
                select(TroubleshootingSession).where(
                    TroubleshootingSession.id == session_id,
                    in_account(TroubleshootingSession, viewer),
                )
            )
        ).first()


async def my_sessions(
    desk: Desk, viewer: Viewer, status: SessionStatus | None, first: int
) -> list[TroubleshootingSession]:
    limits.check_page_size(first)
    stmt = select(TroubleshootingSession).where(
        in_account(TroubleshootingSession, viewer),
        (TroubleshootingSession.assignee_id == viewer.user_id)
        | (TroubleshootingSession.owner_id == viewer.user_id),
    )
    if status is not None:
        stmt = stmt.where(TroubleshootingSession.status == status)
    stmt = stmt.order_by(col(TroubleshootingSession.updated_at).desc()).limit(first)
    async with desk.db.read() as db:
        return list((await db.exec(stmt)).all())


async def my_sessions_page(
    desk: Desk, viewer: Viewer, status: SessionStatus | None, ask: pages.PageAsk[uuid.UUID]
) -> pages.Page[TroubleshootingSession]:
    """my_sessions' list a page at a time: most recently changed first (then by id). A session
    that changes while the client pages moves to the front, so it may show twice or not at all."""
    Session = TroubleshootingSession
    mine = (
        in_account(Session, viewer),
        (Session.assignee_id == viewer.user_id) | (Session.owner_id == viewer.user_id),
    )
    stmt = select(Session).where(*mine)
    if status is not None:
        stmt = stmt.where(Session.status == status)
    at = None
    if ask.cursor is not None:
        changed = select(Session.updated_at).where(Session.id == ask.cursor, *mine)
        at = (changed.correlate(None).scalar_subquery(), ask.cursor)
    stmt = pages.keyset(stmt, (col(Session.updated_at), col(Session.id)), at, ask, descending=True)
    async with desk.db.read() as db:
        return pages.in_order(list((await db.exec(stmt)).all()), ask)


@requires(Capability.WORK_SESSIONS)
async def start_session(
    desk: Desk,
    viewer: Viewer,
    *,
    intake_type: IntakeType,
    intake_content: str,
    problem_summary: str,
) -> TroubleshootingSession | NotPermitted:
    session = TroubleshootingSession(
        account_id=viewer.account_id,
        owner_id=viewer.user_id,
        assignee_id=viewer.user_id,
        intake_type=intake_type,
        intake_content=limits.check_text(
            intake_content, "intakeContent", maximum=limits.INTAKE_CONTENT_MAX
        ),
        problem_summary=limits.check_text(
            problem_summary, "problemSummary", maximum=limits.PROBLEM_SUMMARY_MAX
        ),
        status=SessionStatus.ACTIVE,
    )
    async with transaction(desk) as tx:
        tx.session.add(session)
        tx.touch(viewer.account_id)
    return session


@requires(Capability.WORK_SESSIONS)
async def add_message(
    desk: Desk,
    viewer: Viewer,
    session_id: uuid.UUID,
    *,
    role: MessageRole,
    content: str,
    confidence_tier: Confidence | None,
) -> SessionMessage | NotFound | NotPermitted | InvalidState:
    content = limits.check_text(content, "content", maximum=limits.MESSAGE_MAX)
    async with transaction(desk) as tx:
        session = await session_to_work(
            tx.session,
            viewer,
            session_id,
            to="add to it",
            closed=lambda status: f"A {status} session takes no messages until it is claimed.",
        )
        if not isinstance(session, TroubleshootingSession):
            return session
        # The position comes from a counter bumped in this transaction: never two at one place.
        values: dict[str, Any] = {
            "message_count": TroubleshootingSession.message_count + 1,
            "updated_at": tx.now(),
            # A parked session waits on the customer; their reply (or ours) resumes it.
            "status": SessionStatus.ACTIVE,
        }
        if confidence_tier is not None:
            values["confidence_tier"] = confidence_tier
        position: int = (
            await tx.session.exec(
                update(TroubleshootingSession)
                .where(col(TroubleshootingSession.id) == session.id)
                .values(**values)
                .returning(col(TroubleshootingSession.message_count))
            )
        ).scalar_one()
        message = SessionMessage(
            session_id=session.id, position=position, role=role, content=content
        )
        tx.session.add(message)
        # Last (it locks the account's counter): whoever listens to the session hears of it
        # (resolvers/conversation.py), and reads the messages after the position they have.
        await tx.record(
            viewer.account_id,
            EventKind.MESSAGE_ADDED,
            session_id=session.id,
            actor_id=viewer.user_id,
        )
    return message


@requires(Capability.WORK_SESSIONS)
async def resolve_session(
    desk: Desk, viewer: Viewer, session_id: uuid.UUID
) -> TroubleshootingSession | NotFound | NotPermitted | InvalidState:
    async with transaction(desk) as tx:
        session = await session_to_work(
            tx.session, viewer, session_id, to="resolve it", closed=_not_resolvable
        )
        if not isinstance(session, TroubleshootingSession):
            return session
        session.status = SessionStatus.RESOLVED
        session.updated_at = tx.now()
        tx.session.add(session)
        tx.touch(viewer.account_id)
    return session


def _not_resolvable(status: str) -> str:
    hint = " Claim its escalation first." if status == "escalated" else ""
    return f"The session is {status}.{hint}"


async def session_to_work(
    db: AsyncSession,
    viewer: Viewer,
    session_id: uuid.UUID,
    *,
    to: str,
    closed: Callable[[str], str],
) -> TroubleshootingSession | NotFound | NotPermitted | InvalidState:
    """The session a write works on, locked (`locked_session`): found in the caller's account,
    worked by the caller, and open (active or paused); or why not. `to` finishes the refusal
    "Only the engineer working this session may ..."; `closed` words the refusal for a session
    in another state, given that state."""
    session = await locked_session(db, viewer, session_id)
    if session is None:
        return NotFound("session")
    if not may_work(viewer, session):
        return NotPermitted(f"Only the engineer working this session may {to}.")
    if session.status not in _OPEN:
        return InvalidState(closed(session.status), session.status)
    return session


async def locked_session(
    db: AsyncSession, viewer: Viewer, session_id: uuid.UUID
) -> TroubleshootingSession | None:
    """The caller's account's session, locked for this transaction (PostgreSQL row lock; SQLite
    write transactions are already exclusive)."""
    stmt = (
        select(TroubleshootingSession)
        .where(
            TroubleshootingSession.id == session_id,
            in_account(TroubleshootingSession, viewer),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await db.exec(stmt)).first()


async def reactivate(
    tx: Tx, session: TroubleshootingSession, now: datetime, assignee_id: uuid.UUID | None = None
) -> None:
    """The session is active again: a withdrawn escalation's (worked by `assignee_id`, who
    raised it), or a resumed park's (its creator works it still)."""
    session.status = SessionStatus.ACTIVE
    if assignee_id is not None:
        session.assignee_id = assignee_id
    session.updated_at = now
    tx.session.add(session)
    await tx.session.flush()
