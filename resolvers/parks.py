"""Parked sessions: which park still holds its session.

A park is still parked while its session is paused on it: the session is paused and no handoff
of it is newer. Whatever moves the session on (a message in it, a new handoff, resolving it)
closes the park without touching its row: it stays among the session's handoffs, as it was.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.enums import HandoffIntent, SessionStatus
from db.models import Handoff, TroubleshootingSession

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
