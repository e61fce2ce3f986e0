"""The access log (one line per HTTP request and per websocket operation), and the request id
carried from a request into the jobs it causes and the worker's lines about them."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from sqlmodel import col, select

from db.models import Job
from tests.factories import make_session
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.server import logging_as_configured_by_main
from tests.waiting import wait_for
from tests.ws import LEGACY_WS, TRANSPORT_WS, GraphQLSocket

pytestmark = pytest.mark.anyio

QUEUE = "query DeskQueue { handoffQueue(first: 5) { unreadCount } }"
CREATED = "subscription WatchCreated { handoffCreated { seq } }"
CREATE_HANDOFF = """
mutation Escalate($s: ID!) {
  createHandoff(input: {sessionId: $s, intent: ESCALATE, priority: URGENT,
                        engineerNotes: "Swapped the toner; still jams."}) {
    __typename
    ... on CreateHandoffSuccess { handoff { id } }
  }
}
"""


def entries(log) -> list[dict]:
    return [json.loads(line) for line in log.getvalue().splitlines()]  # each line one object


def access_lines(log) -> list[dict]:
    return [e for e in entries(log) if e["logger"] == "handoff_desk.access"]


async def test_each_request_has_one_access_line_with_its_operation_caller_and_duration(
    in_process, team, settings
):
    server = await in_process()
    sam = team.acme["sam"]
    with logging_as_configured_by_main("json", settings) as log:
        async with httpx.AsyncClient(base_url=server.url) as client:
            for n, token in enumerate([sam.token, sam.token, None]):  # the second is cached
                headers = {"x-request-id": f"access-{n}"}
                if token:
                    headers["authorization"] = f"Bearer {token}"
                await client.post("/graphql", json={"query": QUEUE}, headers=headers)
            await client.get("/healthz?secret=hunter2", headers={"x-request-id": "probe"})

        async def logged():
            lines = access_lines(log)
            return len(lines) >= 4 and lines

        lines = await wait_for(logged, "four access lines")
    by_request = {line["request_id"]: line for line in lines}
    assert len(lines) == 4 and set(by_request) == {"access-0", "access-1", "access-2", "probe"}
    for request_id in ("access-0", "access-1"):
        line = by_request[request_id]
        assert line["operation"] == "DeskQueue" and line["operation_type"] == "query"
        assert line["user_id"] == str(sam.user.id)
        assert line["account_id"] == str(team.acme.account.id)
        assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["level"] == "INFO" and line["timestamp"].endswith("+00:00")
    anonymous = by_request["access-2"]
    assert anonymous["operation"] == "DeskQueue"
    assert anonymous["user_id"] is None and anonymous["account_id"] is None
    probe = by_request["probe"]
    assert (probe["method"], probe["path"], probe["status"]) == ("GET", "/healthz", 200)
    assert probe["operation"] is None
    # The path is logged without its query string (the test's own client, httpx, logs it whole).
    assert all("hunter2" not in json.dumps(e) for e in entries(log) if e["logger"] != "httpx")


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_subscription_has_a_line_when_it_starts_and_one_when_it_ends(
    in_process, team, settings, protocol
):
    server = await in_process()
    sam = team.acme["sam"]
    with logging_as_configured_by_main("json", settings) as log:
        async with GraphQLSocket(server.url, protocol) as ws:
            await ws.connect(sam.token)
            await ws.subscribe(CREATED)
            await server.until_streams(1)

        async def logged():
            lines = [e for e in access_lines(log) if e.get("operation") == "WatchCreated"]
            return len(lines) == 2 and lines

        started, ended = await wait_for(logged, "the subscription's two lines")
    assert started["message"] == "subscription WatchCreated started"
    assert ended["message"].startswith("subscription WatchCreated ended after ")
    for line in (started, ended):
        assert line["operation_type"] == "subscription" and line["path"] == "/graphql"
        assert line["user_id"] == str(sam.user.id)
        assert line["account_id"] == str(team.acme.account.id)
    assert started["request_id"] and started["request_id"] == ended["request_id"]
    assert "duration_ms" not in started and ended["duration_ms"] >= 0


async def test_a_job_runs_with_the_request_id_of_the_request_that_enqueued_it(
    in_process, desk, team, settings
):
    server = await in_process(run_workers=True)
    alex = team.acme["alex"]
    session = await make_session(desk, alex, "Label printer jams on floor 3")
    with logging_as_configured_by_main("json", settings) as log:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            response = await client.post(
                "/graphql",
                json={"query": CREATE_HANDOFF, "variables": {"s": str(session.id)}},
                headers={"authorization": f"Bearer {alex.token}", "x-request-id": "escalate-7"},
            )
        handoff = response.json()["data"]["createHandoff"]["handoff"]["id"]

        async def job_logged():
            return [
                e
                for e in entries(log)
                if e["logger"] == "workers.runner" and e.get("job_kind") == "assess"
            ]

        [line] = await wait_for(job_logged, "the assessment job's line")
    assert line["request_id"] == "escalate-7"
    assert line["outcome"] == "done" and line["attempt"] == 1
    assert re.fullmatch(r"job \S+ \(assess\) attempt 1: done", line["message"])
    async with desk.db.read() as session_:
        jobs = (
            await session_.exec(select(Job).where(col(Job.subject_id) == uuid.UUID(handoff)))
        ).all()
    # Its job row keeps the id, as do the other jobs the escalation enqueued (its timers).
    assert uuid.UUID(line["job_id"]) in {j.id for j in jobs}
    assert {j.request_id for j in jobs} == {"escalate-7"}
