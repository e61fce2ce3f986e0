"""Bad input gets a clear GraphQL error (never a stack trace) and changes nothing."""

import json

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from handoff_desk.app import create_app
from tests.factories import make_escalation, make_session
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import LEGACY_WS, GraphQLSocket

pytestmark = pytest.mark.anyio

MALFORMED_IDS = ["nope", "", "123", "00000000-0000-0000-0000-00000000000g"]
ID_OPERATIONS = {
    "session": "query($id: ID!) { session(id: $id) { id } }",
    "handoff": "query($id: ID!) { handoff(id: $id) { id } }",
    "claimHandoff": "mutation($id: ID!) { claimHandoff(input: { handoffId: $id }) { __typename } }",
    "releaseHandoff": "mutation($id: ID!) { releaseHandoff(input: { handoffId: $id }) { "
    "__typename } }",
    "markHandoffSeen": "mutation($id: ID!) { markHandoffSeen(input: { handoffId: $id }) { "
    "__typename } }",
    "resolveSession": "mutation($id: ID!) { resolveSession(input: { sessionId: $id }) { "
    "__typename } }",
    "createHandoff": "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: PARK}) "
    "{ __typename } }",
    "setUserRole": "mutation($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { "
    "__typename } }",
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


async def test_bad_requests_get_clear_errors_and_change_nothing(api, desk, team, populated):
    # One desk for every case: each must leave it as it found it.
    for case, (query, variables) in sorted(BAD_REQUESTS.items()):
        if "$s" in query:
            session = await make_session(desk, team.acme["alex"], turns=0)
            variables = {**variables, "s": str(session.id)}
            populated = await _row_counts(desk)
        body = await api.post(query, variables, token=team.acme["alex"].token)
        _no_traceback(body)
        assert body.get("errors"), (case, body)
        message = body["errors"][0]["message"]
        assert message and "Internal error" not in message, (case, message)
        assert not (body.get("data") or {}).get("startSession"), (case, body)
        assert await _row_counts(desk) == populated, case


# --- Each malformed id, each operation: the raw answer, and nothing changed ---------------------

LISTED_ID_OPERATIONS = [
    "session",
    "handoff",
    "claimHandoff",
    "createHandoff",
    "markHandoffSeen",
    "setUserRole",
]


async def _raw(api, query: str, variables: dict | None = None, token: str | None = None):
    """The response as sent: its text (for tracebacks) and its JSON."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text
    assert 'File \\"' not in response.text, response.text
    return response.json()


def _strings(value) -> list[str]:
    """Every string in an answer."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _field_has_no_data(body: dict, field: str) -> None:
    data = body.get("data")
    assert data is None or data.get(field) is None, body


LISTED_MALFORMED_IDS = ["nope", "", "123", " ", "12345678-1234-1234-1234-12345678"]


@pytest.mark.parametrize("operation", sorted(ID_OPERATIONS))
async def test_a_malformed_id_is_bad_input_for_each_operation(
    operation, api, desk, team, populated
):
    """Each malformed id (and, for the listed operations, each of a longer list and an id sent
    as a number): BAD_USER_INPUT naming it, no data, nothing changed. One desk for every id."""
    dana = team.acme["dana"].token
    for bad in MALFORMED_IDS:
        body = await api.post(ID_OPERATIONS[operation], {"id": bad}, token=dana)
        _no_traceback(body)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (bad, body)
        assert "not a valid id" in body["errors"][0]["message"], bad
    assert await _row_counts(desk) == populated
    if operation not in LISTED_ID_OPERATIONS:
        return
    for bad in LISTED_MALFORMED_IDS:
        body = await _raw(api, ID_OPERATIONS[operation], {"id": bad}, token=dana)
        assert len(body["errors"]) == 1, (bad, body)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (bad, body)
        assert error["path"] == [operation], bad
        assert repr(bad) in error["message"] or "not a valid id" in error["message"], bad
        _field_has_no_data(body, operation)
        assert await _row_counts(desk) == populated, bad
    # An id sent as a number is bad input too.
    body = await _raw(api, ID_OPERATIONS[operation], {"id": 123}, token=dana)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    _field_has_no_data(body, operation)
    assert await _row_counts(desk) == populated


# --- Unknown enum values and wrong variable types: a GraphQL error, no data ---------------------

ENUM_AND_TYPE_ERRORS = {
    "setUserRole role OWNER (variable)": (
        "mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) { "
        "__typename } }",
        {"r": "OWNER"},
        "setUserRole",
    ),
    "setUserRole role in lower case (variable)": (
        "mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) { "
        "__typename } }",
        {"r": "admin"},
        "setUserRole",
    ),
    "setUserRole role OWNER (literal)": (
        "mutation($u: ID!) { setUserRole(input: { userId: $u, role: OWNER }) { __typename } }",
        {},
        "setUserRole",
    ),
    "addUser role ROOT": (
        "mutation($i: AddUserInput!) { addUser(input: $i) { __typename } }",
        {
            "i": {
                "name": "Root",
                "email": "root@acme.test",
                "role": "ROOT",
                "password": "long-enough-1",
            }
        },
        "addUser",
    ),
    "createHandoff intent DELETE": (
        "mutation($s: ID!, $i: HandoffIntent!) { createHandoff(input: {sessionId: $s, "
        "intent: $i}) { __typename } }",
        {"i": "DELETE"},
        "createHandoff",
    ),
    "createHandoff priority CRITICAL": (
        "mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE, "
        "priority: CRITICAL}) { __typename } }",
        {},
        "createHandoff",
    ),
    "addSessionMessage role BOT": (
        "mutation($s: ID!, $r: MessageRole!) { addSessionMessage(input: {sessionId: $s, "
        'role: $r, content: "hi"}) { __typename } }',
        {"r": "BOT"},
        "addSessionMessage",
    ),
    "addSessionMessage confidence HUGE": (
        "mutation($s: ID!) { addSessionMessage(input: {sessionId: $s, role: CUSTOMER, "
        'content: "hi", confidenceTier: HUGE}) { __typename } }',
        {},
        "addSessionMessage",
    ),
    "startSession intake as a string": (
        'mutation { startSession(input: {intakeType: "CHAT", intakeContent: "c", '
        'problemSummary: "p"}) { __typename } }',
        {},
        "startSession",
    ),
    "handoffQueue status BOGUS": (
        "query($st: QueueStatus!) { handoffQueue(status: $st) { totalCount } }",
        {"st": "BOGUS"},
        "handoffQueue",
    ),
    "mySessions status OPEN": (
        "{ mySessions(status: OPEN) { id } }",
        {},
        "mySessions",
    ),
    "handoffQueue first as a string": (
        "query($f: Int!) { handoffQueue(first: $f) { totalCount } }",
        {"f": "ten"},
        "handoffQueue",
    ),
    "handoffQueue first as a float": (
        "query($f: Int!) { handoffQueue(first: $f) { totalCount } }",
        {"f": 2.5},
        "handoffQueue",
    ),
    "mySessions first beyond 32 bits": (
        "query($f: Int!) { mySessions(first: $f) { id } }",
        {"f": 2**40},
        "mySessions",
    ),
    "id as an object": (
        "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }",
        {"u": {"id": "x"}},
        "deactivateUser",
    ),
    "id as null": (
        "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }",
        {"h": None},
        "claimHandoff",
    ),
    "problemSummary as a number": (
        'mutation($p: String!) { startSession(input: {intakeType: CHAT, intakeContent: "c", '
        "problemSummary: $p}) { __typename } }",
        {"p": 42},
        "startSession",
    ),
    "input missing a required field": (
        "mutation($i: StartSessionInput!) { startSession(input: $i) { __typename } }",
        {"i": {"intakeType": "CHAT", "intakeContent": "c"}},
        "startSession",
    ),
    "input with an unknown field": (
        "mutation($i: StartSessionInput!) { startSession(input: $i) { __typename } }",
        {"i": {"intakeType": "CHAT", "intakeContent": "c", "problemSummary": "p", "x": 1}},
        "startSession",
    ),
    "login password as a list": (
        "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { "
        "__typename } }",
        {"e": "sam.senior@acme.test", "p": ["correct-horse-42"]},
        "login",
    ),
}


async def test_unknown_enum_values_and_wrong_types_get_a_graphql_error(api, desk, team, populated):
    # One session to aim at for every case: each must leave the desk as it found it.
    session = await make_session(desk, team.acme["alex"], turns=0)
    before = await _row_counts(desk)
    for case, (query, variables, field) in sorted(ENUM_AND_TYPE_ERRORS.items()):
        variables = {"s": str(session.id), "u": team.acme["kim"].id, **variables}
        used = {k: v for k, v in variables.items() if f"${k}" in query}
        body = await _raw(api, query, used, token=team.acme["dana"].token)
        assert body.get("errors"), (case, body)
        message = body["errors"][0]["message"]
        assert message and "Internal error" not in message, (case, body)
        _field_has_no_data(body, field)
        assert await _row_counts(desk) == before, case


# --- Empty and over-long text: BAD_USER_INPUT, nothing stored; the limits themselves pass -------

START = """mutation($t: IntakeType!, $c: String!, $p: String!) {
  startSession(input: {intakeType: $t, intakeContent: $c, problemSummary: $p}) { __typename
    ... on StartSessionSuccess { session { id problemSummary intakeContent } } } }"""
MESSAGE = """mutation($s: ID!, $c: String!) {
  addSessionMessage(input: {sessionId: $s, role: CUSTOMER, content: $c}) { __typename
    ... on AddSessionMessageSuccess { message { content } } } }"""
HAND_OFF = """mutation($s: ID!, $n: String!) {
  createHandoff(input: {sessionId: $s, intent: ESCALATE, engineerNotes: $n}) { __typename
    ... on CreateHandoffSuccess { handoff { engineerNotes } } } }"""

TEXT_CASES = {
    "empty problemSummary": (START, {"p": ""}, "startSession", "problemSummary"),
    "blank problemSummary": (START, {"p": " \n\t "}, "startSession", "problemSummary"),
    "problemSummary of 501": (START, {"p": "p" * 501}, "startSession", "problemSummary"),
    "empty intakeContent": (START, {"c": ""}, "startSession", "intakeContent"),
    "intakeContent of 20,001": (START, {"c": "c" * 20_001}, "startSession", "intakeContent"),
    "empty message": (MESSAGE, {"c": ""}, "addSessionMessage", "content"),
    "message of 20,001": (MESSAGE, {"c": "m" * 20_001}, "addSessionMessage", "content"),
    "message of 20,001 emoji": (MESSAGE, {"c": "🙂" * 20_001}, "addSessionMessage", "content"),
    "notes of 10,001": (HAND_OFF, {"n": "n" * 10_001}, "createHandoff", "engineerNotes"),
}


async def _text_request(api, desk, team, query, overrides):
    session = await make_session(desk, team.acme["alex"], turns=1)
    variables = {"t": "CHAT", "c": "Customer says hi.", "p": "Printer offline"}
    variables.update({"s": str(session.id), "n": "tried"})
    variables.update(overrides)
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    before = await _row_counts(desk)
    body = await _raw(api, query, used, token=team.acme["alex"].token)
    return body, before


async def test_empty_or_over_long_text_is_bad_user_input(api, desk, team):
    for case, (query, overrides, field, argument) in sorted(TEXT_CASES.items()):
        body, before = await _text_request(api, desk, team, query, overrides)
        assert body.get("errors"), (case, body)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (case, body)
        assert argument in error["message"], (case, error["message"])  # says which input
        _field_has_no_data(body, field)
        assert await _row_counts(desk) == before, case


AT_THE_LIMIT = {
    "problemSummary of 500": (START, {"p": "é" * 500}, "startSession"),
    "intakeContent of 20,000": (START, {"c": "c" * 20_000}, "startSession"),
    "message of 20,000 emoji": (MESSAGE, {"c": "🙂" * 20_000}, "addSessionMessage"),
    "notes of 10,000": (HAND_OFF, {"n": "ñ" * 10_000}, "createHandoff"),
}


async def test_text_at_the_limit_is_accepted_and_kept_whole(api, desk, team):
    for case, (query, overrides, field) in sorted(AT_THE_LIMIT.items()):
        body, _ = await _text_request(api, desk, team, query, overrides)
        assert not body.get("errors"), (case, body)
        answer = body["data"][field]
        assert answer["__typename"].endswith("Success"), (case, answer)
        assert next(iter(overrides.values())) in _strings(answer), case  # kept whole


# --- Characters no database column can hold: refused clearly, or stored exactly ----------------

ODD_TEXT = {
    "NUL in problemSummary": (START, {"p": "Printer\x00offline"}, "startSession"),
    "NUL in intakeContent": (START, {"c": "Customer\x00says hi"}, "startSession"),
    "NUL in a message": (MESSAGE, {"c": "line one\x00line two"}, "addSessionMessage"),
    "NUL in engineer notes": (HAND_OFF, {"n": "tried\x00rebooting"}, "createHandoff"),
}


async def test_a_nul_character_is_refused_as_bad_input_or_kept(api, desk, team):
    """JSON and GraphQL strings may carry U+0000. The desk may refuse it (BAD_USER_INPUT) or
    keep it, but must answer the same clear way on every database, never 'Internal error'."""
    for case, (query, overrides, field) in sorted(ODD_TEXT.items()):
        body, before = await _text_request(api, desk, team, query, overrides)
        if body.get("errors"):
            error = body["errors"][0]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (case, body)
            _field_has_no_data(body, field)
            assert await _row_counts(desk) == before, case
        else:
            assert next(iter(overrides.values())) in _strings(body["data"][field]), (case, body)


async def test_a_nul_character_in_a_login_email_is_just_invalid_credentials(api, team):
    body = await _raw(
        api,
        'mutation($e: String!) { login(input: { email: $e, password: "correct-horse-42" }) { '
        "__typename } }",
        {"e": "sam.senior@acme.test\x00"},
    )
    assert body == {"data": {"login": {"__typename": "InvalidCredentials"}}}, body


async def test_an_unpaired_surrogate_is_bad_input(api, desk, team):
    """A lone surrogate escape is well-formed JSON but no UTF-8 text: no database can keep it."""
    populated = await _row_counts(desk)
    variables = {"t": "CHAT", "c": "c", "p": "Printer LONE"}
    raw = json.dumps({"query": START, "variables": variables}).replace("LONE", "\\ud800")
    response = await api.client.post(
        "/graphql",
        content=raw.encode(),
        headers={
            "authorization": f"Bearer {team.acme['alex'].token}",
            "content-type": "application/json",
        },
    )
    assert "Traceback" not in response.text and 'File \\"' not in response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    _field_has_no_data(body, "startSession")
    assert await _row_counts(desk) == populated


# --- Requests that are not GraphQL at all -------------------------------------------------------


@pytest.fixture
async def http(settings):
    """The app as a client over the network sees it: an unhandled exception is a 500 answer,
    not an exception raised into the test."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            yield client


NOT_GRAPHQL_BODIES = [
    b"",
    b"not json",
    b'{"query": "{ me { id } ',
    b"[1, 2]",
    b'"a string"',
    b"42",
    b"null",
    b"\xff\xfe\x00",
]


async def test_a_body_that_is_not_a_graphql_request_gets_a_plain_refusal(
    http, desk, team, populated
):
    for content in NOT_GRAPHQL_BODIES:
        response = await http.post(
            "/graphql",
            content=content,
            headers={
                "authorization": f"Bearer {team.acme['dana'].token}",
                "content-type": "application/json",
            },
        )
        assert "Traceback" not in response.text and 'File "' not in response.text, response.text
        assert 400 <= response.status_code < 500, (content, response.status_code, response.text)
        assert await _row_counts(desk) == populated, content


# --- Websocket messages of the wrong shape: a protocol close, never a dropped connection --------

SUBSCRIBE = "subscription { handoffCreated { seq } }"


def _subscribe(op_id="1", **payload) -> str:
    return json.dumps(
        {"id": op_id, "type": "subscribe", "payload": {"query": SUBSCRIBE, **payload}}
    )


# Sent after a valid connection_init: (frames, close code, what the reason says).
WS_REFUSALS = {
    "an array": (["[1, 2]"], 4400, "JSON object"),
    "null": (["null"], 4400, "JSON object"),
    "a string": (['"subscribe"'], 4400, "JSON object"),
    "a type with a lone surrogate": (['{"type": "\\ud800"}'], 4400, "unknown message type"),
    "a type of 300 characters": ([json.dumps({"type": "x" * 300})], 4400, "unknown message type"),
    "an id that is an object": ([_subscribe({})], 4400, "id"),
    "an id that is a number": ([_subscribe(5)], 4400, "id"),
    "a payload that is a string": (
        [json.dumps({"id": "1", "type": "subscribe", "payload": "query"})],
        4400,
        "payload",
    ),
    "a null query": ([_subscribe(query=None)], 4400, "query"),
    "variables that are a list": ([_subscribe(variables=[1])], 4400, "variables"),
    "an operationName that is a number": ([_subscribe(operationName=5)], 4400, "operationName"),
    "an unknown operationName": ([_subscribe(operationName="Nope")], 4400, "Nope"),
    "a complete whose id is an array": (['{"type": "complete", "id": []}'], 4400, "id"),
    "a document that does not parse": ([_subscribe(query="subscription {")], 4400, "Syntax"),
    "a long id used twice": ([_subscribe("x" * 300)] * 2, 4409, "already in use"),
}


async def test_a_malformed_websocket_message_closes_the_connection_with_4400(in_process, team):
    """Each of these raised out of Strawberry's handler: the connection dropped without a close
    code (or the client got an INTERNAL error, or only `complete`)."""
    server = await in_process()
    for case, (frames, code, reason) in WS_REFUSALS.items():
        async with GraphQLSocket(server.url) as ws:
            await ws.connect(team.acme["dana"].token)
            for frame in frames:
                await ws._ws.send(frame)
            closed = await ws.wait_closed()
        assert (closed.code, reason in closed.reason) == (code, True), (case, closed)


async def test_legacy_graphql_ws_refuses_malformed_messages_and_answers_syntax_errors(
    in_process, team
):
    server = await in_process()
    for frame in ["[1]", '{"type": "start", "id": "1", "payload": {"query": null}}']:
        async with GraphQLSocket(server.url, LEGACY_WS) as ws:
            await ws.connect(team.acme["dana"].token)
            await ws._ws.send(frame)
            assert (await ws.wait_closed()).code == 4400, frame
    async with GraphQLSocket(server.url, LEGACY_WS) as ws:
        await ws.connect(team.acme["dana"].token)
        await ws.subscribe("subscription {")
        answer = await ws.receive()
        assert answer["type"] == "error" and "Syntax Error" in answer["payload"]["message"], answer
