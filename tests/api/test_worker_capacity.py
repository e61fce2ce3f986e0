"""Each kind of job has its own slots: a mail server that accepts connections and never answers
holds email slots (each attempt until the SMTP timeout), never an assessment's.

The worker is the one every process runs (`workers.create_worker`), over the real database
(SQLite and PostgreSQL); the mail server is a plain TCP server in the test's event loop that
reads and never writes a byte, not even the greeting.
"""

import asyncio
import contextlib
import uuid
from datetime import timedelta

import pytest
from sqlmodel import col, select, update

from db.enums import AssessmentStatus, EmailStatus, JobKind, JobState
from db.jobs import lease_jobs
from db.models import EmailMessage, Handoff, Job
from resolvers.desk import Desk
from tests.api.test_emails import SENDER, mail_server
from tests.factories import make_escalation
from tests.waiting import wait_for
from workers import create_worker
from workers.emails import email_job
from workers.runner import JobRun, Worker
from workers.smtp import SmtpConnections

pytestmark = pytest.mark.anyio

ASSESSMENT = """
query One($id: ID!) { handoff(id: $id) { assessment { status summary } } }
"""


class BlackHole:
    """Accepts TCP connections, reads what it is sent, never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.open: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.add(writer)
        try:
            while await reader.read(4096):
                pass
        finally:
            self.open.discard(writer)
            writer.close()


@pytest.fixture
async def black_hole():
    hole = BlackHole()
    server = await asyncio.start_server(hole.serve, "127.0.0.1", 0)
    hole.url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield hole
    finally:
        server.close()
        for writer in list(hole.open):
            writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await server.wait_closed()


@pytest.fixture
def smtp():
    """A mail server that accepts everything (aiosmtpd, as in test_emails.py)."""
    with mail_server() as mailbox:
        yield mailbox


def production_worker(desk: Desk, smtp_url: str, **settings) -> Worker:
    """The worker `serve` and `handoff-desk worker` run, with these settings; it looks for due
    jobs every 50 ms (no commit of the test's desk wakes it)."""
    changed = desk.settings.model_copy(update=dict(smtp_url=smtp_url, **settings))
    worker = create_worker(Desk(settings=changed, db=desk.db))
    worker.poll_seconds = 0.05
    return worker


async def rows(desk: Desk, model, ids: list[uuid.UUID]):
    column = EmailMessage.handoff_id if model is EmailMessage else Handoff.id
    async with desk.db.read() as db:
        return list((await db.exec(select(model).where(col(column).in_(ids)))).all())


async def email_jobs(desk: Desk) -> list[Job]:
    async with desk.db.read() as db:
        return list((await db.exec(select(Job).where(Job.kind == JobKind.EMAIL))).all())


async def test_a_black_holed_mail_server_delays_no_assessment(desk, team, api, black_hole):
    members = [team.acme[name] for name in ("alex", "sam", "kim")]
    # A backlog of escalations, three senior recipients each, before the worker starts.
    handoffs = [await make_escalation(desk, members[n % 3], f"Case {n}") for n in range(4)]
    # Every email attempt hangs (a timeout far longer than the test) while assessments run;
    # each email slot takes an escalation's three emails at a time.
    worker = production_worker(
        desk,
        black_hole.url,
        email_workers=2,
        email_batch=3,
        assessment_workers=1,
        smtp_timeout_seconds=600,
    )
    assert worker.slots_for(JobKind.EMAIL) == 2 and worker.slots_for(JobKind.ASSESS) == 1
    worker.start()
    try:

        async def email_slots_all_hanging():
            return black_hole.connections >= 2

        await wait_for(email_slots_all_hanging, "both email slots to hang on the mail server")
        # More escalations while every email slot hangs.
        for n in range(4, 7):
            handoffs.append(await make_escalation(desk, members[n % 3], f"Case {n}"))
        ids = [h.id for h in handoffs]

        async def all_assessed():
            found = await rows(desk, Handoff, ids)
            return all(h.assessment_status == AssessmentStatus.READY for h in found)

        await wait_for(all_assessed, "every assessment to be ready", timeout=60)

        # As a senior sees them: every escalation assessed; no email has gone anywhere.
        for handoff in handoffs:
            data = await api.data(ASSESSMENT, {"id": str(handoff.id)}, token=members[1].token)
            assert data["handoff"]["assessment"]["status"] == "READY"
        emails = await rows(desk, EmailMessage, ids)
        assert len(emails) == 3 * len(handoffs)
        assert {e.status for e in emails} == {EmailStatus.PENDING}
        assert all(e.sent_at is None for e in emails)
        # Only the two email slots ever reached the mail server: they are still waiting on it.
        assert black_hole.connections == 2
    finally:
        # Nothing hangs on the way out: the two hanging attempts are handed back.
        async with asyncio.timeout(30):
            await worker.stop(grace_seconds=0.5)

    jobs = await email_jobs(desk)
    assert len(jobs) == 3 * len(handoffs)
    # Cut short by the stop, not failed: pending again, the interrupted attempts not counted.
    assert {(j.state, j.attempts, j.lease_owner) for j in jobs} == {(JobState.PENDING, 0, None)}


async def test_a_mail_server_that_never_answers_times_out_each_attempt(desk, team, black_hole):
    handoff = await make_escalation(desk, team.globex["gus"], "Globex VPN is down")
    worker = production_worker(
        desk,
        black_hole.url,
        smtp_timeout_seconds=0.2,
        email_attempts=2,
        retry_base_seconds=0.05,
    )
    worker.start()
    try:

        async def failed_for_good():
            [email] = await rows(desk, EmailMessage, [handoff.id])
            return email if email.status == EmailStatus.FAILED else None

        email = await wait_for(failed_for_good, "the email to fail after its two attempts")
        [handoff_row] = await rows(desk, Handoff, [handoff.id])
    finally:
        async with asyncio.timeout(30):
            await worker.stop(grace_seconds=0.5)

    # Each attempt connected, heard nothing, and gave up after the SMTP timeout.
    assert email.attempts == 2 and email.sent_at is None
    assert "Timeout" in (email.last_error or ""), email.last_error
    assert black_hole.connections == 2
    [job] = await email_jobs(desk)
    assert (job.state, job.attempts) == (JobState.FAILED, 2)
    assert handoff_row.assessment_status == AssessmentStatus.READY


# --- an escalation's emails over one connection (or a few: one per email slot) ---


async def sent(desk: Desk, ids: list[uuid.UUID]) -> list[EmailMessage] | None:
    """The escalations' emails (recorded with them), once every one is sent."""
    emails = await rows(desk, EmailMessage, ids)
    done = emails and all(e.status == EmailStatus.SENT for e in emails)
    return emails if done else None


async def test_one_email_slot_sends_every_escalation_over_one_connection(desk, team, smtp):
    first = await make_escalation(desk, team.acme["alex"], "Printer offline")
    second = await make_escalation(desk, team.globex["gus"], "Globex VPN is down")
    worker = production_worker(desk, smtp.url, email_workers=1)
    worker.start()
    try:
        emails = await wait_for(lambda: sent(desk, [first.id, second.id]), "the emails sent")
        # A later escalation, once the first ones are through: the same connection still.
        third = await make_escalation(desk, team.acme["alex"], "Mailbox full")
        emails += await wait_for(lambda: sent(desk, [third.id]), "its emails sent")
    finally:
        async with asyncio.timeout(30):
            await worker.stop(grace_seconds=5)

    assert all(e.attempts == 1 for e in emails)
    delivered = sorted(r for rcpts, _ in smtp.messages() for r in rcpts)
    assert delivered == sorted(e.to_address for e in emails)  # each once
    assert len(set(smtp.peers)) == 1, smtp.peers


async def test_several_email_slots_share_a_few_connections(desk, team, smtp):
    handoffs = [await make_escalation(desk, team.acme["alex"], f"Case {n}") for n in range(6)]
    ids = [h.id for h in handoffs]
    worker = production_worker(desk, smtp.url, email_workers=3)
    worker.start()
    try:
        emails = await wait_for(lambda: sent(desk, ids), "the emails sent")
    finally:
        async with asyncio.timeout(30):
            await worker.stop(grace_seconds=5)

    assert len(emails) >= 6
    assert all(e.attempts == 1 for e in emails)
    delivered = sorted(r for rcpts, _ in smtp.messages() for r in rcpts)
    assert delivered == sorted(e.to_address for e in emails)  # each once
    # At most one connection per slot, each carrying several emails.
    assert 1 <= len(set(smtp.peers)) <= 3, smtp.peers


async def test_a_connection_the_server_closed_while_idle_is_replaced_unnoticed(desk, team):
    with mail_server(timeout=0.3) as mailbox:  # it closes a connection idle for 0.3 s
        connections = SmtpConnections(mailbox.url, 10.0, keep_seconds=60)
        worker = Worker(
            desk,
            {JobKind.EMAIL: (email_job(mailbox.url, SENDER, 10.0, connections), 3)},
            lease_seconds=60,
            retry_base_seconds=0.05,
            poll_seconds=0.05,
            on_stop=[connections.close],
        )
        worker.start()
        try:
            first = await make_escalation(desk, team.globex["gus"], "Globex VPN is down")
            await wait_for(lambda: sent(desk, [first.id]), "the first email sent")

            async def dropped():
                return connections.idle_open == 0

            await wait_for(dropped, "the server to close the idle connection")
            second = await make_escalation(desk, team.globex["gus"], "Globex mail is down")
            [email] = await wait_for(lambda: sent(desk, [second.id]), "the second email sent")
        finally:
            async with asyncio.timeout(30):
                await worker.stop(grace_seconds=5)

    # Sent on its first attempt, over a new connection: the closed one cost no attempt.
    assert email.attempts == 1 and email.last_error is None
    assert connections.opened == 2
    assert len(set(mailbox.peers)) == 2


# --- a slot's batch: leased, sent and settled together, each job still its own ---


async def test_a_refused_recipient_of_a_batch_is_retried_alone(desk, team, smtp):
    smtp.refused = {"kim.senior@acme.test"}
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    worker = production_worker(
        desk, smtp.url, email_workers=1, email_attempts=2, retry_base_seconds=0.05
    )
    worker.start()
    try:

        async def settled():
            emails = await rows(desk, EmailMessage, [handoff.id])
            done = all(e.status in (EmailStatus.SENT, EmailStatus.FAILED) for e in emails)
            return emails if emails and done else None

        emails = await wait_for(settled, "the emails sent or failed for good")
    finally:
        async with asyncio.timeout(30):
            await worker.stop(grace_seconds=5)

    by_address = {e.to_address: e for e in emails}
    kim = by_address.pop("kim.senior@acme.test")
    assert (kim.status, kim.attempts) == (EmailStatus.FAILED, 2)
    assert "451" in (kim.last_error or "")
    # The others went once, on the batch's one attempt, over the connection kim's refusal left.
    assert {(e.status, e.attempts, e.last_error) for e in by_address.values()} == {
        (EmailStatus.SENT, 1, None)
    }
    assert smtp.offered == {"kim.senior@acme.test": 2, **{a: 1 for a in by_address}}
    assert len(set(smtp.peers)) == 1, smtp.peers
    jobs = {j.subject_id: j for j in await email_jobs(desk)}
    assert (jobs[kim.id].state, jobs[kim.id].attempts) == (JobState.FAILED, 2)
    assert {(jobs[e.id].state, jobs[e.id].attempts) for e in by_address.values()} == {
        (JobState.DONE, 1)
    }


async def test_a_job_of_a_batch_taken_over_is_settled_only_by_its_new_attempt(desk, team, smtp):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    worker = production_worker(desk, smtp.url)
    leased = await lease_jobs(desk.db, worker.owner, [JobKind.EMAIL], 60, 25)
    assert len(leased) == 3 and len({job.lease for job in leased}) == 1
    # One job's lease runs out while the batch is under way; another worker leases it.
    stolen = leased[0]
    async with desk.db.write() as db:
        await db.exec(
            update(Job)
            .where(col(Job.id) == stolen.id)
            .values(lease_expires_at=desk.clock.now() - timedelta(seconds=1))
        )
    [again] = await lease_jobs(desk.db, "another worker", [JobKind.EMAIL], 60, 25)
    assert again.id == stolen.id and again.attempts == 2

    handler = worker.handlers[JobKind.EMAIL][0]
    runs = [JobRun(worker, job, 5) for job in leased]
    await handler.batch(runs)  # type: ignore[attr-defined]

    assert [run.outcome for run in runs] == ["taken over", "done", "done"]
    emails = {e.id: e for e in await rows(desk, EmailMessage, [handoff.id])}
    jobs = {j.id: j for j in await email_jobs(desk)}
    # The late attempt wrote nothing about the job it lost: the new attempt settles it.
    assert emails[stolen.subject_id].status == EmailStatus.PENDING
    assert (jobs[stolen.id].state, jobs[stolen.id].lease_owner) == (JobState.RUNNING, again.lease)
    for job in leased[1:]:
        assert (emails[job.subject_id].status, emails[job.subject_id].attempts) == (
            EmailStatus.SENT,
            1,
        )
        assert (jobs[job.id].state, jobs[job.id].lease_owner) == (JobState.DONE, None)


async def test_two_workers_leasing_batches_send_each_email_once(desk, team, smtp):
    handoffs = [
        await make_escalation(desk, team.acme[("alex", "sam", "kim")[n % 3]], f"Case {n}")
        for n in range(10)
    ]
    ids = [h.id for h in handoffs]
    workers = [production_worker(desk, smtp.url, email_workers=2, email_batch=4) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        emails = await wait_for(lambda: sent(desk, ids), "the emails sent")
    finally:
        async with asyncio.timeout(30):
            for worker in workers:
                await worker.stop(grace_seconds=5)

    assert len(emails) == 30
    assert all(e.attempts == 1 for e in emails)
    delivered = sorted(r for rcpts, _ in smtp.messages() for r in rcpts)
    assert delivered == sorted(e.to_address for e in emails)  # each once
    assert {(j.state, j.attempts) for j in await email_jobs(desk)} == {(JobState.DONE, 1)}
