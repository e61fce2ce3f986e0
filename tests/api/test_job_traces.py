"""A traced request's jobs join its trace: the escalation's assessment job keeps the request's W3C
traceparent, the worker's span for it ("job assess") is in that trace with the job's SQL
statements under it, and the call to the model carries the job's span in a `traceparent` header.
With traces off, the job keeps none and the model is sent none. (OpenTelemetry's in-memory
exporter; the model is the local fake that speaks the chat-completions protocol.)"""

from __future__ import annotations

import contextlib
import uuid

import httpx
import pytest
from sqlmodel import col, select

from db.enums import JobKind, JobState
from db.models import Job
from handoff_desk.app import create_app
from tests.api.test_tracing import TRACE_ID, TRACEPARENT, ancestors, scope_of, traced
from tests.factories import make_session
from tests.fake_llm import FakeChatCompletions
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

ESCALATE = """mutation Escalate($s: ID!) {
  createHandoff(input: {sessionId: $s, intent: ESCALATE, engineerNotes: "Rebooted twice."}) {
    __typename ... on CreateHandoffSuccess { handoff { id } } } }"""


@pytest.fixture(scope="module")
def chat_completions():
    with FakeChatCompletions() as fake:
        yield fake


@pytest.fixture
def llm(chat_completions):
    chat_completions.reset()
    return chat_completions


def assessing(settings, llm: FakeChatCompletions):
    """The test's settings, with workers that assess with the model."""
    return settings.model_copy(
        update={
            "run_workers": True,
            "assessor": "openai",
            "openai_base_url": llm.base_url,
            "openai_model": "test-model",
        }
    )


async def escalate(client: httpx.AsyncClient, desk, team) -> uuid.UUID:
    """An escalation, in a request that names its caller's trace; returns the handoff's id."""
    alex = team.acme["alex"]
    session = await make_session(desk, alex, "VPN drops every ten minutes")
    response = await client.post(
        "/graphql",
        json={"query": ESCALATE, "variables": {"s": str(session.id)}},
        headers={"authorization": f"Bearer {alex.token}", "traceparent": TRACEPARENT},
    )
    created = response.json()["data"]["createHandoff"]
    assert created["__typename"] == "CreateHandoffSuccess", created
    return uuid.UUID(created["handoff"]["id"])


async def jobs_of(desk, handoff_id: uuid.UUID) -> list[Job]:
    async with desk.db.read() as session:
        query = select(Job).where(col(Job.subject_id) == handoff_id)
        return list((await session.exec(query)).all())


async def assessed(desk, handoff_id: uuid.UUID) -> Job:
    async def done():
        jobs = await jobs_of(desk, handoff_id)
        return next(
            (j for j in jobs if j.kind == JobKind.ASSESS and j.state == JobState.DONE), None
        )

    return await wait_for(done, "the assessment job to be done")


async def test_the_assessment_job_and_the_call_to_the_model_join_the_requests_trace(
    settings, desk, team, llm
):
    async with traced(assessing(settings, llm)) as (client, spans):
        handoff_id = await escalate(client, desk, team)
        job = await assessed(desk, handoff_id)

        async def job_span():
            return [s for s in spans() if s.name == "job assess"]

        [span] = await wait_for(job_span, "the assessment job's span")
        found = spans()

    # The job row keeps the trace of the request that enqueued it.
    assert job.trace_parent is not None and job.trace_parent.split("-")[1] == TRACE_ID
    assert format(span.context.trace_id, "032x") == TRACE_ID
    by_id = {s.context.span_id: s for s in found}
    [request] = [s for s in found if s.name == "POST /graphql"]
    assert request in ancestors(span, by_id)
    assert span.attributes["job.kind"] == "assess"
    # The job's statements (its reads, storing the assessment, settling the job) are under it.
    statements = [
        s
        for s in found
        if scope_of(s) == "opentelemetry.instrumentation.sqlalchemy" and span in ancestors(s, by_id)
    ]
    assert any("UPDATE job" in s.attributes.get("db.statement", "") for s in statements), [
        s.name for s in statements
    ]
    # The model was called inside the job's span, and told so.
    [sent] = llm.requests
    version, trace_id, parent_id, flags = sent["headers"]["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert parent_id == format(span.context.span_id, "016x")


async def test_with_traces_off_a_job_keeps_no_trace_and_the_model_is_sent_none(
    settings, desk, team, llm
):
    app = create_app(assessing(settings, llm).model_copy(update={"query_cache_mb": 0}))
    assert app.state.tracer_provider is None
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://desk.test")
        await stack.enter_async_context(client)
        handoff_id = await escalate(client, desk, team)
        await assessed(desk, handoff_id)

    jobs = await jobs_of(desk, handoff_id)
    assert jobs and {j.trace_parent for j in jobs} == {None}
    [sent] = llm.requests
    assert "traceparent" not in sent["headers"]
