"""The email job: send one recorded escalation email over SMTP (or just log it, by default).

Each email ends with its recipient's own link to their email preferences (a signed token made
as it is sent, resolvers/notification_prefs.py): one click, no login."""

from __future__ import annotations

import logging
from email.message import EmailMessage as MimeMessage
from typing import Any

import aiosmtplib
from sqlmodel import col, select, update

from db.enums import EmailStatus
from db.models import EmailMessage
from db.types import utcnow
from resolvers.desk import Tx, transaction
from resolvers.notification_prefs import preferences_link
from workers.runner import Handler, JobRun
from workers.smtp import SmtpConnections

log = logging.getLogger(__name__)


def email_job(
    smtp_url: str,
    sender: str,
    timeout_seconds: float = 10.0,
    connections: SmtpConnections | None = None,
) -> Handler:
    """`timeout_seconds`: for connecting (and the greeting), and for each command's answer; an
    attempt past it has failed, and is retried later like any failed attempt. `connections`:
    kept open between emails (workers/smtp.py); without it, one connection per email."""
    if connections is None:
        connections = SmtpConnections(smtp_url, timeout_seconds, keep_seconds=0)
    mail_server = connections

    async def run(job: JobRun) -> None:
        async with job.desk.db.read() as db:
            email = (
                await db.exec(select(EmailMessage).where(EmailMessage.id == job.job.subject_id))
            ).first()
        if email is None or email.status in (EmailStatus.SENT, EmailStatus.LOGGED):
            async with transaction(job.desk) as tx:
                await job.done(tx)
            return
        if not smtp_url:
            log.info("email (not sent: no SMTP URL) to %s: %s", email.to_address, email.subject)
            await _settle(job, email, EmailStatus.LOGGED)
            return
        link = preferences_link(
            job.desk.settings, email.recipient_id, email.account_id, job.desk.clock.now()
        )
        try:
            await mail_server.send(_message(sender, email, footer=_footer(link)))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await _not_sent(job, email, f"{type(error).__name__}: {error}")
            return
        await _settle(job, email, EmailStatus.SENT)

    return run


def _footer(link: str) -> str:
    return f"\n--\nChoose which emails you get (no login needed): {link}\n"


def _message(sender: str, email: EmailMessage, *, footer: str = "") -> MimeMessage:
    message = MimeMessage()
    message["From"] = sender
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message.set_content(email.body + footer)
    return message


async def _settle(job: JobRun, email: EmailMessage, status: EmailStatus) -> None:
    sent_at = utcnow() if status == EmailStatus.SENT else None
    async with transaction(job.desk) as tx:
        await _update(tx, email, status=status, attempts=job.job.attempts, sent_at=sent_at)
        await job.done(tx)


async def _not_sent(job: JobRun, email: EmailMessage, reason: str) -> None:
    given_up = job.last_attempt
    async with transaction(job.desk) as tx:
        values = {"attempts": job.job.attempts, "last_error": reason[:2000]}
        if given_up:
            log.warning("email %s to %s failed for good: %s", email.id, email.to_address, reason)
            await _update(tx, email, status=EmailStatus.FAILED, **values)
            await job.failed(tx, reason)
        else:
            log.info("email %s to %s not sent (%s); retrying", email.id, email.to_address, reason)
            await _update(tx, email, **values)
            await job.retry(tx, reason)
    job.desk.meter.email_failed("given_up" if given_up else "retrying")


async def give_up_email(job: JobRun, tx: Tx) -> None:
    await tx.session.exec(
        update(EmailMessage)
        .where(col(EmailMessage.id) == job.job.subject_id)
        .values(status=EmailStatus.FAILED, attempts=job.job.attempts)
    )


async def _update(tx: Tx, email: EmailMessage, **values: Any) -> None:
    await tx.session.exec(
        update(EmailMessage).where(col(EmailMessage.id) == email.id).values(**values)
    )
