"""Handing a session off: park it (private) or escalate it (team-wide)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import (
    AssessmentStatus,
    EventKind,
    HandoffIntent,
    Priority,
    SessionStatus,
)
from db.models import Handoff, SessionMessage, TroubleshootingSession
from resolvers import caps, limits, sla
from resolvers.assessments import ask_first
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.handoff_views import HandoffView, views_by_id
from resolvers.notifications import record_escalation_emails
from resolvers.outcomes import InvalidState, NotFound, NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.sessions import session_to_work
from resolvers.unread import mark_seen

_EXCERPT = 140


async def get_handoff(desk: Desk, viewer: Viewer, handoff_id: uuid.UUID) -> HandoffView | None:
    async with desk.db.read() as db:
        return (await views_by_id(db, viewer, [handoff_id])).get(handoff_id)


@requires(Capability.HAND_OFF)
async def create_handoff(
    desk: Desk,
    viewer: Viewer,
    session_id: uuid.UUID,
    *,
    intent: HandoffIntent,
    engineer_notes: str,
    priority: Priority,
) -> Handoff | NotFound | NotPermitted | InvalidState:
    notes = limits.check_text(
        engineer_notes, "engineerNotes", maximum=limits.ENGINEER_NOTES_MAX, required=False
    )
    async with transaction(desk) as tx:
        session = await session_to_work(
            tx.session,
            viewer,
            session_id,
            to="hand it off",
            closed=lambda status: f"A {status} session cannot be handed off.",
        )
        if not isinstance(session, TroubleshootingSession):
            return session
        return await _hand_off(tx, desk, viewer, session, intent, notes, priority)


async def _hand_off(
    tx: Tx,
    desk: Desk,
    viewer: Viewer,
    session: TroubleshootingSession,
    intent: HandoffIntent,
    notes: str,
    priority: Priority,
) -> Handoff:
    now = tx.now()
    snapshot = session_snapshot(session, taken_at=now.isoformat())
    handoff = Handoff(
        account_id=session.account_id,
        session_id=session.id,
        intent=intent,
        engineer_notes=notes,
        priority=priority,
        priority_rank=priority.rank,
        snapshot=snapshot,
        # The conversation by reference: positions are handed out under this session's lock.
        snapshot_through=session.message_count,
        created_by_id=viewer.user_id,
        created_at=now,
        assessment_status=AssessmentStatus.PENDING,
    )
    tx.session.add(handoff)
    session.handoff_count += 1
    session.updated_at = now
    if intent == HandoffIntent.PARK:
        session.status = SessionStatus.PAUSED
        tx.session.add(session)
        tx.touch(session.account_id)
        return handoff

    session.status = SessionStatus.ESCALATED
    # A reference: the package's snapshot and conversation path are this handoff's snapshot.
    session.escalation_package = {"handoff_id": str(handoff.id), "escalated_at": now.isoformat()}
    tx.session.add(session)
    await ask_first(tx, handoff)  # the AI's assessment, due from a worker after the commit
    await tx.session.flush()  # the handoff row (assessment number and all) before its marks
    await mark_seen(tx.session, viewer.user_id, handoff.id)  # nobody is told of their own news
    await record_escalation_emails(tx, desk.settings.public_url, handoff, session, viewer)
    await sla.arm(tx, handoff)  # timers (issue 14): it waits in the queue from now
    await tx.record(
        session.account_id,
        EventKind.ESCALATED,
        handoff_id=handoff.id,
        actor_id=viewer.user_id,
        at=now,
    )
    return handoff


async def snapshot_conversation(
    db: AsyncSession, handoff: Handoff, *, limit: int = caps.MESSAGES.maximum
) -> list[SessionMessage]:
    """The snapshot's conversation (its last `limit` messages) for work done outside a request,
    such as the assessment."""
    stmt = (
        select(SessionMessage)
        .where(
            SessionMessage.session_id == handoff.session_id,
            SessionMessage.position <= handoff.snapshot_through,
        )
        .order_by(col(SessionMessage.position).desc())
        .limit(limit)
    )
    return list(reversed((await db.exec(stmt)).all()))


def session_snapshot(session: TroubleshootingSession, *, taken_at: str) -> dict[str, Any]:
    """The session's fields as they stood at handoff time, kept with the handoff whatever
    happens later. The conversation is kept as a position (`Handoff.snapshot_through`)."""
    return {
        "taken_at": taken_at,
        "problem_summary": session.problem_summary,
        "intake_type": session.intake_type,
        "intake_content": session.intake_content,
        "status": session.status,
        "confidence_tier": session.confidence_tier,
        "handoff_count": session.handoff_count,
    }


def conversation_path(messages: list[SessionMessage]) -> list[dict[str, Any]]:
    """The path the conversation took: each turn's speaker and its opening line."""
    path = []
    for m in messages:
        first_line = m.content.strip().splitlines()[0] if m.content.strip() else ""
        if len(first_line) > _EXCERPT:
            first_line = first_line[: _EXCERPT - 1] + "…"
        path.append({"position": m.position, "role": m.role, "excerpt": first_line})
    return path
