"""Who hears of an escalation by email, and in the desk's notification list: recorded with the
escalation (or the claim, transfer or overdue check that is the news), sent by a worker.

Each user's preferences (resolvers/notification_prefs.py) decide, here and nowhere else:
- a new escalation, and the team's overdue reminder of it: by its priority against the user's
  `new_escalations` (ALL, HIGH_AND_URGENT, NONE); in the notification list too;
- one they escalated was claimed, transferred or is overdue: `my_escalations`; in the list too;
- `in_app_only`: none of those by email, the notification list only.
What is addressed to one user about their own work (handed to you, a nudge, a release, the
admins' alert of an escalation still unclaimed) is sent whatever their preferences say.
Viewers never hear of escalations (they may not claim them).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import cast

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from db.enums import EmailStatus, JobKind, NotificationKind, Role
from db.models import EmailMessage, Handoff, TroubleshootingSession, User
from db.types import utcnow
from resolvers import inbox
from resolvers.auth import Viewer
from resolvers.desk import Tx
from resolvers.notification_prefs import Preferences, preferences_of, users_with_preferences
from resolvers.permissions import Capability, roles_with
from resolvers.tenancy import in_account

NOTIFIED_ROLES = roles_with(Capability.CLAIM)  # those who may take the escalation: no viewers
ADMIN_ROLES = roles_with(Capability.ADMINISTER)
_SUBJECT_MAX = 200


async def _active_with_preferences(
    tx: Tx, account_id: uuid.UUID, roles: tuple[Role, ...], *, but: uuid.UUID
) -> list[tuple[User, Preferences]]:
    """As `_active`, each with their preferences, in one statement (an escalation's recipients:
    every active engineer or admin of the account but the escalator)."""
    return await users_with_preferences(tx.session, account_id, *_active_where(roles, but))


async def _active(
    tx: Tx, account_id: uuid.UUID, roles: tuple[Role, ...], *, but: uuid.UUID
) -> list[User]:
    """The account's active users in these roles, but one, by email."""
    stmt = (
        select(User)
        .where(in_account(User, account_id), *_active_where(roles, but))
        .order_by(col(User.email))
    )
    return list((await tx.session.exec(stmt)).all())


def _active_where(roles: tuple[Role, ...], but: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    active = cast(ColumnElement[bool], User.active)  # the column itself, as SQL: `active`
    return (col(User.role).in_(roles), active, col(User.id) != but)


def escalation_subject(session: TroubleshootingSession) -> str:
    return _subject("Escalated", session)


def _subject(what: str, session: TroubleshootingSession) -> str:
    # A header is one line: a summary typed with line breaks must not break the email.
    summary = " ".join(session.problem_summary.split())
    subject = f"{what}: {summary}"
    return subject if len(subject) <= _SUBJECT_MAX else subject[: _SUBJECT_MAX - 1] + "…"


def escalation_body(
    public_url: str, handoff: Handoff, session: TroubleshootingSession, viewer: Viewer
) -> str:
    opening = f"{viewer.name} escalated a troubleshooting session ({handoff.priority} priority)."
    return _body(opening, public_url, handoff, session)


def _body(opening: str, public_url: str, handoff: Handoff, session: TroubleshootingSession) -> str:
    notes = handoff.engineer_notes or "(no notes)"
    return (
        f"{opening}\n\n"
        f"Problem: {session.problem_summary}\n\n"
        f"Engineer notes:\n{notes}\n\n"
        f"Open it: {public_url}/handoffs/{handoff.id}\n"
    )


async def record_escalation_emails(
    tx: Tx, public_url: str, handoff: Handoff, session: TroubleshootingSession, viewer: Viewer
) -> None:
    """The team, each as their preferences say: by email, and in their notification list."""
    everyone = await _active_with_preferences(
        tx, viewer.account_id, NOTIFIED_ROLES, but=viewer.user_id
    )
    team = [(u, p) for u, p in everyone if p.new_escalation(handoff.priority)]
    subject = escalation_subject(session)
    body = escalation_body(public_url, handoff, session, viewer)
    record_emails(tx, handoff, [u for u, p in team if not p.in_app_only], subject, body)
    await inbox.record(
        tx,
        handoff,
        session.problem_summary,
        [u for u, _ in team],
        NotificationKind.NEW_ESCALATION,
        actor_id=viewer.user_id,
    )


async def _wanting_new(
    tx: Tx, handoff: Handoff, users: list[User]
) -> list[tuple[User, Preferences]]:
    """Those of `users` who hear of a new escalation of the handoff's priority."""
    prefs = await preferences_of(tx.session, handoff.account_id, [u.id for u in users])
    return [(u, prefs[u.id]) for u in users if prefs[u.id].new_escalation(handoff.priority)]


def record_emails(
    tx: Tx, handoff: Handoff, recipients: list[User], subject: str, body: str
) -> None:
    """One email about the handoff to each recipient, sent by a worker after the commit."""
    made = utcnow()
    for user in recipients:
        email_id = uuid.uuid4()
        tx.insert_later(
            EmailMessage,
            {
                "id": email_id,
                "account_id": handoff.account_id,
                "handoff_id": handoff.id,
                "recipient_id": user.id,
                "to_address": user.email,
                "subject": subject,
                "body": body,
                "status": EmailStatus.PENDING,
                "attempts": 0,
                "last_error": None,
                "created_at": made,
                "sent_at": None,
            },
        )
        tx.enqueue(JobKind.EMAIL, handoff.account_id, email_id)


# --- a transfer: the colleague it is handed to is told ---


def transfer_subject(session: TroubleshootingSession) -> str:
    return _subject("Handed to you", session)


def transfer_body(
    public_url: str, handoff: Handoff, session: TroubleshootingSession, viewer: Viewer
) -> str:
    opening = (
        f"{viewer.name} handed you an escalation ({handoff.priority} priority): "
        "it is yours to work now."
    )
    return _body(opening, public_url, handoff, session)


async def record_transfer_email(
    tx: Tx,
    public_url: str,
    handoff: Handoff,
    session: TroubleshootingSession,
    viewer: Viewer,
    colleague: User,
) -> None:
    """One email to the colleague a claimed escalation was handed to, sent by the email job."""
    body = transfer_body(public_url, handoff, session, viewer)
    record_emails(tx, handoff, [colleague], transfer_subject(session), body)


# --- timers (issue 14): an escalation waits too long, or its claimer does nothing on it ---


async def record_waiting_emails(
    tx: Tx,
    public_url: str,
    handoff: Handoff,
    session: TroubleshootingSession,
    waited: timedelta,
    *,
    admins: bool,
) -> None:
    """Nobody has claimed it in its time: the team again (the escalation's own recipients); or,
    a period later (`admins`), the account's admins."""
    roles, subject = (ADMIN_ROLES, "Still unclaimed") if admins else (NOTIFIED_ROLES, "Overdue")
    why = (
        ", although the team was told it was overdue. You are told as an admin of the account."
        if admins
        else ": it is overdue."
    )
    body = (
        f"Nobody has claimed this escalation ({handoff.priority} priority) in "
        f"{_duration(waited)}{why}\n\n{_about(public_url, handoff, session)}"
    )
    recipients = await _active(tx, handoff.account_id, roles, but=handoff.created_by_id)
    if not admins:  # the team's reminder: as their preferences of new escalations say
        team = await _wanting_new(tx, handoff, recipients)
        recipients = [u for u, p in team if not p.in_app_only]
    record_emails(tx, handoff, recipients, _subject(subject, session), body)
    if not admins:
        await record_escalator_news(
            tx, public_url, handoff, NotificationKind.OVERDUE, actor=None, waited=waited
        )


def record_nudge_email(
    tx: Tx,
    public_url: str,
    handoff: Handoff,
    session: TroubleshootingSession,
    claimer: User,
    idle: timedelta,
    release_in: timedelta | None,
) -> None:
    """The claimer: nothing happened on what they claimed for a while."""
    then = (
        f" If nothing happens on it in the next {_duration(release_in)}, it goes back to the "
        "queue for someone else to pick up."
        if release_in is not None
        else ""
    )
    body = (
        f"You claimed this escalation, and nothing has happened on it for {_duration(idle)}."
        f"{then}\n\n{_about(public_url, handoff, session)}"
    )
    record_emails(tx, handoff, [claimer], _subject("Still on it?", session), body)


def record_idle_release_email(
    tx: Tx,
    public_url: str,
    handoff: Handoff,
    session: TroubleshootingSession,
    claimer: User,
    idle: timedelta,
) -> None:
    """The claimer: what they claimed went back to the queue."""
    body = (
        f"You claimed this escalation, and nothing has happened on it for {_duration(idle)}, "
        "although you were reminded: it went back to the queue for someone else to pick up."
        "\n\n"
        f"{_about(public_url, handoff, session)}"
    )
    record_emails(tx, handoff, [claimer], _subject("Released", session), body)


def _about(public_url: str, handoff: Handoff, session: TroubleshootingSession) -> str:
    return f"Problem: {session.problem_summary}\n\nOpen it: {public_url}/handoffs/{handoff.id}\n"


def _duration(span: timedelta) -> str:
    minutes = span // timedelta(minutes=1)
    hours, rest = divmod(minutes, 60)
    if hours and not rest:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- the escalator: what became of what they escalated (issue 15) ---


async def record_escalator_news(
    tx: Tx,
    public_url: str,
    handoff: Handoff,
    kind: NotificationKind,
    *,
    actor: Viewer | None,
    colleague: User | None = None,
    waited: timedelta | None = None,
) -> None:
    """Tells the escalation's escalator it was claimed (by `actor`), transferred (by `actor` to
    `colleague`) or is overdue (`waited`): by email unless they asked for the desk only, and in
    their notification list; if they want to hear of it (`my_escalations`). Not their own doing,
    nor a transfer to them (they are told as its colleague)."""
    escalator_id = handoff.created_by_id
    if actor is not None and actor.user_id == escalator_id:
        return
    if colleague is not None and colleague.id == escalator_id:
        return
    found = await users_with_preferences(
        tx.session, handoff.account_id, col(User.id) == escalator_id
    )
    if not found:
        return
    escalator, prefs = found[0]
    if not escalator.active or escalator.role not in NOTIFIED_ROLES:
        return
    if not prefs.my_escalations:
        return
    session = await tx.session.get_one(TroubleshootingSession, handoff.session_id)
    match kind:
        case NotificationKind.CLAIMED:
            assert actor is not None  # a claim is someone's
            what, opening = "Claimed", f"{actor.name} claimed the escalation you raised."
        case NotificationKind.TRANSFERRED:
            assert actor is not None  # a transfer is someone's, to someone
            assert colleague is not None
            what = "Handed on"
            opening = f"{actor.name} handed the escalation you raised to {colleague.name}."
        case _:
            assert waited is not None  # the overdue check says how long it waited
            what, opening = (
                "Still waiting",
                f"Nobody has claimed the escalation you raised ({handoff.priority} priority) in "
                f"{_duration(waited)}: it is overdue, and the team was told again.",
            )
    if not prefs.in_app_only:
        body = f"{opening}\n\n{_about(public_url, handoff, session)}"
        record_emails(tx, handoff, [escalator], _subject(what, session), body)
    actor_id = actor.user_id if actor is not None else None
    await inbox.record(tx, handoff, session.problem_summary, [escalator], kind, actor_id=actor_id)
