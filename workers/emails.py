"""The email job: send recorded escalation emails over SMTP (or just log them, by default).

Each email ends with its recipient's own link to their email preferences (a signed token made
as it is sent, resolvers/notification_prefs.py): one click, no login.

An email slot leases a batch of email jobs at once (an escalation's recipients are enqueued
together, so a batch is mostly one escalation's): it loads their emails in one query, sends them
one after another over one connection, and settles the batch in one transaction, a statement per
outcome. Each job is still its own: its own lease check (a job whose lease was taken over is
left to the attempt that holds it, its email untouched), its own attempts, and a refusal of one
recipient retries that job only. A failure of the server itself (no connection, a timeout, a
dropped connection) fails the rest of the batch with it: each of those attempts would wait out
the same timeout."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from email import quoprimime
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP
from email.utils import parseaddr

import aiosmtplib
from sqlmodel import col, select, update

from db.enums import EmailStatus, JobState
from db.jobs import return_jobs
from db.models import EmailMessage
from db.types import utcnow
from resolvers.desk import Desk, Tx, transaction
from resolvers.notification_prefs import preferences_link
from workers.runner import JobRun, LeaseLost, settle_runs
from workers.smtp import SmtpConnections

log = logging.getLogger(__name__)

# Refusals of one message (its recipient, or its content): that email is retried, the
# connection and the rest of the batch carry on. Any other failure is the server's.
_REFUSED = (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPDataError)
_FAILED = (aiosmtplib.SMTPException, OSError, TimeoutError)


class EmailJob:
    """The email job's handler: one job (`await handler(run)`), or a batch leased together."""

    def __init__(
        self,
        smtp_url: str,
        sender: str,
        timeout_seconds: float = 10.0,
        connections: SmtpConnections | None = None,
    ) -> None:
        """`timeout_seconds`: for connecting (and the greeting), and for each command's answer;
        an attempt past it has failed, and is retried later like any failed attempt.
        `connections`: kept open between emails (workers/smtp.py); without it, one connection
        per email."""
        self.smtp_url = smtp_url
        self.sender = sender
        self.timeout_seconds = timeout_seconds
        if connections is None:
            connections = SmtpConnections(smtp_url, timeout_seconds, keep_seconds=0)
        self.mail_server = connections

    async def __call__(self, run: JobRun) -> None:
        await self.batch([run])
        if run.outcome == "taken over":
            raise LeaseLost(str(run.job.id))

    async def batch(self, runs: Sequence[JobRun]) -> None:
        desk = runs[0].desk
        ids = [run.job.subject_id for run in runs]
        async with desk.db.read() as db:
            rows = (await db.exec(select(EmailMessage).where(col(EmailMessage.id).in_(ids)))).all()
        emails = {email.id: email for email in rows}
        outcome = _Outcome()
        to_send: list[tuple[JobRun, EmailMessage]] = []
        for run in runs:
            email = emails.get(run.job.subject_id)
            if email is None or email.status in (EmailStatus.SENT, EmailStatus.LOGGED):
                outcome.nothing_to_do.append(run)
            elif not self.smtp_url:
                log.info("email (not sent: no SMTP URL) to %s: %s", email.to_address, email.subject)
                outcome.logged.append((run, email))
            else:
                to_send.append((run, email))
        if to_send:
            await self._send(to_send, outcome)
        await outcome.settle(runs[0].desk)

    async def _send(self, batch: list[tuple[JobRun, EmailMessage]], outcome: _Outcome) -> None:
        first = batch[0][0]
        desk, now = first.desk, first.desk.clock.now()
        # After the first, send only while the leases have room for one more slow send: the
        # rest are handed back, uncounted, rather than sent by an attempt that may have lost
        # them (a slow server that never quite times out).
        deadline = time.monotonic() + first.worker.lease_seconds - 2 * self.timeout_seconds - 1
        server_failed: str | None = None
        rendered: dict[tuple[str, str], _Rendered | None] = {}
        for n, (run, email) in enumerate(batch):
            if server_failed is not None:
                outcome.not_sent.append((run, email, server_failed))
                continue
            if n > 0 and time.monotonic() > deadline:
                outcome.handed_back.append(run)
                continue
            link = preferences_link(desk.settings, email.recipient_id, email.account_id, now)
            try:
                await self._send_one(rendered, email, _footer(link))
            except _REFUSED as error:
                outcome.not_sent.append((run, email, f"{type(error).__name__}: {error}"))
            except _FAILED as error:
                server_failed = f"{type(error).__name__}: {error}"
                outcome.not_sent.append((run, email, server_failed))
            except Exception as error:  # e.g. an email that cannot be rendered: its job alone
                log.exception("email %s could not be sent", email.id)
                outcome.not_sent.append((run, email, f"crashed: {type(error).__name__}: {error}"))
            else:
                outcome.sent.append((run, email))

    async def _send_one(
        self, rendered: dict[tuple[str, str], _Rendered | None], email: EmailMessage, footer: str
    ) -> None:
        """Rendered once per escalation (its recipients' emails differ in To and the footer's
        link only); an email the shortcut does not fit goes through the email package whole."""
        key = (email.subject, email.body)
        if key not in rendered:
            rendered[key] = _Rendered.of(self.sender, email)
        template = rendered[key]
        if template is None or not _plain_address(email.to_address):
            await self.mail_server.send(_message(self.sender, email, footer=footer))
            return
        await self.mail_server.send_raw(
            template.envelope_from, [email.to_address], template.message(email.to_address, footer)
        )


class _Outcome:
    """What became of each job of a batch, settled together."""

    def __init__(self) -> None:
        self.nothing_to_do: list[JobRun] = []  # its email is gone, or went already
        self.sent: list[tuple[JobRun, EmailMessage]] = []
        self.logged: list[tuple[JobRun, EmailMessage]] = []
        self.not_sent: list[tuple[JobRun, EmailMessage, str]] = []
        self.handed_back: list[JobRun] = []

    async def settle(self, desk: Desk) -> None:
        failures: list[tuple[bool, JobRun, EmailMessage, str]] = []
        async with transaction(desk) as tx:
            await settle_runs(tx, self.nothing_to_do, JobState.DONE)
            sent_at = utcnow()
            for status, done in ((EmailStatus.SENT, self.sent), (EmailStatus.LOGGED, self.logged)):
                for attempts, group in _by_attempts(done).items():
                    settled = await settle_runs(tx, [run for run, _ in group], JobState.DONE)
                    values: dict[str, object] = {"status": status, "attempts": attempts}
                    if status == EmailStatus.SENT:
                        values["sent_at"] = sent_at
                    await _update(tx, settled, **values)
            # A retry's backoff and an email's attempts follow the job's attempts: one statement
            # per attempts count, reason and end (retried, or failed for good).
            groups: dict[tuple[int, str], list[tuple[JobRun, EmailMessage]]] = defaultdict(list)
            for run, email, reason in self.not_sent:
                groups[(run.job.attempts, reason)].append((run, email))
            for (attempts, reason), group in groups.items():
                runs = [run for run, _ in group]
                given_up = runs[0].last_attempt
                state = JobState.FAILED if given_up else JobState.PENDING
                settled = await settle_runs(tx, runs, state, error=reason)
                failed: dict[str, object] = {"attempts": attempts, "last_error": reason[:2000]}
                if given_up:
                    failed["status"] = EmailStatus.FAILED
                await _update(tx, settled, **failed)
                failures += [(given_up, run, email, reason) for run, email in group]
        if self.handed_back:
            await return_jobs(desk.db, [run.job for run in self.handed_back])
            for run in self.handed_back:
                run.outcome = "returned"
        for given_up, run, email, reason in failures:
            if run.outcome == "taken over":
                continue
            to = email.to_address
            if given_up:
                log.warning("email %s to %s failed for good: %s", email.id, to, reason)
            else:
                log.info("email %s to %s not sent (%s); retrying", email.id, to, reason)
            desk.meter.email_failed("given_up" if given_up else "retrying")


def email_job(
    smtp_url: str,
    sender: str,
    timeout_seconds: float = 10.0,
    connections: SmtpConnections | None = None,
) -> EmailJob:
    return EmailJob(smtp_url, sender, timeout_seconds, connections)


def _by_attempts(
    group: list[tuple[JobRun, EmailMessage]],
) -> dict[int, list[tuple[JobRun, EmailMessage]]]:
    found: dict[int, list[tuple[JobRun, EmailMessage]]] = defaultdict(list)
    for run, email in group:
        found[run.job.attempts].append((run, email))
    return found


class _Rendered:
    """An escalation's email but its recipient: the headers but To (as the email package writes
    them), and the body quoted-printable, but the footer. Quoted-printable is line by line, and
    the footer starts a line: the body's encoding followed by the footer's is the encoding of
    the whole."""

    def __init__(self, envelope_from: str, head: bytes, body: bytes) -> None:
        self.envelope_from = envelope_from
        self.head = head
        self.body = body

    @classmethod
    def of(cls, sender: str, email: EmailMessage) -> _Rendered | None:
        envelope_from = parseaddr(sender)[1]
        if not envelope_from.isascii():
            return None  # SMTPUTF8: aiosmtplib's send_message handles it
        message = MimeMessage()
        message["From"] = sender
        message["Subject"] = email.subject
        message.set_content("", cte="quoted-printable")
        head, _, _ = message.as_bytes(policy=SMTP).partition(b"\r\n\r\n")
        return cls(envelope_from, head + b"\r\n", _quoted_printable(email.body))

    def message(self, to_address: str, footer: str) -> bytes:
        assert footer.startswith("\n")
        to = b"To: " + to_address.encode() + b"\r\n\r\n"
        return self.head + to + self.body + _quoted_printable(footer)


def _quoted_printable(text: str) -> bytes:
    # As the email package encodes a text body: its UTF-8 bytes, one character per byte.
    encoded = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), eol="\r\n")
    return encoded.encode("ascii")


def _plain_address(address: str) -> bool:
    """An address a To header may carry as it is."""
    return address.isascii() and address.isprintable() and "," not in address


def _footer(link: str) -> str:
    return f"\n--\nChoose which emails you get (no login needed): {link}\n"


def _message(sender: str, email: EmailMessage, *, footer: str = "") -> MimeMessage:
    message = MimeMessage()
    message["From"] = sender
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message.set_content(email.body + footer)
    return message


async def give_up_email(job: JobRun, tx: Tx) -> None:
    await tx.session.exec(
        update(EmailMessage)
        .where(col(EmailMessage.id) == job.job.subject_id)
        .values(status=EmailStatus.FAILED, attempts=job.job.attempts)
    )


async def _update(tx: Tx, settled: Sequence[JobRun], **values: object) -> None:
    """The emails of the jobs this attempt settled (never those taken over)."""
    if settled:
        ids = [run.job.subject_id for run in settled]
        await tx.session.exec(
            update(EmailMessage).where(col(EmailMessage.id).in_(ids)).values(**values)
        )
