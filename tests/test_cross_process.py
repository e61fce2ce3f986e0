"""Several processes serve one account: events cross them on Redis or Postgres broadcast."""

import asyncio
import uuid

import pytest
from sqlmodel import col, select

from db.enums import AssessmentStatus, JobState
from db.models import Handoff, Job
from tests import services
from tests.factories import make_session
from tests.fake_llm import FakeChatCompletions
from tests.http import GraphQLClient
from tests.test_live import ASSESSED, CREATED
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

# A long poll: within these tests' timeouts only the broadcast doorbell can deliver an event
# from another process.
NO_POLL = {"HANDOFF_EVENT_POLL_SECONDS": "120"}


@pytest.fixture(params=["redis", "postgres"])
def broadcast_url(request) -> str:
    if request.param == "redis":
        services.require_redis()
        return services.REDIS_URL
    services.require_postgres()
    return services.POSTGRES_URL


async def test_a_mutation_on_one_process_reaches_a_subscriber_on_another(
    serve, desk, team, broadcast_url
):
    one = serve(HANDOFF_BROADCAST_URL=broadcast_url, **NO_POLL)
    two = serve(HANDOFF_BROADCAST_URL=broadcast_url, **NO_POLL)
    session = await make_session(desk, team.acme["alex"])
    async with GraphQLSocket(two.url) as ws, GraphQLClient(one.url) as http:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED)
        await asyncio.sleep(0.3)
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        event = (await ws.next_data(timeout=10))["handoffCreated"]
    assert event["handoff"]["id"] == handoff_id


async def test_a_separate_worker_process_assesses_and_subscribers_hear_of_it(
    serve, desk, team, broadcast_url
):
    api = serve(HANDOFF_BROADCAST_URL=broadcast_url, HANDOFF_RUN_WORKERS="false", **NO_POLL)
    session = await make_session(desk, team.acme["alex"], "Printer spooler crashes")
    async with GraphQLSocket(api.url) as ws, GraphQLClient(api.url) as http:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(ASSESSED)
        await asyncio.sleep(0.3)
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        await asyncio.sleep(0.5)
        async with desk.db.read() as db:
            handoff = await db.get(Handoff, uuid.UUID(handoff_id))
        assert handoff.assessment_status == AssessmentStatus.PENDING  # no worker in the API

        serve("worker", HANDOFF_BROADCAST_URL=broadcast_url, **NO_POLL)
        landed = (await ws.next_data(timeout=20))["assessmentReady"]
    assert landed["handoff"]["id"] == handoff_id
    assert landed["handoff"]["assessment"]["status"] == "READY"


async def test_a_server_killed_mid_assessment_finishes_it_after_restart(serve, desk, team):
    with FakeChatCompletions() as llm:
        llm.set("hang")
        env = {
            "HANDOFF_ASSESSOR": "openai",
            "HANDOFF_OPENAI_BASE_URL": llm.base_url,
            "HANDOFF_OPENAI_MODEL": "test-model",
            "HANDOFF_ASSESSMENT_TIMEOUT_SECONDS": "60",
            "HANDOFF_JOB_LEASE_SECONDS": "2",
        }
        first = serve(**env)
        session = await make_session(desk, team.acme["alex"], "VPN drops")
        async with GraphQLClient(first.url) as http:
            handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        for _ in range(100):  # the worker has leased the job and is waiting on the model
            if llm.requests:
                break
            await asyncio.sleep(0.05)
        assert llm.requests, "the assessor was never called"
        first.kill()  # SIGKILL: between the commit and the assessment

        async with desk.db.read() as db:
            job = (await db.exec(select(Job).where(col(Job.kind) == "assess"))).one()
        assert job.state == JobState.RUNNING and job.lease_owner is not None

        llm.set("ok")
        second = serve(**env)
        async with GraphQLSocket(second.url) as ws:
            await ws.connect(team.acme["sam"].token)
            # It may land before we subscribe: ask for everything after seq 0, as a client
            # that reconnects would.
            await ws.subscribe(ASSESSED, {"id": handoff_id, "after": 0})
            landed = (await ws.next_data(timeout=20))["assessmentReady"]
    assert landed["handoff"]["assessment"]["status"] == "READY"
    async with desk.db.read() as db:
        job = (await db.exec(select(Job).where(col(Job.kind) == "assess"))).one()
    assert job.state == JobState.DONE and job.attempts == 2
