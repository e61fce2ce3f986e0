"""Who hears of an escalation by email: recorded with the escalation, sent by a worker."""

from __future__ import annotations

from sqlmodel import col, select

from db.enums import EmailStatus, JobKind
from db.models import EmailMessage, Handoff, TroubleshootingSession, User
from resolvers.auth import Viewer
from resolvers.desk import Tx
from resolvers.permissions import Capability, roles_with
from resolvers.tenancy import in_account

NOTIFIED_ROLES = roles_with(Capability.CLAIM)  # those who may take the escalation: no viewers
_SUBJECT_MAX = 200


async def escalation_recipients(tx: Tx, viewer: Viewer) -> list[User]:
    """Every active engineer or admin of the escalating account, except the escalator."""
    stmt = (
        select(User)
        .where(
            in_account(User, viewer),
            col(User.role).in_(NOTIFIED_ROLES),
            User.active,
            User.id != viewer.user_id,
        )
        .order_by(col(User.email))
    )
    return list((await tx.session.exec(stmt)).all())


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
    subject = escalation_subject(session)
    body = escalation_body(public_url, handoff, session, viewer)
    for user in await escalation_recipients(tx, viewer):
        email = EmailMessage(
            account_id=handoff.account_id,
            handoff_id=handoff.id,
            recipient_id=user.id,
            to_address=user.email,
            subject=subject,
            body=body,
            status=EmailStatus.PENDING,
        )
        tx.session.add(email)
        tx.enqueue(JobKind.EMAIL, handoff.account_id, email.id)


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
    email = EmailMessage(
        account_id=handoff.account_id,
        handoff_id=handoff.id,
        recipient_id=colleague.id,
        to_address=colleague.email,
        subject=transfer_subject(session),
        body=transfer_body(public_url, handoff, session, viewer),
        status=EmailStatus.PENDING,
    )
    tx.session.add(email)
    tx.enqueue(JobKind.EMAIL, handoff.account_id, email.id)
