"""Fuzzing (hypothesis): malformed GraphQL documents, variables and websocket frames.

Every answer is a clean one (a JSON answer with `data` or errors a client can read: never a 500,
never an INTERNAL error, never a traceback; over a websocket, a protocol close code or an error
message), the server stays up, and an answer that is an error changed nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import httpx
import pytest
import websockets
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, Undefined
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from db.models import Handoff
from handoff_desk.app import create_app
from handoff_desk.cli import WS_MAX_FRAME_BYTES
from resolvers import claims
from tests.factories import make_escalation, make_session
from tests.test_tenancy_walk import ROOTS, _id_kind, selection
from tests.ws import TRANSPORT_WS, GraphQLSocket

pytestmark = pytest.mark.anyio

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def fuzzing(examples: int):
    # Function-scoped fixtures (the app, the database) are made once for all examples: each
    # example leaves them as any client's request would.
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=IN_CI,  # the same examples on every CI run; new ones on each local run
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


KNOWN_CODES = {None, "BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN"}


def assert_clean_errors(errors, where) -> None:
    """Errors a client can read: a known code (parse and validation errors carry none)."""
    if isinstance(errors, dict):
        errors = [errors]
    assert isinstance(errors, list), where
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert code in KNOWN_CODES, where
        assert "Internal error" not in error.get("message", ""), where


def assert_no_traceback(raw: str) -> None:
    assert "Traceback" not in raw and 'File "' not in raw and 'File \\"' not in raw, raw[:2000]


# --- The desk under test -----------------------------------------------------------------------


class Rows(dict):
    def __repr__(self) -> str:  # short, in hypothesis's reports
        return "Rows(...)"


@pytest.fixture
async def rows(desk, team) -> dict:
    """Sessions, escalations (one claimed) and users to aim at; tokens of each role."""
    acme = team.acme
    session = await make_session(desk, acme["alex"], "Fuzzed session")
    escalation = await make_escalation(desk, acme["alex"], "Fuzzed escalation")
    claimed = await make_escalation(desk, acme["alex"], "Fuzzed claim")
    assert isinstance(await claims.claim_handoff(desk, acme["sam"].viewer, claimed.id), Handoff)
    return Rows(
        {
            "session": str(session.id),
            "handoff": str(escalation.id),
            "claimed": str(claimed.id),
            "user": acme["kim"].id,
            "tokens": [acme["dana"].token, acme["alex"].token, acme["vic"].token, None, "x.y.z"],
            "admin": acme["dana"].token,
            "email": acme["kim"].user.email,
        }
    )


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


# --- (a) Malformed documents -------------------------------------------------------------------

PLACEHOLDERS = {"session": "<session>", "handoff": "<handoff>", "user": "<user>"}


def _literal(coordinate: str, path: tuple[str, ...], type_) -> str:
    """A GraphQL literal for a required argument (ids as placeholders)."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return f"[{_literal(coordinate, path, inner.of_type)}]"
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    if isinstance(inner, GraphQLInputObjectType):
        fields = [
            f"{name}: {_literal(coordinate, (*path, name), f.type)}"
            for name, f in inner.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        ]
        return "{" + ", ".join(fields) + "}"
    if inner.name == "ID":
        return json.dumps(PLACEHOLDERS[_id_kind(coordinate, path)])
    return {"Int": "5", "Float": "1.5", "Boolean": "true"}.get(inner.name, '"fuzz text"')


def _corpus() -> list[str]:
    """A real document for each query and mutation of the schema, and a few written out."""
    documents = []
    for kind in ("Query", "Mutation"):
        for name, field in ROOTS[kind].fields.items():
            arguments = ", ".join(
                f"{arg}: {_literal(f'{kind}.{name}', (arg,), a.type)}"
                for arg, a in field.args.items()
                if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
            )
            call = f"{name}({arguments})" if arguments else name
            documents.append(f"{kind.lower()} {{ {call} {selection(field.type, 1)} }}")
    documents += [
        "query Q($f: Int = 3, $s: QueueStatus = ALL) { a: handoffQueue(first: $f, status: $s) "
        "{ edges { cursor node { ...H } } pageInfo { endCursor hasNextPage } } } "
        "fragment H on Handoff { id unread claimedBy @include(if: true) { name } }",
        "{ __schema { queryType { name } types { name fields { name } } } }",
        '{ __type(name: "Handoff") { fields { name type { name kind ofType { name } } } } }',
        "subscription { handoffCreated(after: 0) { seq handoff { id } } }",
    ]
    return documents


CORPUS = _corpus()
TOKEN = re.compile(
    r'"""[\s\S]*?"""|"(?:\\.|[^"\\])*"|\.\.\.|[_A-Za-z][_0-9A-Za-z]*'
    r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\S"
)
SDL = (Path(__file__).parent.parent / "schema.graphql").read_text()
VOCABULARY = [
    *sorted(set(TOKEN.findall(SDL))),
    "9" * 400,
    "-99999999999999999999",
    "1e999",
    "-0",
    "0x1F",
    "NaN",
    "$first",
    "$undefined",
    "@skip(if: true)",
    "@include(if: $x)",
    "@deprecated",
    "...",
    "fragment",
    "on",
    "__typename",
    "__schema",
    "query",
    "mutation",
    "subscription",
    "# a comment",
    '"\\u0000"',
    '"\\ud800"',
    '"\\uDFFF\\uD800"',
    '"""block \\""" string"""',
    '"' + "x" * 5000 + '"',
    "\x00",
    "\ufeff",
    "null",
    "true",
    "[",
    "]",
    "{",
    "}",
]


@st.composite
def mutated_documents(draw) -> str:
    """A real document with tokens deleted, duplicated, swapped, inserted or replaced."""
    tokens = TOKEN.findall(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            tokens = ["{"]
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if edit == "delete":
            del tokens[i : i + draw(st.integers(1, 4))]
        elif edit == "duplicate":
            tokens[i:i] = tokens[i : i + draw(st.integers(1, 8))]
        elif edit == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif edit == "insert":
            tokens.insert(i, draw(st.sampled_from(VOCABULARY)))
        else:
            tokens[i] = draw(st.sampled_from(VOCABULARY))
    return " ".join(tokens)


def _nested(n: int, kind: str) -> str:
    if kind == "selections":
        return "{ me " + "{ id " * n + "}" * (n + 1)
    if kind == "lists":
        return "{ handoffQueue(first: " + "[" * n + "1" + "]" * n + ") { totalCount } }"
    if kind == "objects":
        value = "{a: " * n + "1" + "}" * n
        return f"mutation {{ startSession(input: {value}) {{ __typename }} }}"
    if kind == "fragments":
        spreads = " ".join(f"fragment F{k} on User {{ ...F{k + 1} }}" for k in range(n))
        return f"{{ me {{ ...F0 }} }} {spreads} fragment F{n} on User {{ id }}"
    return "{ " + " ".join(f"a{k}: me {{ id }}" for k in range(n)) + " }"  # aliases


def _number(value) -> str:
    return (
        f"{{ handoffQueue(first: {value}) {{ totalCount }} mySessions(first: {value}) {{ id }} }}"
    )


documents = st.one_of(
    mutated_documents(),
    st.text(st.characters(codec=None), max_size=300),  # any unicode, surrogates included
    st.builds(
        _nested,
        st.integers(1, 3000),
        st.sampled_from(["selections", "lists", "objects", "fragments", "aliases"]),
    ),
    st.builds(
        _number,
        st.one_of(
            st.integers(-(2**80), 2**80),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(["1e309", "-1e309", "0.0", "1.0", "01", "9" * 1000]),
        ),
    ),
)


@fuzzing(200)
@given(
    document=documents,
    how=st.sampled_from(["post", "get", "post-with-name"]),
    who=st.integers(0, 4),
)
async def test_a_malformed_document_gets_a_clean_answer(http, rows, document, how, who):
    document = document.replace("<session>", rows["session"]).replace("<handoff>", rows["handoff"])
    document = document.replace("<user>", rows["user"])
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


# --- (b) Random variables for real mutations ---------------------------------------------------

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
        "mutation($s: ID!) { resolveSession(sessionId: $s) { __typename } }",
        {"s": "<session>"},
    ),
    "claimHandoff": (
        "mutation($h: ID!) { claimHandoff(handoffId: $h) { __typename } }",
        {"h": "<handoff>"},
    ),
    "releaseHandoff": (
        "mutation($h: ID!) { releaseHandoff(handoffId: $h) { __typename } }",
        {"h": "<claimed>"},
    ),
    "markHandoffSeen": (
        "mutation($h: ID!) { markHandoffSeen(handoffId: $h) { __typename } }",
        {"h": "<handoff>"},
    ),
    "setUserRole": (
        "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { __typename } }",
        {"u": "<user>", "r": "ENGINEER"},
    ),
    "deactivateUser": (
        "mutation($u: ID!) { deactivateUser(userId: $u) { __typename } }",
        {"u": "<user>"},
    ),
    "addUser": (
        "mutation($i: AddUserInput!) { addUser(input: $i) { __typename } }",
        {"i": {"name": "New", "email": "new@acme.test", "role": "VIEWER", "password": "long-1-pw"}},
    ),
    "login": (
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }",
        {"e": "<email>", "p": "wrong-password-1"},
    ),
}

odd_text = st.one_of(
    st.text(st.characters(codec=None), max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "🙂" * 3, "null", "0", "<session>"]),
    st.integers(0, 60_000).map(lambda n: "x" * n),
)
junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),  # NaN and infinities included: they travel as JSON's NaN/Infinity
        odd_text,
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


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


# --- (c) Random websocket frames against a real server -----------------------------------------

LEGACY_WS = "graphql-ws"
CLOSE_CODES = {1000, 1002, 1003, 1007, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429}
MESSAGE_TYPES = {"connection_ack", "next", "error", "complete", "pong", "ping", "data", "ka"}
SUBSCRIPTION = "subscription { handoffCreated(after: 0) { seq handoff { id } } }"


def _message(kind, op_id, payload, keep: list[bool]) -> str:
    message = {"type": kind, "id": op_id, "payload": payload}
    return json.dumps({k: v for (k, v), kept in zip(message.items(), keep, strict=True) if kept})


payloads = st.one_of(
    junk,
    st.fixed_dictionaries(
        {"query": st.one_of(st.sampled_from([SUBSCRIPTION, *CORPUS]), junk)},
        optional={"variables": junk, "operationName": junk, "extensions": junk},
    ),
    st.fixed_dictionaries({"Authorization": junk | st.just("Bearer <token>")}),
)
ids = st.one_of(st.text(st.characters(codec=None), max_size=300), junk)
short_ids = st.sampled_from(["1", "2", "a"])  # reused: duplicates and unknown ids
operation = st.fixed_dictionaries(
    {"query": st.one_of(st.just(SUBSCRIPTION), st.sampled_from(CORPUS), mutated_documents())},
    optional={"variables": st.dictionaries(st.sampled_from(["after", "id", "x"]), junk)},
)
well_formed = st.one_of(
    st.just({"type": "ping"}),
    st.just({"type": "pong"}),
    st.just({"type": "connection_init", "payload": {"Authorization": "Bearer <token>"}}),
    st.just({"type": "connection_terminate"}),
    st.builds(lambda i: {"type": "complete", "id": i}, short_ids),
    st.builds(lambda i: {"type": "stop", "id": i}, short_ids),
    st.builds(lambda i, p: {"type": "subscribe", "id": i, "payload": p}, short_ids, operation),
    st.builds(lambda i, p: {"type": "start", "id": i, "payload": p}, short_ids, operation),
)
malformed = st.one_of(
    st.binary(max_size=64),
    st.text(st.characters(codec=None), max_size=64),
    junk.map(json.dumps),
    st.builds(
        _message,
        st.one_of(
            st.sampled_from(
                [
                    *("connection_init", "ping", "pong", "subscribe", "complete", "start"),
                    *("stop", "connection_terminate", "next", "error", "ka", ""),
                ]
            ),
            st.text(st.characters(codec=None), max_size=200),
            junk,
        ),
        ids,
        payloads,
        st.lists(st.booleans(), min_size=3, max_size=3),
    ),
)
over_the_limit = st.sampled_from(
    [
        "x" * (WS_MAX_FRAME_BYTES + 1),
        json.dumps({"type": "ping", "payload": {"pad": "x" * WS_MAX_FRAME_BYTES}}),
    ]
)
frames = st.one_of(well_formed.map(json.dumps), malformed, well_formed.map(json.dumps))
# Now and then (hypothesis favours the ends of a range) a frame over the limit comes last.
frame_lists = st.tuples(
    st.lists(frames, min_size=1, max_size=3), st.integers(0, 19), over_the_limit
).map(lambda t: [*t[0], t[2]] if t[1] == 10 else t[0])


def certainly_invalid(frame) -> bool:
    """Whether graphql-transport-ws must refuse the frame, whatever came before it."""
    if isinstance(frame, bytes):
        return True
    try:
        message = json.loads(frame)
    except ValueError:
        return True
    kind = message.get("type") if isinstance(message, dict) else None
    return kind not in ("connection_init", "ping", "pong", "subscribe", "complete")


class Frames(GraphQLSocket):
    async def open(self) -> None:
        self._ws = await websockets.connect(
            self.url, subprotocols=[self.protocol], max_size=None, open_timeout=10
        )

    async def send_raw(self, frame) -> None:
        try:
            await self._ws.send(frame)
        except UnicodeEncodeError:  # a lone surrogate: sent as the invalid UTF-8 it makes
            await self._ws.send(frame.encode("utf-8", "surrogatepass"), text=True)

    async def barrier(self, messages: list[dict]) -> None:
        """Adds everything the server sends before it answers a probe sent now (in order)."""
        # An operation that fails validation is answered with an error at once (both protocols).
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        probe = {"query": "subscription { noSuchField }"}
        await self._send({"type": kind, "id": "zz-probe", "payload": probe})
        done = {"type": "error", "id": "zz-probe"}
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), 15)
            assert_no_traceback(raw)
            message = json.loads(raw)
            if {k: message.get(k) for k in done} == done:
                return
            messages.append(message)


def assert_clean_message(message: dict, protocol: str) -> None:
    assert isinstance(message, dict) and message.get("type") in MESSAGE_TYPES | {
        "connection_error"
    }, message
    payload = message.get("payload")
    if message["type"] == "error":
        assert_clean_errors(payload if protocol == TRANSPORT_WS else [payload], message)
    if message["type"] in ("next", "data") and payload.get("errors"):
        assert_clean_errors(payload["errors"], message)


async def _fuzz_connection(url: str, protocol: str, token: str, init: bool, sent: list) -> None:
    ws = Frames(url, protocol)
    await ws.open()
    received: list[dict] = []
    try:
        if init:
            await ws._send(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
        for frame in sent:
            if isinstance(frame, str):
                frame = frame.replace("<token>", token)
            await ws.send_raw(frame)
        await ws.barrier(received)
    except websockets.ConnectionClosed as closed:
        for message in received:
            assert_clean_message(message, protocol)
        code = closed.rcvd.code if closed.rcvd else None
        over = any(len(f) > WS_MAX_FRAME_BYTES for f in sent)
        event(f"{protocol}: closed with {code}" + (" (a frame over the limit)" if over else ""))
        legacy_refusal = (
            protocol == LEGACY_WS
            and code == 1011
            and any(m.get("type") == "connection_error" for m in received)
        )  # graphql-ws's own close after connection_error
        # A frame over the limit is refused with 1009 while the client may still be sending it:
        # the client may see the connection reset instead of the close frame.
        reset_while_sending = code is None and over
        assert code in CLOSE_CODES or legacy_refusal or reset_while_sending, (
            code,
            closed.rcvd and closed.rcvd.reason,
        )
        return
    finally:
        await ws.close()
    event(f"{protocol}: answered the probe")
    for message in received:
        assert_clean_message(message, protocol)
    if protocol == TRANSPORT_WS:
        assert not any(certainly_invalid(f) for f in sent), "an invalid frame was accepted"


async def _still_serving(url: str, token: str) -> None:
    async with GraphQLSocket(url) as ws:
        await ws.connect(token)
        await ws.subscribe(SUBSCRIPTION)
        assert (await ws.next_data())["handoffCreated"]["seq"] >= 1


@pytest.fixture
def server(serve):
    return serve()


@fuzzing(100)
@given(
    protocol=st.sampled_from([TRANSPORT_WS, TRANSPORT_WS, LEGACY_WS]),
    init=st.sampled_from([True, True, False]),
    sent=frame_lists,
)
async def test_random_websocket_frames_get_a_protocol_answer_and_the_server_stays_up(
    server, rows, protocol, init, sent
):
    await _fuzz_connection(server.url, protocol, rows["admin"], init, sent)
    assert server.process.poll() is None, "the server process died"
    await _still_serving(server.url, rows["admin"])
