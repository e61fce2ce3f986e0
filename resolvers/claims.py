"""Claiming an escalation: exactly one senior wins, in the database itself."""

from __future__ import annotations

import uuid

from sqlmodel import select, update

from db.enums import EventKind, HandoffIntent, SessionStatus
from db.models import Handoff, TroubleshootingSession, User
from db.types import utcnow
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.outcomes import AlreadyClaimed, InvalidState, NotFound, NotPermitted
from resolvers.permissions import Capability, denial
from resolvers.seen import mark_seen


def _escalation(viewer: Viewer, handoff_id: uuid.UUID):
    return (
        (Handoff.id == handoff_id)
        & (Handoff.account_id == viewer.account_id)
        & (Handoff.intent == HandoffIntent.ESCALATE)
    )


async def claim_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | AlreadyClaimed | NotFound | NotPermitted:
    if not viewer.can(Capability.CLAIM):
        return NotPermitted(denial(Capability.CLAIM))
    async with transaction(desk) as tx:
        now = utcnow()
        # One conditional update, no read-then-write window: on PostgreSQL a concurrent claimer
        # waits for the winner's row lock, re-checks `claimed_by_id IS NULL` and matches nothing;
        # SQLite runs write transactions one at a time.
        won = (
            await tx.session.exec(
                update(Handoff)
                .where(_escalation(viewer, handoff_id), Handoff.claimed_by_id.is_(None))
                .values(claimed_by_id=viewer.user_id, claimed_at=now)
                .returning(Handoff.session_id)
            )
        ).first()
        if won is not None:
            await _take_over_session(tx, viewer, won.session_id, now)
            await mark_seen(tx.session, viewer.user_id, handoff_id)
            await tx.record(
                viewer.account_id,
                EventKind.CLAIMED,
                handoff_id=handoff_id,
                actor_id=viewer.user_id,
                at=now,
            )
        handoff = await _fresh_handoff(tx, viewer, handoff_id)
        if handoff is None:
            return NotFound("handoff")
        if handoff.claimed_by_id == viewer.user_id:
            return handoff  # the win, or the winner's repeated claim: a harmless no-op
        claimer = await tx.session.get(User, handoff.claimed_by_id)
        return AlreadyClaimed(handoff=handoff, claimer=claimer, claimed_at=handoff.claimed_at)


async def release_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound | NotPermitted | InvalidState:
    """Give a claimed escalation back to the queue."""
    if not viewer.can(Capability.CLAIM):
        return NotPermitted(denial(Capability.CLAIM))
    async with transaction(desk) as tx:
        handoff = await _fresh_handoff(tx, viewer, handoff_id, lock=True)
        if handoff is None:
            return NotFound("handoff")
        if handoff.claimed_by_id != viewer.user_id:
            return NotPermitted("Only the engineer who claimed this escalation may release it.")
        session = await tx.session.get(TroubleshootingSession, handoff.session_id)
        if session.status != SessionStatus.ACTIVE or session.assignee_id != viewer.user_id:
            return InvalidState(
                "The session has moved on since the claim (handed off again or resolved).",
                session.status,
            )
        handoff.claimed_by_id = None
        handoff.claimed_at = None
        session.status = SessionStatus.ESCALATED
        session.assignee_id = handoff.created_by_id
        session.updated_at = utcnow()
        tx.session.add_all([handoff, session])
        await tx.session.flush()
        await tx.record(
            viewer.account_id, EventKind.RELEASED, handoff_id=handoff.id, actor_id=viewer.user_id
        )
        return handoff


async def _take_over_session(tx: Tx, viewer: Viewer, session_id: uuid.UUID, now) -> None:
    """The claimer works the session from now on."""
    await tx.session.exec(
        update(TroubleshootingSession)
        .where(TroubleshootingSession.id == session_id)
        .values(status=SessionStatus.ACTIVE, assignee_id=viewer.user_id, updated_at=now)
    )


async def _fresh_handoff(
    tx: Tx, viewer: Viewer, handoff_id: uuid.UUID, *, lock: bool = False
) -> Handoff | None:
    stmt = select(Handoff).where(_escalation(viewer, handoff_id))
    if lock:
        stmt = stmt.with_for_update()
    # populate_existing: what the database says now, not what this session saw earlier.
    stmt = stmt.execution_options(populate_existing=True)
    return (await tx.session.exec(stmt)).first()
