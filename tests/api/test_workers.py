"""Work done after an escalation commits: assessment jobs leased from the job table by workers.

Workers run in-process against the real database (SQLite and PostgreSQL); the assessors are small
objects whose answers (and timing) the test chooses.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC

import pytest
from sqlmodel import col, select

from db.engine import Database
from db.enums import AssessmentStatus, Confidence, EventKind, JobKind, JobState, SessionStatus
from db.models import AccountEvent, Handoff, Job, TroubleshootingSession
from resolvers.assessments import AssessmentResult
from resolvers.desk import Desk
from tests.factories import make_escalation
from tests.waiting import wait_for
from workers.assessments import assessment_job, give_up_assessment
from workers.assessors import AssessmentError, RuleBasedAssessor
from workers.runner import Worker

pytestmark = pytest.mark.anyio

HANDOFF = """
query One($id: ID!) {
  handoff(id: $id) {
    id intent
    history { kind }
    assessment { status summary likelyCause suggestedSteps confidence }
    session { status }
  }
}
"""

CLAIM = """
mutation Claim($id: ID!) {
  claimHandoff(input: { handoffId: $id }) {
    __typename
    ... on ClaimHandoffSuccess { handoff { claimedBy { name } } }
  }
}
"""


# --- assessors whose behaviour the test chooses ---


def answer(summary: str) -> AssessmentResult:
    return AssessmentResult(
        summary=summary,
        likely_cause="A cause the test chose.",
        suggested_steps=["Do the first thing", "Do the second thing"],
        confidence=Confidence.HIGH,
    )


class GatedAssessor:
    """Answers only once the test opens its gate; tells the test when it has been asked."""

    name = "test"

    def __init__(self, summary: str = "The gated answer") -> None:
        self.summary = summary
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()
        self.asked_at: float | None = None
        self.calls = 0
        self.returned = 0

    async def assess(self, request) -> AssessmentResult:
        self.calls += 1
        if self.asked_at is None:
            self.asked_at = time.monotonic()
        self.asked.set()
        await self.gate.wait()
        self.returned += 1
        return answer(self.summary)


class ScriptedAssessor:
    """Follows a script, one step per call ("error", "hang" or "ok"), then answers "ok"."""

    name = "test"

    def __init__(self, *script: str, summary: str = "The scripted answer") -> None:
        self.script = list(script)
        self.summary = summary
        self.calls: list[float] = []  # when each call began (monotonic)

    async def assess(self, request) -> AssessmentResult:
        step = self.script[len(self.calls)] if len(self.calls) < len(self.script) else "ok"
        self.calls.append(time.monotonic())
        if step == "error":
            raise AssessmentError("model unavailable")
        if step == "hang":
            await asyncio.sleep(3600)
        return answer(self.summary)


class RelayAssessor:
    """Holds its first two calls until the test opens each one's gate; answers later calls at
    once. Each answer names the call that gave it."""

    name = "test"

    def __init__(self) -> None:
        self.calls = 0
        self.asked: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.gates: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def assess(self, request) -> AssessmentResult:
        self.calls += 1
        n = self.calls
        self.asked[n].set()
        if n <= 2:
            await self.gates[n].wait()
        return answer(f"call {n}")


class CountingAssessor:
    """Counts, in a tally shared between workers, how often each escalation was assessed."""

    def __init__(self, name: str, tally: Counter) -> None:
        self.name = name
        self.tally = tally
        self.mine = 0

    async def assess(self, request) -> AssessmentResult:
        self.tally[request.problem_summary] += 1
        self.mine += 1
        await asyncio.sleep(0.02)  # long enough for the two workers' slots to overlap
        return answer(f"assessed by {self.name}")


# --- helpers ---


def assess_worker(
    desk: Desk,
    assessor,
    *,
    attempts: int = 3,
    timeout: float = 10.0,
    lease_seconds: float = 30.0,
    concurrency: int = 4,
    retry_base_seconds: float = 0.05,
) -> Worker:
    return Worker(
        desk,
        {JobKind.ASSESS: (assessment_job(assessor, timeout), attempts)},
        lease_seconds=lease_seconds,
        concurrency=concurrency,
        retry_base_seconds=retry_base_seconds,
        poll_seconds=0.05,
    )


@contextlib.asynccontextmanager
async def running(worker: Worker, grace: float = 2.0):
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop(grace)


@contextlib.asynccontextmanager
async def own_desk(desk: Desk):
    """A desk with its own connection pool, as another worker process would have."""
    other = Desk(settings=desk.settings, db=Database.from_url(desk.settings.database_url))
    try:
        yield other
    finally:
        await other.db.dispose()


async def handoff_row(desk: Desk, handoff_id: uuid.UUID) -> Handoff:
    async with desk.db.read() as db:
        return (await db.exec(select(Handoff).where(Handoff.id == handoff_id))).one()


async def assess_job(desk: Desk, handoff_id: uuid.UUID) -> Job:
    async with desk.db.read() as db:
        stmt = select(Job).where(Job.subject_id == handoff_id, Job.kind == JobKind.ASSESS)
        return (await db.exec(stmt)).one()


async def event_kinds(desk: Desk, handoff_id: uuid.UUID) -> list[str]:
    async with desk.db.read() as db:
        stmt = (
            select(AccountEvent)
            .where(AccountEvent.handoff_id == handoff_id)
            .order_by(col(AccountEvent.seq))
        )
        return [e.kind for e in (await db.exec(stmt)).all()]


async def landed(desk: Desk, handoff_id: uuid.UUID) -> Handoff | None:
    row = await handoff_row(desk, handoff_id)
    return row if row.assessment_status != AssessmentStatus.PENDING else None


async def wait_landed(desk: Desk, handoff_id: uuid.UUID, timeout: float = 15.0) -> Handoff:
    return await wait_for(lambda: landed(desk, handoff_id), "the assessment to land", timeout)


def held_by(job: Job, worker: Worker) -> bool:
    """Leased by one of this worker's attempts (its name, then the attempt's own token)."""
    return (job.lease_owner or "").startswith(f"{worker.owner}/")


async def wait_job(desk: Desk, handoff_id: uuid.UUID, state: JobState) -> Job:
    async def check():
        job = await assess_job(desk, handoff_id)
        return job if job.state == state else None

    return await wait_for(check, f"the assessment job to be {state}")


# --- (a) escalating never waits on the assessor ---


async def test_an_escalation_commits_pending_with_its_job_before_any_assessor_answers(desk, team):
    assessor = GatedAssessor()
    worker = assess_worker(desk, assessor)

    # No worker runs yet: the escalation returns at once, committed, its assessment pending.
    async with asyncio.timeout(10):
        handoff = await make_escalation(desk, team.acme["alex"], "VPN drops at home")
    row = await handoff_row(desk, handoff.id)
    assert row.assessment_status == AssessmentStatus.PENDING
    assert row.assessment_summary is None
    job = await assess_job(desk, handoff.id)
    assert (job.state, job.attempts, job.lease_owner) == (JobState.PENDING, 0, None)
    assert job.account_id == team.acme.account.id
    assert assessor.calls == 0
    assert await event_kinds(desk, handoff.id) == [EventKind.ESCALATED]

    async with running(worker):
        await asyncio.wait_for(assessor.asked.wait(), 15)
        # The assessor is thinking: the escalation stays pending, its job leased to the worker,
        # and another escalation commits meanwhile without waiting for it.
        job = await assess_job(desk, handoff.id)
        assert job.state == JobState.RUNNING and held_by(job, worker)
        assert (await handoff_row(desk, handoff.id)).assessment_status == AssessmentStatus.PENDING
        async with asyncio.timeout(10):
            second = await make_escalation(desk, team.acme["sam"], "Outlook keeps prompting")
        assert (await handoff_row(desk, second.id)).assessment_status == AssessmentStatus.PENDING
        assert assessor.returned == 0

        assessor.gate.set()
        first = await wait_landed(desk, handoff.id)
        other = await wait_landed(desk, second.id)

    assert first.assessment_status == other.assessment_status == AssessmentStatus.READY
    assert first.assessment_summary == "The gated answer"
    assert (await assess_job(desk, handoff.id)).state == JobState.DONE


# --- (b) the rule-based assessor ---


async def test_the_rule_based_assessment_lands_ready_low_and_says_it_is_rule_based(desk, team, api):
    handoff = await make_escalation(desk, team.acme["alex"], "VPN drops at home")
    async with running(assess_worker(desk, RuleBasedAssessor())):
        await wait_landed(desk, handoff.id)

    data = await api.data(HANDOFF, {"id": str(handoff.id)}, token=team.acme["sam"].token)
    shown = data["handoff"]
    assert [e["kind"] for e in shown["history"]] == ["ESCALATED", "ASSESSMENT_READY"]
    assessment = shown["assessment"]
    assert assessment["status"] == "READY"
    assert assessment["confidence"] == "LOW"
    assert "Rule-based" in assessment["summary"]
    assert "no AI model" in assessment["summary"]
    assert "VPN" in assessment["likelyCause"]
    assert any("VPN" in step for step in assessment["suggestedSteps"])
    job = await assess_job(desk, handoff.id)
    assert (job.state, job.attempts) == (JobState.DONE, 1)


# --- (c) failing for good, (d) failing once ---


@pytest.mark.parametrize(
    ("failure", "reason"), [("error", "model unavailable"), ("hang", "timed out")]
)
async def test_an_assessor_that_keeps_failing_is_retried_with_backoff_then_marked_failed(
    desk, team, api, failure, reason
):
    assessor = ScriptedAssessor(failure, failure, failure, failure)
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    worker = assess_worker(desk, assessor, attempts=3, timeout=0.1, retry_base_seconds=0.1)
    async with running(worker):
        job = await wait_job(desk, handoff.id, JobState.FAILED)
        row = await wait_landed(desk, handoff.id)

    # Three tries, no more; the waits between them double (0.1 s, then 0.2 s).
    assert len(assessor.calls) == 3
    first_gap = assessor.calls[1] - assessor.calls[0]
    second_gap = assessor.calls[2] - assessor.calls[1]
    assert first_gap >= 0.1
    assert second_gap >= 0.2
    assert (job.attempts, job.lease_owner) == (3, None)
    assert reason in job.last_error

    assert row.assessment_status == AssessmentStatus.FAILED
    assert row.assessment_summary is None
    assert await event_kinds(desk, handoff.id) == [
        EventKind.ESCALATED,
        EventKind.ASSESSMENT_FAILED,
    ]
    data = await api.data(HANDOFF, {"id": str(handoff.id)}, token=team.acme["kim"].token)
    shown = data["handoff"]
    assert [e["kind"] for e in shown["history"]] == ["ESCALATED", "ASSESSMENT_FAILED"]
    assert shown["assessment"]["status"] == "FAILED"
    assert shown["assessment"]["suggestedSteps"] == []

    # The escalation itself is untouched: still escalated, still in the queue, claimable.
    assert shown["intent"] == "ESCALATE"
    assert shown["session"]["status"] == "ESCALATED"
    async with desk.db.read() as db:
        session = (
            await db.exec(
                select(TroubleshootingSession).where(TroubleshootingSession.id == row.session_id)
            )
        ).one()
    assert session.status == SessionStatus.ESCALATED
    assert row.claimed_by_id is None
    claimed = await api.data(CLAIM, {"id": str(handoff.id)}, token=team.acme["kim"].token)
    assert claimed["claimHandoff"] == {
        "__typename": "ClaimHandoffSuccess",
        "handoff": {"claimedBy": {"name": "Kim Senior"}},
    }


async def test_an_assessor_that_fails_once_then_answers_lands_ready(desk, team, api):
    assessor = ScriptedAssessor("error", summary="Second time lucky")
    handoff = await make_escalation(desk, team.acme["alex"])
    async with running(assess_worker(desk, assessor, attempts=3)):
        job = await wait_job(desk, handoff.id, JobState.DONE)
        row = await wait_landed(desk, handoff.id)

    assert len(assessor.calls) == 2
    assert job.attempts == 2
    assert row.assessment_status == AssessmentStatus.READY
    assert row.assessment_summary == "Second time lucky"
    assert row.assessment_confidence == Confidence.HIGH
    assert row.assessment_suggested_steps == ["Do the first thing", "Do the second thing"]
    data = await api.data(HANDOFF, {"id": str(handoff.id)}, token=team.acme["sam"].token)
    assert [e["kind"] for e in data["handoff"]["history"]] == ["ESCALATED", "ASSESSMENT_READY"]
    assert data["handoff"]["assessment"]["status"] == "READY"


# --- (e) two workers never run one job twice ---


async def test_two_workers_over_30_jobs_assess_each_escalation_exactly_once(desk, team):
    members = [team.acme[name] for name in ("alex", "sam", "kim")]
    handoffs = [await make_escalation(desk, members[n % 3], f"Case {n:02d}") for n in range(30)]
    tally: Counter = Counter()
    first, second = CountingAssessor("A", tally), CountingAssessor("B", tally)

    async with own_desk(desk) as desk_a, own_desk(desk) as desk_b:
        worker_a = assess_worker(desk_a, first)
        worker_b = assess_worker(desk_b, second)
        assert worker_a.owner != worker_b.owner
        async with running(worker_a), running(worker_b):

            async def all_landed():
                async with desk.db.read() as db:
                    stmt = select(Handoff).where(
                        Handoff.assessment_status == AssessmentStatus.PENDING
                    )
                    return not (await db.exec(stmt)).all()

            await wait_for(all_landed, "all 30 assessments to land", timeout=30)

    assert tally == Counter({f"Case {n:02d}": 1 for n in range(30)})
    assert first.mine > 0 and second.mine > 0, "both workers should have taken jobs"
    assert first.mine + second.mine == 30

    ids = [h.id for h in handoffs]
    async with desk.db.read() as db:
        rows = (await db.exec(select(Handoff).where(col(Handoff.id).in_(ids)))).all()
        jobs = (await db.exec(select(Job).where(col(Job.subject_id).in_(ids)))).all()
        ready_events = (
            await db.exec(
                select(AccountEvent).where(AccountEvent.kind == EventKind.ASSESSMENT_READY)
            )
        ).all()
    assert {r.assessment_status for r in rows} == {AssessmentStatus.READY}
    by_worker = Counter(r.assessment_summary for r in rows)
    assert by_worker == Counter({"assessed by A": first.mine, "assessed by B": second.mine})
    assert sorted((j.state, j.attempts) for j in jobs) == [(JobState.DONE, 1)] * 30
    assert Counter(e.handoff_id for e in ready_events) == Counter({i: 1 for i in ids})


# --- (f) lease expiry ---


async def test_a_worker_whose_lease_expired_has_its_late_result_refused(desk, team, caplog):
    caplog.set_level(logging.WARNING, logger="workers.runner")
    handoff = await make_escalation(desk, team.acme["alex"], "Laptop will not enrol")
    stuck = GatedAssessor("A's late answer")
    quick = ScriptedAssessor(summary="B's answer")

    async with own_desk(desk) as desk_a, own_desk(desk) as desk_b:
        worker_a = assess_worker(desk_a, stuck, lease_seconds=0.5, concurrency=1, timeout=60)
        async with running(worker_a, grace=10):
            await asyncio.wait_for(stuck.asked.wait(), 15)
            leased = await assess_job(desk, handoff.id)
            assert leased.state == JobState.RUNNING and held_by(leased, worker_a)

            # A hangs past its lease; B takes the job over once the lease has expired.
            worker_b = assess_worker(desk_b, quick, lease_seconds=30)
            async with running(worker_b):
                row = await wait_landed(desk, handoff.id)
                job = await wait_job(desk, handoff.id, JobState.DONE)
            assert row.assessment_summary == "B's answer"
            assert len(quick.calls) == 1
            # Not before A's lease ran out (as the job row says; A's assessor may have been asked
            # well after the lease began on a busy machine). B's call, on the wall clock:
            called_at = quick.calls[0] + (time.time() - time.monotonic())
            expires = leased.lease_expires_at
            assert expires is not None
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            assert called_at >= expires.timestamp() - 0.05, (called_at, expires)
            assert job.attempts == 2
            assert stuck.returned == 0

            # A's assessor finally answers; stopping A lets that attempt finish.
            stuck.gate.set()
            await worker_a.stop(grace_seconds=10)
        assert stuck.returned == 1

    row = await handoff_row(desk, handoff.id)
    assert row.assessment_status == AssessmentStatus.READY
    assert row.assessment_summary == "B's answer"
    assert await event_kinds(desk, handoff.id) == [
        EventKind.ESCALATED,
        EventKind.ASSESSMENT_READY,
    ]
    job = await assess_job(desk, handoff.id)
    assert (job.state, job.attempts, job.lease_owner) == (JobState.DONE, 2, None)
    assert any("taken over by another worker" in r.getMessage() for r in caplog.records)


def refused_attempts(caplog, job_id: uuid.UUID) -> list[int]:
    """Attempts at this job whose settlement the worker reported refused (lease taken over)."""
    prefix = f"job {job_id} attempt "
    return sorted(
        int(r.getMessage()[len(prefix) :].split()[0])
        for r in caplog.records
        if r.getMessage().startswith(prefix) and "taken over" in r.getMessage()
    )


async def test_two_slots_of_one_worker_never_both_settle_a_job(desk, team, caplog):
    caplog.set_level(logging.WARNING, logger="workers.runner")
    handoff = await make_escalation(desk, team.acme["alex"], "Laptop will not enrol")
    job = await assess_job(desk, handoff.id)
    assessor = RelayAssessor()
    worker = assess_worker(desk, assessor, lease_seconds=0.5, concurrency=2, timeout=60)

    async def first_attempt_over():
        return 1 in refused_attempts(caplog, job.id) or await landed(desk, handoff.id)

    async with running(worker, grace=10):
        await asyncio.wait_for(assessor.asked[1].wait(), 15)
        # The first call hangs past its lease: the same worker's other slot leases the job again.
        await asyncio.wait_for(assessor.asked[2].wait(), 15)
        # The first attempt answers while the second holds the lease.
        assessor.gates[1].set()
        await wait_for(first_attempt_over, "the first attempt to end")
        assessor.gates[2].set()
        final = await wait_job(desk, handoff.id, JobState.DONE)
        row = await wait_landed(desk, handoff.id)

    # Settled once, by the attempt holding the lease last; each earlier one was refused.
    assert final.attempts >= 2 and final.lease_owner is None
    assert assessor.calls == final.attempts
    assert row.assessment_summary == f"call {final.attempts}"
    assert refused_attempts(caplog, job.id) == list(range(1, final.attempts))
    assert await event_kinds(desk, handoff.id) == [
        EventKind.ESCALATED,
        EventKind.ASSESSMENT_READY,
    ]


# --- (g) graceful shutdown ---


async def test_stopping_a_worker_mid_job_hands_the_job_back_for_another_worker(desk, team):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    held = GatedAssessor()

    async with own_desk(desk) as desk_a:
        # A long lease: only a hand-back (not an expiry) lets another worker have the job soon.
        worker_a = assess_worker(desk_a, held, lease_seconds=120)
        async with running(worker_a, grace=0.2):
            await asyncio.wait_for(held.asked.wait(), 15)
            job = await assess_job(desk, handoff.id)
            assert (job.state, job.attempts) == (JobState.RUNNING, 1) and held_by(job, worker_a)
            began = time.monotonic()
            await worker_a.stop(grace_seconds=0.2)
            assert time.monotonic() - began < 5

    assert held.returned == 0
    job = await assess_job(desk, handoff.id)
    assert (job.state, job.lease_owner, job.lease_expires_at) == (JobState.PENDING, None, None)
    assert job.attempts == 0  # an attempt cut short by shutdown is not counted
    assert (await handoff_row(desk, handoff.id)).assessment_status == AssessmentStatus.PENDING

    async with running(assess_worker(desk, RuleBasedAssessor())):
        row = await wait_landed(desk, handoff.id, timeout=10)
        job = await wait_job(desk, handoff.id, JobState.DONE)
    assert row.assessment_status == AssessmentStatus.READY
    assert row.assessment_summary.startswith("Rule-based")
    assert job.attempts == 1
    assert await event_kinds(desk, handoff.id) == [
        EventKind.ESCALATED,
        EventKind.ASSESSMENT_READY,
    ]


class CrashingAssessor:
    """Fails in a way nobody planned for: not an AssessmentError, not a timeout."""

    def __init__(self) -> None:
        self.calls = 0

    async def assess(self, request) -> AssessmentResult:
        self.calls += 1
        raise RuntimeError("bug in the assessor")


async def test_a_crashing_handler_still_ends_its_job_and_the_assessment_fails(desk, team):
    handoff = await make_escalation(desk, team.acme["alex"])
    assessor = CrashingAssessor()
    worker = Worker(
        desk,
        {JobKind.ASSESS: (assessment_job(assessor, 10.0), 3, give_up_assessment)},
        lease_seconds=30.0,  # long: only settling the crash, not lease expiry, can retry it
        retry_base_seconds=0.05,
        poll_seconds=0.05,
    )
    async with running(worker):
        job = await wait_job(desk, handoff.id, JobState.FAILED)
    assert assessor.calls == 3 and job.attempts == 3
    assert "RuntimeError" in job.last_error
    row = await handoff_row(desk, handoff.id)
    assert row.assessment_status == AssessmentStatus.FAILED
    assert EventKind.ASSESSMENT_FAILED in await event_kinds(desk, handoff.id)
