"""Parked sessions: which park still holds its session, and resuming one.

A park is still parked while its session is paused on it: the session is paused and no handoff
of it is newer. Whatever moves the session on (resuming it here, a message in it, a new handoff,
resolving it) closes the park without touching its row: it stays among the session's handoffs,
as it was, with its history.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from db.enums import EventKind, HandoffIntent, SessionStatus
from db.models import Handoff, TroubleshootingSession
from resolvers.auth import Viewer
from resolvers.desk import Desk, transaction
from resolvers.outcomes import InvalidState, NotFound, NotParked, NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.sessions import reactivate, session_to_work
from resolvers.visibility import visible_to

_session = aliased(TroubleshootingSession, name="parked_session")
_newer = aliased(Handoff, name="newer_handoff")


def still_parked() -> ColumnElement[bool]:
    """The handoff is a park whose session is paused on it (no newer handoff of the session)."""
    return (
        (col(Handoff.intent) == HandoffIntent.PARK)
        & exists().where(
            col(_session.id) == col(Handoff.session_id),
            col(_session.status) == SessionStatus.PAUSED,
        )
        & ~exists().where(
            col(_newer.session_id) == col(Handoff.session_id),
            col(_newer.created_at) > col(Handoff.created_at),
        )
    )


@requires(Capability.WORK_SESSIONS)
async def resume_parked_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound | NotPermitted | NotParked:
    """The caller's park's session is active again; the park stays, closed, with a RESUMED
    entry in its history. Another's park is not found: only its creator sees a park."""
    async with transaction(desk) as tx:
        park = (
            await tx.session.exec(
                select(Handoff).where(col(Handoff.id) == handoff_id, visible_to(viewer))
            )
        ).first()
        if park is None:
            return NotFound("handoff")
        if park.intent != HandoffIntent.PARK:
            return NotParked("This handoff is an escalation, not a park.", status=None)
        # Locked: a message, a handoff or a resume of the session at the same time waits.
        session = await session_to_work(
            tx.session, viewer, park.session_id, to="resume it", closed=_moved_on
        )
        match session:
            case InvalidState(message=message, status=status):
                return NotParked(message, status=status)
            case NotFound() | NotPermitted():
                return session
        stmt = select(Handoff.id).where(col(Handoff.id) == park.id, still_parked())
        if (await tx.session.exec(stmt)).first() is None:
            return NotParked(_moved_on(session.status), status=session.status)
        now = tx.now()
        await reactivate(tx, session, now)
        await tx.record(
            park.account_id,
            EventKind.RESUMED,
            handoff_id=park.id,
            actor_id=viewer.user_id,
            at=now,
        )
        return park


def _moved_on(status: str) -> str:
    if status == SessionStatus.PAUSED:
        return "The session was parked again since: resume its latest park."
    return f"The session is no longer parked on this handoff: it is {status}."
