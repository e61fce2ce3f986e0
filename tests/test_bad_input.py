"""Bad input gets a clear GraphQL error (never a stack trace) and changes nothing."""

import json

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from tests.factories import make_escalation, make_session

pytestmark = pytest.mark.anyio

MALFORMED_IDS = ["nope", "", "123", "00000000-0000-0000-0000-00000000000g"]
ID_OPERATIONS = {
    "session": "query($id: ID!) { session(id: $id) { id } }",
    "handoff": "query($id: ID!) { handoff(id: $id) { id } }",
    "claimHandoff": "mutation($id: ID!) { claimHandoff(handoffId: $id) { __typename } }",
    "releaseHandoff": "mutation($id: ID!) { releaseHandoff(handoffId: $id) { __typename } }",
    "markHandoffSeen": "mutation($id: ID!) { markHandoffSeen(handoffId: $id) { __typename } }",
    "resolveSession": "mutation($id: ID!) { resolveSession(sessionId: $id) { __typename } }",
    "createHandoff": "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: PARK}) "
    "{ __typename } }",
    "setUserRole": "mutation($id: ID!) { setUserRole(userId: $id, role: VIEWER) { __typename } }",
}


async def _row_counts(desk) -> dict:
    async with desk.db.read_rows() as conn:
        return {
            table.name: (await conn.execute(text(f"SELECT count(*) FROM {table.name}"))).scalar()
            for table in SQLModel.metadata.sorted_tables
        }


def _no_traceback(body: dict) -> None:
    raw = json.dumps(body)
    assert "Traceback" not in raw and 'File \\"' not in raw, raw


@pytest.fixture
async def populated(desk, team):
    await make_session(desk, team.acme["alex"])
    await make_escalation(desk, team.acme["alex"])
    return await _row_counts(desk)


@pytest.mark.parametrize("operation", sorted(ID_OPERATIONS))
async def test_a_malformed_id_is_bad_input(operation, api, desk, team, populated):
    for bad in MALFORMED_IDS:
        body = await api.post(ID_OPERATIONS[operation], {"id": bad}, token=team.acme["dana"].token)
        _no_traceback(body)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "not a valid id" in body["errors"][0]["message"]
    assert await _row_counts(desk) == populated


BAD_REQUESTS = {
    "unknown enum value": (
        'mutation { startSession(input: {intakeType: CARRIER_PIGEON, intakeContent: "c", '
        'problemSummary: "p"}) { __typename } }',
        {},
    ),
    "wrong variable type": (
        "query($first: Int!) { handoffQueue(first: $first) { totalCount } }",
        {"first": "fifty"},
    ),
    "unknown field": ("{ handoffQueue { secretField } }", {}),
    "syntax error": ("{ handoffQueue { totalCount ", {}),
    "empty problem summary": (
        'mutation { startSession(input: {intakeType: CHAT, intakeContent: "c", '
        'problemSummary: "   "}) { __typename } }',
        {},
    ),
    "over-long message": (
        "mutation($s: ID!, $c: String!) { addSessionMessage(input: "
        "{sessionId: $s, role: CUSTOMER, content: $c}) { __typename } }",
        {"c": "x" * 20_001},
    ),
    "page too large": ("{ handoffQueue(first: 1000) { totalCount } }", {}),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
async def test_bad_requests_get_clear_errors_and_change_nothing(case, api, desk, team, populated):
    query, variables = BAD_REQUESTS[case]
    if "$s" in query:
        session = await make_session(desk, team.acme["alex"], turns=0)
        variables = {**variables, "s": str(session.id)}
        populated = await _row_counts(desk)
    body = await api.post(query, variables, token=team.acme["alex"].token)
    _no_traceback(body)
    assert body.get("errors"), body
    message = body["errors"][0]["message"]
    assert message and "Internal error" not in message, message
    assert not (body.get("data") or {}).get("startSession")
    assert await _row_counts(desk) == populated
