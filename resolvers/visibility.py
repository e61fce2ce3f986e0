"""Who sees what: escalations are the team's, a park handoff is its creator's alone; a session's
conversation is the team's while it is escalated, and private to its engineer while parked; the
account's internal notes are its engineers' and admins', and its viewers' unless it says not."""

import uuid
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, exists, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.enums import HandoffIntent, SessionStatus
from db.models import Account, Handoff, TroubleshootingSession
from resolvers.auth import Viewer
from resolvers.permissions import Capability
from resolvers.tenancy import in_account


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    return visible(viewer.account_id, viewer.user_id)


def visible(
    account_id: uuid.UUID | BindParameter[Any], user_id: uuid.UUID | BindParameter[Any]
) -> ColumnElement[bool]:
    """`visible_to`, given the caller's account and id as values or as bound parameters (for
    statements built once and bound per request)."""
    return in_account(Handoff, account_id) & (
        (col(Handoff.intent) == HandoffIntent.ESCALATE) | (col(Handoff.created_by_id) == user_id)
    )


_Session = TroubleshootingSession
_newer = aliased(Handoff, name="newer_handoff")


def session_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The sessions of the caller's account whose conversation the caller may follow live
    (sessionMessages):

    - a parked session (paused on a park) is private: its engineer (the assignee) and the park's
      creator see it, nobody else, an admin neither;
    - otherwise whoever may work it (its assignee; an admin, who may step in: permissions.may_work)
      sees it, and the whole team does while it has an escalation standing (not withdrawn: a
      withdrawal gives it back to its escalator).
    """
    parked = col(_Session.status) == SessionStatus.PAUSED
    works = col(_Session.assignee_id) == viewer.user_id
    parked_by_caller = exists().where(
        col(Handoff.session_id) == col(_Session.id),
        col(Handoff.intent) == HandoffIntent.PARK,
        col(Handoff.created_by_id) == viewer.user_id,
        # The park that holds it: no handoff of the session is newer (resolvers/parks.py).
        ~exists().where(
            col(_newer.session_id) == col(Handoff.session_id),
            col(_newer.created_at) > col(Handoff.created_at),
        ),
    )
    escalated = exists().where(
        col(Handoff.session_id) == col(_Session.id),
        col(Handoff.intent) == HandoffIntent.ESCALATE,
        col(Handoff.withdrawn_at).is_(None),
    )
    team: ColumnElement[bool] = true() if viewer.can(Capability.STEP_IN) else escalated
    return in_account(_Session, viewer) & (works | (parked & parked_by_caller) | (~parked & team))


def notes_visible(viewer: Viewer, to_viewers: bool) -> bool:
    """Whether the caller reads the account's internal notes: those who may write them always do;
    the others (viewers) when the account lets them (`to_viewers`: its setting)."""
    return viewer.can(Capability.NOTE) or to_viewers


def notes_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """`notes_visible` in a statement: the account's setting is read with it."""
    if viewer.can(Capability.NOTE):
        return true()
    return exists().where(
        col(Account.id) == viewer.account_id, col(Account.notes_visible_to_viewers)
    )
