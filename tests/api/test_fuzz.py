"""Fuzzing (hypothesis): malformed GraphQL documents, variables and websocket frames.

Every answer is a clean one (a JSON answer with `data` or errors a client can read: never a 500,
never an INTERNAL error, never a traceback; over a websocket, a protocol close code or an error
message), the server stays up, and an answer that is an error changed nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from handoff_desk.app import create_app
from tests.support.fuzz import (
    assert_clean_errors,
    assert_no_traceback,
    documents,
    fuzzing,
    junk,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http(settings):
    """The app as a network client sees it: an unhandled exception is a 500, not raised here."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            yield client


async def everything(desk, but: frozenset[str] = frozenset()) -> dict:
    """Every row of every table (but those named), as text."""
    rows = {}
    async with desk.db.read_rows() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in but:
                continue
            result = await conn.execute(text(f"SELECT * FROM {table.name}"))
            rows[table.name] = sorted(repr(tuple(row)) for row in result.all())
    return rows


async def post(http, body: dict, token: str | None) -> httpx.Response:
    """Sent as any client might: lone surrogates and NaN as JSON escapes, as a browser would."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await http.post("/graphql", content=json.dumps(body).encode(), headers=headers)


def clean_answer(response: httpx.Response) -> dict:
    """The response is a GraphQL answer a client can read; returns its body."""
    assert_no_traceback(response.text)
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    body = response.json()
    assert isinstance(body, dict), response.text[:2000]
    if body.get("errors"):
        assert_clean_errors(body["errors"], response.text[:2000])
    else:
        assert response.status_code == 200 and "data" in body, response.text[:2000]
    return body


@fuzzing(200)
@given(
    document=documents,
    how=st.sampled_from(["post", "get", "post-with-name"]),
    who=st.integers(0, 4),
)
async def test_a_malformed_document_gets_a_clean_answer(http, rows, document, how, who):
    document = document.replace("<session>", rows["session"]).replace("<handoff>", rows["handoff"])
    document = document.replace("<user>", rows["user"]).replace("<assessment>", rows["assessment"])
    token = rows["tokens"][who]
    if how == "get" and len(document) < 4000:  # longer is no URL a client would send
        headers = {"authorization": f"Bearer {token}"} if token else {}
        # A lone surrogate cannot be sent in a URL: a client would have failed to send it.
        query = document.encode("utf-8", "replace").decode()
        response = await http.get("/graphql", params={"query": query}, headers=headers)
        if response.status_code == 405:  # a mutation over GET: refused, with a reason
            assert_no_traceback(response.text)
            return
    else:
        body = {"query": document}
        if how == "post-with-name":
            body["operationName"] = "Q"
        response = await post(http, body, token)
    clean_answer(response)


MUTATIONS = {
    "startSession": (
        "mutation($t: IntakeType!, $c: String!, $p: String!) { startSession(input: "
        "{intakeType: $t, intakeContent: $c, problemSummary: $p}) { __typename } }",
        {"t": "CHAT", "c": "Customer says hi", "p": "Printer offline"},
    ),
    "startSession (input)": (
        "mutation($i: StartSessionInput!) { startSession(input: $i) { __typename } }",
        {"i": {"intakeType": "EMAIL", "intakeContent": "Mail", "problemSummary": "VPN"}},
    ),
    "addSessionMessage": (
        "mutation($s: ID!, $r: MessageRole!, $c: String!, $k: Confidence) { addSessionMessage("
        "input: {sessionId: $s, role: $r, content: $c, confidenceTier: $k}) { __typename } }",
        {"s": "<session>", "r": "CUSTOMER", "c": "It works now", "k": "HIGH"},
    ),
    "createHandoff": (
        "mutation($i: CreateHandoffInput!) { createHandoff(input: $i) { __typename } }",
        {
            "i": {
                "sessionId": "<session>",
                "intent": "PARK",
                "engineerNotes": "n",
                "priority": "LOW",
            }
        },
    ),
    "resolveSession": (
        "mutation($s: ID!) { resolveSession(input: { sessionId: $s }) { __typename } }",
        {"s": "<session>"},
    ),
    "claimHandoff": (
        "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }",
        {"h": "<handoff>"},
    ),
    "releaseHandoff": (
        "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }",
        {"h": "<claimed>"},
    ),
    "markHandoffSeen": (
        "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { __typename } }",
        {"h": "<handoff>"},
    ),
    "setUserRole": (
        "mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) { "
        "__typename } }",
        {"u": "<user>", "r": "ENGINEER"},
    ),
    "deactivateUser": (
        "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }",
        {"u": "<user>"},
    ),
    "addUser": (
        "mutation($i: AddUserInput!) { addUser(input: $i) { __typename } }",
        {"i": {"name": "New", "email": "new@acme.test", "role": "VIEWER", "password": "long-1-pw"}},
    ),
    "login": (
        "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { "
        "__typename } }",
        {"e": "<email>", "p": "wrong-password-1"},
    ),
}


@st.composite
def variables_for(draw, valid: dict) -> dict:
    """Each variable valid or junk; inside input objects, each field too; some dropped or added."""

    def vary(value):
        if draw(st.integers(0, 2)) == 0:
            return draw(junk)
        if isinstance(value, dict):
            varied = {k: vary(v) for k, v in value.items() if draw(st.integers(0, 9))}
            if draw(st.integers(0, 5)) == 0:
                varied[draw(st.text(max_size=10))] = draw(junk)
            return varied
        return value

    return vary(valid)


# Drawn before the test runs: a draw inside an async test may stop it with hypothesis's own
# BaseException, which the anyio runner does not survive.
mutation_calls = st.sampled_from(sorted(MUTATIONS)).flatmap(
    lambda case: st.tuples(st.just(case), variables_for(MUTATIONS[case][1]))
)


@fuzzing(150)
@given(call=mutation_calls, who=st.integers(0, 2))
async def test_random_variables_get_a_clean_answer_and_an_error_changes_nothing(
    http, desk, rows, call, who
):
    case, variables = call
    document = MUTATIONS[case][0]
    raw = json.dumps(variables)
    for kind in ("session", "handoff", "claimed", "user", "email"):
        raw = raw.replace(f"<{kind}>", rows[kind])
    # A failed login is recorded (login throttling): that is its purpose, not a change of data.
    but = frozenset({"login_attempt"} if case == "login" else ())
    before = await everything(desk, but)
    response = await post(
        http, {"query": document, "variables": json.loads(raw)}, rows["tokens"][who]
    )
    body = clean_answer(response)
    answer = (body.get("data") or {}).get(case.split()[0])
    if body.get("errors") or not str((answer or {}).get("__typename")).endswith("Success"):
        assert await everything(desk, but) == before, (case, body)
    # The desk still answers a valid request.
    me = await post(http, {"query": "{ me { id } }"}, rows["admin"])
    assert me.status_code == 200 and me.json()["data"]["me"]["id"], me.text
