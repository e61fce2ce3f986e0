"""Escalation emails, delivered by the email worker to a real local SMTP server (aiosmtpd)."""

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import Counter, defaultdict
from email import message_from_bytes, policy

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlmodel import select

from db.enums import EmailStatus, HandoffIntent, JobKind, JobState, SessionStatus
from db.models import EmailMessage, Handoff, Job, TroubleshootingSession
from resolvers import accounts
from resolvers.desk import Desk
from tests.api.test_workers import refused_attempts
from tests.factories import make_escalation, make_session
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.server import free_port
from tests.waiting import wait_for
from workers import create_worker
from workers.emails import email_job
from workers.runner import Worker

pytestmark = pytest.mark.anyio

SENDER = "Handoff Desk <desk@acme-support.test>"
ACME_SENIORS = {"dana.admin@acme.test", "kim.senior@acme.test", "sam.senior@acme.test"}


class Mailbox:
    """An aiosmtpd handler that keeps what it accepted and counts every DATA it was offered."""

    def __init__(self) -> None:
        self.mode = "accept"  # accept | refuse | refuse_first
        self.refused: set[str] = set()  # recipients whose messages it always refuses
        self.received: list[tuple[list[str], bytes]] = []
        self.offered: Counter = Counter()  # DATA commands per recipient
        self.peers: list[tuple] = []  # the client's end of the connection of each DATA
        self.url = ""  # set once the server listens
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        recipients = list(envelope.rcpt_tos)
        with self._lock:
            for rcpt in recipients:
                self.offered[rcpt] += 1
            self.peers.append(session.peer)
            first_time = all(self.offered[rcpt] == 1 for rcpt in recipients)
            refused = self.mode == "refuse" or (self.mode == "refuse_first" and first_time)
            if refused or self.refused.intersection(recipients):
                return "451 4.3.0 Try again later"
            self.received.append((recipients, envelope.content))
        return "250 OK"

    def messages(self) -> list:
        with self._lock:
            received = list(self.received)
        return [(rcpts, message_from_bytes(raw, policy=policy.default)) for rcpts, raw in received]


@contextlib.contextmanager
def mail_server(**options):
    """aiosmtpd on a free port, in its own thread; `options` for its SMTP (e.g. timeout: how
    long it lets a connection idle before closing it)."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    with mail_server() as mailbox:
        yield mailbox


def email_worker(
    desk: Desk, smtp_url: str, *, attempts: int = 5, retry_base_seconds: float = 0.05
) -> Worker:
    return Worker(
        desk,
        {JobKind.EMAIL: (email_job(smtp_url, SENDER), attempts)},
        lease_seconds=60,
        retry_base_seconds=retry_base_seconds,
        poll_seconds=0.05,
    )


async def emails_of(desk: Desk, handoff_id: uuid.UUID) -> list[EmailMessage]:
    async with desk.db.read() as db:
        stmt = select(EmailMessage).where(EmailMessage.handoff_id == handoff_id)
        return list((await db.exec(stmt)).all())


async def wait_emails(
    desk: Desk, handoff_id: uuid.UUID, status: EmailStatus, count: int
) -> list[EmailMessage]:
    async def check():
        rows = await emails_of(desk, handoff_id)
        return rows if len(rows) == count and all(r.status == status for r in rows) else None

    return await wait_for(check, f"{count} emails to be {status}")


async def email_jobs(desk: Desk) -> list[Job]:
    async with desk.db.read() as db:
        return list((await db.exec(select(Job).where(Job.kind == JobKind.EMAIL))).all())


async def running(worker: Worker, body):
    worker.start()
    try:
        return await body()
    finally:
        await worker.stop(2.0)


# --- who is told, and what they are told ---


async def test_an_escalation_emails_each_active_senior_of_its_account_but_the_escalator(
    desk, team, smtp
):
    public = Desk(
        settings=desk.settings.model_copy(update=dict(public_url="https://desk.example.test")),
        db=desk.db,
    )
    acme = await make_escalation(public, team.acme["alex"], "Label printer jams on floor 3")
    globex = await make_escalation(public, team.globex["gus"], "Globex VPN is down")

    async def deliver():
        acme_rows = await wait_emails(desk, acme.id, EmailStatus.SENT, 3)
        globex_rows = await wait_emails(desk, globex.id, EmailStatus.SENT, 1)
        return acme_rows, globex_rows

    acme_rows, globex_rows = await running(email_worker(desk, smtp.url), deliver)

    assert {r.to_address for r in acme_rows} == ACME_SENIORS
    assert [r.to_address for r in globex_rows] == ["gail.admin@globex.test"]
    assert all(r.attempts == 1 and r.sent_at is not None for r in acme_rows + globex_rows)

    messages = smtp.messages()
    assert sorted(r for rcpts, _ in messages for r in rcpts) == sorted(
        [*ACME_SENIORS, "gail.admin@globex.test"]
    )
    never = {"alex.junior@acme.test", "vic.viewer@acme.test", "gus.engineer@globex.test"}
    assert not never & {r for rcpts, _ in messages for r in rcpts}
    for rcpts, message in messages:
        assert [message["To"]] == rcpts
        assert message["From"] == SENDER
        body = message.get_content()
        if rcpts[0].endswith("@acme.test"):
            assert "Label printer jams on floor 3" in message["Subject"]
            assert f"https://desk.example.test/handoffs/{acme.id}" in body
            assert "Alex Junior escalated" in body
        else:
            assert "Globex VPN is down" in message["Subject"]
            assert f"https://desk.example.test/handoffs/{globex.id}" in body
            assert str(acme.id) not in body


async def test_a_deactivated_engineer_is_not_emailed(desk, team, smtp):
    removed = await accounts.deactivate_user(
        desk, team.acme["dana"].viewer, team.acme["kim"].user.id
    )
    assert removed.active is False
    handoff = await make_escalation(desk, team.acme["alex"], "Mailbox full")

    rows = await running(
        email_worker(desk, smtp.url), lambda: wait_emails(desk, handoff.id, EmailStatus.SENT, 2)
    )
    assert {r.to_address for r in rows} == {"dana.admin@acme.test", "sam.senior@acme.test"}
    assert sorted(r for rcpts, _ in smtp.messages() for r in rcpts) == sorted(
        ["dana.admin@acme.test", "sam.senior@acme.test"]
    )


async def test_parking_sends_no_email(desk, team, smtp):
    parked = await make_escalation(
        desk, team.acme["alex"], "Parked for lunch", intent=HandoffIntent.PARK
    )
    assert await emails_of(desk, parked.id) == []
    # An escalation after it: once its emails are through, the park's would have been too.
    later = await make_escalation(desk, team.acme["alex"], "Escalated after the park")

    await running(
        email_worker(desk, smtp.url), lambda: wait_emails(desk, later.id, EmailStatus.SENT, 3)
    )
    assert await emails_of(desk, parked.id) == []
    assert len(await email_jobs(desk)) == 3
    messages = smtp.messages()
    assert len(messages) == 3
    for _, message in messages:
        assert "Escalated after the park" in message["Subject"]
        assert str(parked.id) not in message.get_content()
        assert str(later.id) in message.get_content()


async def test_a_non_ascii_summary_arrives_intact(desk, team, smtp):
    handoff = await make_escalation(desk, team.acme["alex"], "Drucker außer Betrieb, Büro 3")
    await running(
        email_worker(desk, smtp.url), lambda: wait_emails(desk, handoff.id, EmailStatus.SENT, 3)
    )
    messages = smtp.messages()
    assert len(messages) == 3
    for _, message in messages:
        assert "Drucker außer Betrieb, Büro 3" in message["Subject"]
        assert "Drucker außer Betrieb, Büro 3" in message.get_content()


async def test_a_summary_with_a_line_break_is_still_emailed(desk, team, smtp):
    # A problem summary may span lines (the API accepts it); an email header may not. The email
    # must still go out (or at worst fail for good after its tries), never crash-loop its job.
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline\nsince Monday")

    async def settled_or_looping():
        rows = await emails_of(desk, handoff.id)
        jobs = await email_jobs(desk)
        terminal = all(r.status != EmailStatus.PENDING for r in rows)
        looping = any(j.attempts > 3 for j in jobs)
        return (rows, jobs) if rows and (terminal or looping) else None

    worker = email_worker(desk, smtp.url, attempts=3)
    # A crashed attempt comes back quickly, but not so quickly that a sound attempt on a busy
    # machine is taken over and its email sent twice (at least once is the jobs' promise).
    worker.lease_seconds = 2.0
    rows, jobs = await running(
        worker, lambda: wait_for(settled_or_looping, "the emails to settle", timeout=10)
    )
    report = [(r.to_address, r.status, r.attempts) for r in rows]
    report += [(str(j.subject_id), j.state, j.attempts) for j in jobs]
    assert all(r.status == EmailStatus.SENT for r in rows), report
    assert all(j.attempts <= 3 for j in jobs), report
    subjects = [message["Subject"] for _, message in smtp.messages()]
    assert len(subjects) == 3
    assert all("Printer offline" in s and "since Monday" in s for s in subjects), subjects


# --- when the mail server says no ---


@pytest.mark.parametrize("server", ["refusing", "nothing-listening"])
async def test_an_unreachable_or_refusing_mail_server_is_retried_then_failed(
    desk, team, smtp, server
):
    if server == "refusing":
        smtp.mode = "refuse"
        url = smtp.url
    else:
        url = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there

    async with asyncio.timeout(10):  # the escalation does not wait for the mail server
        handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    async with desk.db.read() as db:
        row = (await db.exec(select(Handoff).where(Handoff.id == handoff.id))).one()
        session = (
            await db.exec(
                select(TroubleshootingSession).where(
                    TroubleshootingSession.id == handoff.session_id
                )
            )
        ).one()
    assert row.intent == HandoffIntent.ESCALATE and row.claimed_by_id is None
    assert session.status == SessionStatus.ESCALATED

    seen: dict[uuid.UUID, list[int]] = defaultdict(list)

    async def all_failed():
        rows = await emails_of(desk, handoff.id)
        for r in rows:
            if not seen[r.id] or seen[r.id][-1] != r.attempts:
                seen[r.id].append(r.attempts)
        done = len(rows) == 3 and all(r.status == EmailStatus.FAILED for r in rows)
        return rows if done else None

    worker = email_worker(desk, url, attempts=3, retry_base_seconds=0.3)
    rows = await running(worker, lambda: wait_for(all_failed, "the emails to fail for good"))

    assert {r.to_address for r in rows} == ACME_SENIORS
    for r in rows:
        assert r.attempts == 3
        assert r.sent_at is None
        assert r.last_error
        # The attempts count grew one retry at a time (backoff 0.3 s, then 0.6 s).
        assert seen[r.id][-3:] == [1, 2, 3], seen[r.id]
    jobs = await email_jobs(desk)
    assert sorted((j.state, j.attempts) for j in jobs) == [(JobState.FAILED, 3)] * 3
    assert smtp.received == []
    if server == "refusing":
        assert all("451" in r.last_error for r in rows)
        assert smtp.offered == Counter({address: 3 for address in ACME_SENIORS})


async def test_a_mail_server_that_refuses_once_then_accepts_ends_sent(desk, team, smtp):
    smtp.mode = "refuse_first"
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    rows = await running(
        email_worker(desk, smtp.url), lambda: wait_emails(desk, handoff.id, EmailStatus.SENT, 3)
    )
    assert all(r.attempts == 2 and r.sent_at is not None for r in rows)
    assert all("451" in r.last_error for r in rows)
    assert smtp.offered == Counter({address: 2 for address in ACME_SENIORS})
    assert sorted(r for rcpts, _ in smtp.messages() for r in rcpts) == sorted(ACME_SENIORS)
    assert sorted(j.state for j in await email_jobs(desk)) == [JobState.DONE] * 3


async def test_without_an_smtp_url_emails_are_logged_and_nothing_is_sent(desk, team, smtp):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    rows = await running(
        email_worker(desk, ""), lambda: wait_emails(desk, handoff.id, EmailStatus.LOGGED, 3)
    )
    assert {r.to_address for r in rows} == ACME_SENIORS
    assert all(r.sent_at is None for r in rows)
    assert smtp.received == [] and not smtp.offered
    assert sorted(j.state for j in await email_jobs(desk)) == [JobState.DONE] * 3


# --- a mail server slower than the lease ---


class StallingPeer:
    """An SMTP server in the test's own event loop: it holds each of its first two deliveries
    until the test lets it go, then accepts it; later ones are accepted at once."""

    def __init__(self) -> None:
        self.deliveries: list[list[str]] = []  # recipients of each DATA, in arrival order
        self.arrived: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.release: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def handle_DATA(self, server, session, envelope):
        self.deliveries.append(list(envelope.rcpt_tos))
        n = len(self.deliveries)
        self.arrived[n].set()
        if n <= 2:
            await self.release[n].wait()
        return "250 OK"


@pytest.fixture
async def stalling_smtp():
    peer = StallingPeer()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(peer, hostname="127.0.0.1"), "127.0.0.1", 0
    )
    peer.url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield peer
    finally:
        for n in (1, 2):
            peer.release[n].set()
        server.close()


async def test_two_slots_of_one_worker_settle_a_slow_email_once(desk, team, stalling_smtp, caplog):
    # The contract: delivery is at least once (a peer slower than the lease may get the email
    # from two attempts), settlement exactly once: only the attempt holding the lease records
    # its outcome; the overtaken attempt's late settlement is refused, even in the same worker.
    caplog.set_level(logging.WARNING, logger="workers.runner")
    peer = stalling_smtp
    handoff = await make_escalation(desk, team.globex["gus"], "Globex VPN is down")
    [job] = await email_jobs(desk)
    settings = desk.settings.model_copy(
        update=dict(smtp_url=peer.url, job_lease_override=0.5, email_workers=2)
    )
    worker = create_worker(Desk(settings=settings, db=desk.db))
    assert worker.slots_for(JobKind.EMAIL) == 2 and worker.lease_seconds == 0.5
    # An idle slot looks for jobs (an expired lease included) every poll_seconds: 2 s as
    # create_worker makes it; every 50 ms here, so the lease's expiry is what the test waits on.
    worker.poll_seconds = 0.05

    async def first_attempt_over():
        rows = await emails_of(desk, handoff.id)
        return 1 in refused_attempts(caplog, job.id) or rows[0].status == EmailStatus.SENT

    async def settled():
        # The job first: it settles in the row's transaction, so a row read after a done job is
        # the settled row (the other way round, a settlement committing between the two reads
        # pairs the row as it was, pending, with the done job).
        [now] = await email_jobs(desk)
        [row] = await emails_of(desk, handoff.id)
        return (row, now) if now.state == JobState.DONE else None

    worker.start()
    try:
        await asyncio.wait_for(peer.arrived[1].wait(), 15)
        # The first attempt stalls past its lease; the worker's other slot leases the job again.
        await asyncio.wait_for(peer.arrived[2].wait(), 15)
        # The first attempt's delivery goes through while the second still holds the lease.
        peer.release[1].set()
        await wait_for(first_attempt_over, "the first attempt to end")
        peer.release[2].set()
        row, final = await wait_for(settled, "the email job to settle")
    finally:
        await worker.stop(10)

    assert final.attempts >= 2 and final.lease_owner is None
    # The email row records the attempt that held the lease last, not the overtaken first one.
    assert (row.status, row.attempts) == (EmailStatus.SENT, final.attempts)
    assert row.sent_at is not None
    assert refused_attempts(caplog, job.id) == list(range(1, final.attempts))
    # At least once: every attempt reached the peer; the overtaken one's copy is the duplicate.
    assert peer.deliveries == [["gail.admin@globex.test"]] * final.attempts


# --- end to end: the app served on real sockets, its workers delivering ---

CREATE_HANDOFF = """
mutation Escalate($s: ID!) {
  createHandoff(input: {sessionId: $s, intent: ESCALATE, priority: URGENT,
                        engineerNotes: "Swapped the toner; still jams."}) {
    __typename
    ... on CreateHandoffSuccess { handoff { id } }
  }
}
"""


async def test_a_served_escalation_delivers_its_emails(in_process, desk, team, smtp):
    server = await in_process(
        run_workers=True, smtp_url=smtp.url, public_url="https://desk.example.test"
    )
    session = await make_session(desk, team.acme["alex"], "Label printer jams on floor 3")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": CREATE_HANDOFF, "variables": {"s": str(session.id)}},
            headers={"authorization": f"Bearer {team.acme['alex'].token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["createHandoff"]["__typename"] == "CreateHandoffSuccess"
    handoff_id = uuid.UUID(body["data"]["createHandoff"]["handoff"]["id"])

    rows = await wait_emails(desk, handoff_id, EmailStatus.SENT, 3)
    assert {r.to_address for r in rows} == ACME_SENIORS
    messages = smtp.messages()
    assert sorted(r for rcpts, _ in messages for r in rcpts) == sorted(ACME_SENIORS)
    for _, message in messages:
        assert "Label printer jams on floor 3" in message["Subject"]
        text = message.get_content()
        assert f"https://desk.example.test/handoffs/{handoff_id}" in text
        assert "Swapped the toner; still jams." in text
