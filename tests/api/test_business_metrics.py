"""/metrics after a story of the desk: what an operator's dashboard and alerts read (deploy/) has
real numbers, moved by what users and workers did, and no `_created` series beside them."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from db.enums import EmailStatus, JobKind, JobState, Priority
from db.models import EmailMessage, Job
from handoff_desk.app import create_app
from tests.api.test_metrics import scrape
from tests.conftest import Api, Shadow, _client
from tests.factories import make_escalation
from tests.waiting import wait_for
from workers.assessments import assessment_job
from workers.assessors import AssessmentError, RuleBasedAssessor
from workers.emails import email_job
from workers.runner import Worker
from workers.timers import TIMER_ATTEMPTS, timer_job

pytestmark = pytest.mark.anyio

CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"
RELEASE = "mutation($h: ID!) { releaseHandoff(handoffId: $h) { __typename } }"
QUEUE = "{ handoffQueue(first: 5) { unreadCount } }"
NO_MAIL_SERVER = "smtp://127.0.0.1:1"  # nothing listens there: each attempt is refused


class FakeClock:
    """The system's time, moved on by the test (the timers measure waits by it)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FailingAssessor:
    name = "flaky"

    async def assess(self, request):
        raise AssessmentError("the model is down")


@pytest.fixture
def clock(desk) -> FakeClock:
    clock = FakeClock()
    desk.clock = clock
    return clock


@pytest.fixture
async def app(settings, desk, clock):
    """The app, its desk on the test's clock; workers the test starts on that desk report to
    the app's metrics, as the in-process workers of `serve` do."""
    app = create_app(settings, desk.db)
    app.state.desk.clock = clock
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(_client(app))
        yield app, Api(client, Shadow(settings, stack, desk.db))


def worker(app, kind: JobKind, handler, attempts: int) -> Worker:
    return Worker(
        app.state.desk,
        {kind: (handler, attempts)},
        lease_seconds=30.0,
        retry_base_seconds=0.01,
        poll_seconds=0.05,
    )


@contextlib.asynccontextmanager
async def running(worker: Worker):
    worker.start()
    try:
        yield
    finally:
        await worker.stop(5.0)


async def jobs(desk, kind: JobKind, state: JobState) -> list[Job]:
    async with desk.db.read() as db:
        stmt = select(Job).where(col(Job.kind) == kind, col(Job.state) == state)
        return list((await db.exec(stmt)).all())


async def test_a_days_story_moves_every_business_metric(app, desk, team, clock):
    app, api = app
    acme = team.acme
    escalation = await make_escalation(desk, acme["alex"])

    # Three minutes in the queue, then two seniors race for it: one claim wins, one contends.
    clock.offset += timedelta(minutes=3)
    answers = await asyncio.gather(
        *(api.data(CLAIM, {"h": str(escalation.id)}, acme[m].token) for m in ("sam", "kim"))
    )
    kinds = sorted(a["claimHandoff"]["__typename"] for a in answers)
    assert kinds == ["AlreadyClaimed", "ClaimHandoffSuccess"]
    # Given back and claimed again: its first claim was the one counted.
    winner = "sam" if answers[0]["claimHandoff"]["__typename"] == "ClaimHandoffSuccess" else "kim"
    other = "kim" if winner == "sam" else "sam"
    released = await api.data(RELEASE, {"h": str(escalation.id)}, acme[winner].token)
    assert released["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess"
    again = await api.data(CLAIM, {"h": str(escalation.id)}, acme[other].token)
    assert again["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"

    metrics = await scrape(api.client)
    assert metrics("handoff_desk_contended_claims_total") == 1
    waits = "handoff_desk_time_to_first_claim_seconds"
    assert metrics(f"{waits}_count") == 1
    assert 180 <= metrics(f"{waits}_sum") < 240
    assert metrics(f"{waits}_bucket", le="120.0") == 0
    assert metrics(f"{waits}_bucket", le="300.0") == 1

    # The rule-based assessor lands its assessment; a failing one fails each of its attempts.
    async with running(worker(app, JobKind.ASSESS, assessment_job(RuleBasedAssessor(), 5), 3)):
        await wait_for(lambda: jobs(desk, JobKind.ASSESS, JobState.DONE), "the assessment")
    failing = await make_escalation(desk, acme["alex"], "VPN drops", priority=Priority.URGENT)
    async with running(worker(app, JobKind.ASSESS, assessment_job(FailingAssessor(), 5), 2)):
        await wait_for(lambda: jobs(desk, JobKind.ASSESS, JobState.FAILED), "the failed one")

    metrics = await scrape(api.client)
    latency = "handoff_desk_assessment_duration_seconds"
    assert metrics(f"{latency}_count", assessor="rules") == 1
    assert metrics(f"{latency}_bucket", assessor="rules", le="+Inf") == 1
    assert metrics(f"{latency}_count", assessor="flaky") == 0
    failures = "handoff_desk_assessment_failures_total"
    assert metrics(failures, assessor="flaky", reason="error") == 2  # both its attempts
    assert metrics(failures, assessor="rules", reason="error") == 0

    # No mail server answers: every email owed fails twice, the second time for good.
    emails = email_job(NO_MAIL_SERVER, "desk@acme.test", timeout_seconds=2.0)
    async with running(worker(app, JobKind.EMAIL, emails, 2)):

        async def all_failed():
            return not await jobs(desk, JobKind.EMAIL, JobState.PENDING) and not await jobs(
                desk, JobKind.EMAIL, JobState.RUNNING
            )

        await wait_for(all_failed, "every email to fail for good")
    async with desk.db.read() as db:
        failed = (await db.exec(select(EmailMessage).where(EmailMessage.status == "failed"))).all()
    assert len(failed) >= 3 and {e.status for e in failed} == {EmailStatus.FAILED}
    metrics = await scrape(api.client)
    assert metrics("handoff_desk_email_failures_total", outcome="given_up") == len(failed)
    assert metrics("handoff_desk_email_failures_total", outcome="retrying") == len(failed)

    # The urgent one waits past its five minutes: the timers find it overdue.
    assert (await scrape(api.client))("handoff_desk_overdue_escalations", state="overdue") == 0
    clock.offset += timedelta(minutes=6)
    async with running(worker(app, JobKind.TIMER, timer_job(), TIMER_ATTEMPTS)):

        async def overdue():
            metrics = await scrape(api.client)
            return metrics("handoff_desk_overdue_escalations", state="overdue") == 1

        await wait_for(overdue, "the urgent escalation to be overdue")
    metrics = await scrape(api.client)
    assert metrics("handoff_desk_overdue_escalations", state="admins_alerted") == 0
    shown = await api.data(
        "query($h: ID!) { handoff(id: $h) { slaState } }", {"h": str(failing.id)}, acme["sam"].token
    )
    assert shown["handoff"]["slaState"] == "OVERDUE"


async def test_no_series_is_a_created_timestamp(api, desk, team):
    """Each counter and histogram is its samples alone: the client library's `_created` series
    (one more per label set, which no query reads) is off for the whole process."""
    await api.data(QUEUE, token=team.acme["sam"].token)
    text = (await api.client.get("/metrics")).text
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert "handoff_desk_requests_total" in names
    assert [n for n in names if n.endswith("_created")] == []


async def test_an_answer_the_server_could_not_give_counts_as_a_server_error(settings, team):
    """Its database away, the desk answers 503 (retry later): a 5xx the alerts watch."""
    away = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://desk@127.0.0.1:1/desk"}
    )
    app = create_app(away)
    async with app.router.lifespan_context(app), _client(app) as client:
        headers = {"authorization": f"Bearer {team.acme['sam'].token}"}
        response = await client.post("/graphql", json={"query": QUEUE}, headers=headers)
        assert response.status_code == 503
        assert (await scrape(client))("handoff_desk_server_errors_total") == 1
