"""Tenant walls, walked from the schema itself: every query, mutation and subscription, called by
one account's admin, engineer and viewer with another account's ids, reads, changes and delivers
nothing of that account.

The walk is generated: a field added to the schema is walked without a change here. An ID
argument added to the schema needs one entry in ID_KINDS (which kind of row its id names); until
it has one, `test_every_id_argument_says_which_rows_it_names` fails and says so.

The other account ("B") gives every text a marker, so its rows are recognised in any answer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from sqlmodel import select

from db.enums import Confidence, HandoffIntent, IntakeType, JobKind, MessageRole, Priority, Role
from db.models import Handoff
from resolvers import claims, handoffs, sessions
from resolvers.assessments import AssessmentResult
from schema.schema import schema as desk_schema
from tests.factories import Member, Tenant, make_tenant
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.test_tenancy import _everything_of
from tests.waiting import wait_for
from tests.ws import Closed, GraphQLSocket
from workers.assessments import assessment_job
from workers.runner import Worker

pytestmark = pytest.mark.anyio

SCHEMA = desk_schema._schema
ROOTS = {
    "Query": SCHEMA.query_type,
    "Mutation": SCHEMA.mutation_type,
    "Subscription": SCHEMA.subscription_type,
}
MARKER = "bsecret"  # in every text of account B, its names and emails included

# Which kind of row an ID argument names: by argument (or input field) name, or, for a name that
# says nothing (`id`), by its coordinate. A new ID argument needs an entry here.
ID_KINDS = {
    "sessionId": "session",
    "handoffId": "handoff",
    "userId": "user",
    "accountId": "account",
    "Query.session(id)": "session",
    "Query.handoff(id)": "handoff",
}

# Values for arguments that are not ids, where a generated one would say nothing: login is tried
# with B's admin's email (and a wrong password).
OVERRIDES = {"Mutation.login(email)": lambda b: b.admin_email}

# A subscription's replay argument: walked live (null) and replaying the whole log (0).
REPLAY = ("after", [None, 0])

NESTING = 2  # object levels below the field's own type in generated selections


# --- Account B: rich, marked rows --------------------------------------------------------------


class MarkedAssessor:
    """Deterministic, and its assessment of a B escalation carries B's marker."""

    async def assess(self, request) -> AssessmentResult:
        mark = MARKER if MARKER in request.problem_summary.lower() else "plain"
        return AssessmentResult(
            summary=f"{mark} summary",
            likely_cause=f"{mark} cause",
            suggested_steps=[f"{mark} step"],
            confidence=Confidence.LOW,
        )


@contextlib.asynccontextmanager
async def assessing(desk):
    """Assessments land while inside (the test settings run no worker of their own)."""
    worker = Worker(
        desk,
        {JobKind.ASSESS: (assessment_job(MarkedAssessor(), 10.0), 3)},
        lease_seconds=30.0,
        concurrency=1,
        poll_seconds=0.05,
    )
    worker.start()
    try:
        yield
    finally:
        await worker.stop(5.0)


async def assessed(desk, handoff_id) -> bool:
    query = select(Handoff.assessment_status).where(Handoff.id == uuid.UUID(str(handoff_id)))
    async with desk.db.read() as db:
        return (await db.exec(query)).one() == "ready"


@dataclass
class AccountB:
    tenant: Tenant
    ids: dict[str, list[str]] = field(default_factory=dict)  # kind -> B's ids of that kind
    pending: list[str] = field(default_factory=list)  # escalations not assessed yet

    @property
    def admin_email(self) -> str:
        return self.tenant["bea"].user.email

    def secrets(self) -> list[str]:
        ids = [i for values in self.ids.values() for i in values] + [str(self.tenant.account.id)]
        return [MARKER] + [i.lower() for i in ids] + [uuid.UUID(i).hex for i in ids]


async def _session(desk, owner: Member, what: str, turns: int = 2):
    session = await sessions.start_session(
        desk,
        owner.viewer,
        intake_type=IntakeType.EMAIL,
        intake_content=f"Bsecret intake: {what}",
        problem_summary=f"Bsecret problem: {what}",
    )
    for n in range(turns):
        await sessions.add_message(
            desk,
            owner.viewer,
            session.id,
            role=MessageRole.CUSTOMER if n % 2 == 0 else MessageRole.ASSISTANT,
            content=f"Bsecret turn {n + 1} of {what}",
            confidence_tier=Confidence.MEDIUM,
        )
    return session


async def _hand_off(desk, owner: Member, session, intent=HandoffIntent.ESCALATE) -> Handoff:
    handoff = await handoffs.create_handoff(
        desk,
        owner.viewer,
        session.id,
        intent=intent,
        engineer_notes=f"Bsecret notes, {intent}",
        priority=Priority.HIGH,
    )
    assert isinstance(handoff, Handoff), handoff
    return handoff


async def make_account_b(desk) -> AccountB:
    tenant = await make_tenant(
        desk,
        "Bsecretcorp",
        [
            ("Bea Bsecretadmin", Role.ADMIN),
            ("Ben Bsecretsenior", Role.ENGINEER),
            ("Bo Bsecretjunior", Role.ENGINEER),
            ("Bix Bsecretviewer", Role.VIEWER),
        ],
    )
    bo, ben = tenant["bo"], tenant["ben"]
    active = await _session(desk, bo, "active")
    parked_session = await _session(desk, bo, "parked")
    parked = await _hand_off(desk, bo, parked_session, HandoffIntent.PARK)
    first_session = await _session(desk, bo, "assessed")
    first = await _hand_off(desk, bo, first_session)
    async with assessing(desk):
        await wait_for(lambda: assessed(desk, first.id), "B's first assessment to be ready")
    claimed_session = await _session(desk, bo, "claimed")
    claimed = await _hand_off(desk, bo, claimed_session)
    assert isinstance(await claims.claim_handoff(desk, ben.viewer, claimed.id), Handoff)
    released_session = await _session(desk, bo, "released")
    released = await _hand_off(desk, bo, released_session)
    assert isinstance(await claims.claim_handoff(desk, ben.viewer, released.id), Handoff)
    assert isinstance(await claims.release_handoff(desk, ben.viewer, released.id), Handoff)
    resolved = await _session(desk, bo, "resolved")
    await sessions.resolve_session(desk, bo.viewer, resolved.id)
    sessions_ = [active, parked_session, first_session, claimed_session, released_session]
    return AccountB(
        tenant=tenant,
        ids={
            "session": [str(s.id) for s in [*sessions_, resolved]],
            "handoff": [str(h.id) for h in (parked, first, claimed, released)],
            "user": [m.id for m in tenant.members.values()],
            "account": [str(tenant.account.id)],
        },
        pending=[str(claimed.id), str(released.id)],
    )


async def make_account_a(desk) -> Tenant:
    return await make_tenant(
        desk,
        "Walkers",
        [("Ada Admin", Role.ADMIN), ("Eli Engineer", Role.ENGINEER), ("Val Viewer", Role.VIEWER)],
    )


CALLERS = ["ada", "eli", "val"]  # A's admin, engineer and viewer


@pytest.fixture
def settings(settings):
    """The walk asks for every field at once, lists at their default sizes (mySessions costs
    about 120,000), which no client does: a cost limit that lets it through."""
    return replace(settings, max_query_cost=1_000_000)


@pytest.fixture
async def accounts(desk):
    return await make_account_a(desk), await make_account_b(desk)


# --- Operations generated from the schema ------------------------------------------------------


class MissingIdKind(Exception):
    pass


def _id_kind(coordinate: str, path: tuple[str, ...]) -> str:
    """The kind of row an ID argument names (`path`: the argument, then input fields)."""
    key = f"{coordinate}({'.'.join(path)})"
    kind = ID_KINDS.get(key) or ID_KINDS.get(path[-1])
    if kind is None:
        raise MissingIdKind(
            f"{key} takes an ID: add {path[-1]!r} (or {key!r}) to ID_KINDS in "
            f"tests/test_tenancy_walk.py, saying which rows its id names"
        )
    return kind


@dataclass(frozen=True)
class IdSlot:
    path: tuple[str, ...]
    kind: str
    required: bool


def _required(type_, default) -> bool:
    return isinstance(type_, GraphQLNonNull) and default is Undefined


def id_slots(coordinate: str, arguments: dict, prefix: tuple[str, ...] = ()) -> list[IdSlot]:
    """Every ID among the arguments, inside input objects too."""
    slots = []
    for name, argument in arguments.items():
        path = (*prefix, name)
        named = get_named_type(argument.type)
        required = _required(argument.type, argument.default_value)
        if named.name == "ID":
            slots.append(IdSlot(path, _id_kind(coordinate, path), required))
        elif isinstance(named, GraphQLInputObjectType):
            slots += [
                IdSlot(s.path, s.kind, s.required and required)
                for s in id_slots(coordinate, named.fields, path)
            ]
    return slots


def every_field() -> list[tuple[str, str]]:
    return [(kind, name) for kind, root in ROOTS.items() for name in root.fields]


def selection(type_, depth: int) -> str:
    """All scalar fields, objects `depth` levels deeper, `__typename` and a fragment per member."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        # Members' fields of one name but different types may not share a response name.
        types: dict[str, set[str]] = {}
        for member in named.types:
            for name, child in member.fields.items():
                types.setdefault(name, set()).add(str(child.type))
        clashing = {name for name, seen in types.items() if len(seen) > 1}
        members = " ".join(f"... on {m.name} {_fields(m, depth, clashing)}" for m in named.types)
        return f"{{ __typename {members} }}"
    return _fields(named, depth)


def _fields(object_type: GraphQLObjectType, depth: int, alias: set[str] = frozenset()) -> str:
    parts = ["__typename"]
    for name, child in object_type.fields.items():
        if any(_required(a.type, a.default_value) for a in child.args.values()):
            continue
        asked = f"{name}_{object_type.name}: {name}" if name in alias else name
        if is_leaf_type(get_named_type(child.type)):
            parts.append(asked)
        elif depth > 0:
            parts.append(f"{asked} {selection(child.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


_serial = itertools.count()
OMIT = object()


def generated(coordinate: str, path: tuple[str, ...], type_, b: AccountB):
    """A valid value for an argument that is not an id."""
    override = OVERRIDES.get(f"{coordinate}({'.'.join(path)})")
    if override is not None:
        return override(b)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return [generated(coordinate, path, inner.of_type, b)]
    if isinstance(inner, GraphQLEnumType):
        return list(inner.values)[-1]
    if isinstance(inner, GraphQLInputObjectType):
        return {
            name: generated(coordinate, (*path, name), f.type, b)
            for name, f in inner.fields.items()
            if _required(f.type, f.default_value)
        }
    name = path[-1]
    values = {
        "String": (
            f"walker{next(_serial)}@walkers.test"
            if name == "email"
            else "walk-password-42"
            if name == "password"
            else f"Walk {name}"
        ),
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "DateTime": datetime.now(UTC).isoformat(),
        "ID": str(uuid.uuid4()),  # replaced by one of B's ids (see `calls`)
    }
    assert inner.name in values, f"{coordinate}({name}): say how to make a {inner.name} value"
    return values[inner.name]


def _set(value: dict, path: tuple[str, ...], new) -> None:
    for step in path[:-1]:
        value = value.setdefault(step, {})
    if new is OMIT:
        value.pop(path[-1], None)
    else:
        value[path[-1]] = new


@dataclass
class Call:
    where: str  # "Mutation.claimHandoff(handoffId=…)"
    document: str
    variables: dict
    asked: set[str]  # B's ids in the request


def calls(kind: str, name: str, b: AccountB) -> list[Call]:
    """Every call of the field: each of B's ids of the right kind in each ID argument (optional
    ones also left out), replay and live for subscriptions; other arguments generated."""
    root = ROOTS[kind]
    field_ = root.fields[name]
    coordinate = f"{kind}.{name}"
    slots = id_slots(coordinate, field_.args)
    choices = [b.ids[s.kind] + ([] if s.required else [OMIT]) for s in slots]
    replay = REPLAY[1] if kind == "Subscription" and REPLAY[0] in field_.args else [OMIT]
    result = []
    for picked in itertools.product(*choices):
        for after in replay:
            values = {
                arg: generated(coordinate, (arg,), a.type, b)
                for arg, a in field_.args.items()
                if _required(a.type, a.default_value)
            }
            for slot, value in zip(slots, picked, strict=True):
                _set(values, slot.path, value)
            if after is not OMIT:
                values[REPLAY[0]] = after
            declared = ", ".join(f"${arg}: {field_.args[arg].type}" for arg in values)
            passed = ", ".join(f"{arg}: ${arg}" for arg in values)
            head = f"{kind.lower()}({declared})" if values else kind.lower()
            call = f"{name}({passed})" if values else name
            document = f"{head} {{ {call} {selection(field_.type, NESTING)} }}"
            asked = {v for v in picked if v is not OMIT}
            result.append(Call(f"{coordinate}{json.dumps(values)}", document, values, asked))
    return result


# --- What an answer may show -------------------------------------------------------------------


def _scrub(value, asked: set[str]):
    """The answer without the one thing it may show of B: the asked id, echoed by a NotFound."""
    if isinstance(value, list):
        return [_scrub(v, asked) for v in value]
    if isinstance(value, dict):
        not_found = str(value.get("__typename", "")).endswith("NotFound")
        return {
            k: "<asked id>" if not_found and v in asked else _scrub(v, asked)
            for k, v in value.items()
        }
    return value


def leaked(answer, b: AccountB, asked: set[str]) -> list[str]:
    text = json.dumps(_scrub(answer, asked), ensure_ascii=False).lower()
    return [secret for secret in b.secrets() if secret in text]


def trouble(answer: dict, b: AccountB, asked: set[str]) -> str | None:
    """What is wrong with an answer to A's caller, or None."""
    found = leaked(answer, b, asked)
    if found:
        return f"shows B's {found}"
    codes = {(e.get("extensions") or {}).get("code") for e in answer.get("errors") or []}
    if codes - {"FORBIDDEN"}:
        return "answers with an error: the walk did not reach the resolver"
    return None


# --- Every id argument has a kind, and the table is not stale ----------------------------------


def test_every_id_argument_says_which_rows_it_names():
    missing, used = [], set()
    for kind, name in every_field():
        root = ROOTS[kind]
        try:
            for slot in id_slots(f"{kind}.{name}", root.fields[name].args):
                key = f"{kind}.{name}({'.'.join(slot.path)})"
                used.add(key if key in ID_KINDS else slot.path[-1])
        except MissingIdKind as error:
            missing.append(str(error))
    assert not missing, "\n".join(missing)
    assert set(ID_KINDS) == used, f"ID_KINDS entries no argument uses: {set(ID_KINDS) - used}"
    assert set(ID_KINDS.values()) <= {"session", "handoff", "user", "account"}


def test_an_unknown_id_argument_fails_the_walk_with_what_to_do():
    with pytest.raises(MissingIdKind, match=r"add 'ticketId'.*ID_KINDS"):
        _id_kind("Mutation.closeTicket", ("input", "ticketId"))


def test_the_generated_calls_ask_for_bs_rows_through_every_id_argument():
    b = AccountB(tenant=None, ids={"session": ["s1", "s2"], "handoff": ["h1"], "user": ["u1"]})
    claim = calls("Mutation", "claimHandoff", b)
    assert [c.variables for c in claim] == [{"handoffId": "h1"}]
    assert "... on AlreadyClaimed" in claim[0].document and "__typename" in claim[0].document
    message = calls("Mutation", "addSessionMessage", b)
    assert [c.variables["input"]["sessionId"] for c in message] == ["s1", "s2"]
    landed = calls("Subscription", "assessmentReady", b)
    assert [(c.variables.get("handoffId"), c.variables["after"]) for c in landed] == [
        ("h1", None),
        ("h1", 0),
        (None, None),
        (None, 0),
    ]


# --- Queries and mutations, over HTTP, on both databases ---------------------------------------


async def _walk(api, desk, a: Tenant, b: AccountB, kind: str, callers: list[str]) -> list[str]:
    """Every call of every field of `kind` by each caller: what went wrong, if anything."""
    before = await _everything_of(desk, b.tenant.account.id)
    problems = []
    for name in ROOTS[kind].fields:
        for call in calls(kind, name, b):
            for who in callers:
                answer = await api.post(call.document, call.variables, token=a[who].token)
                problem = trouble(answer, b, call.asked)
                if problem:
                    problems.append(f"{who}: {call.where} {problem}: {json.dumps(answer)[:600]}")
                if await _everything_of(desk, b.tenant.account.id) != before:
                    problems.append(f"{who}: {call.where} changed B's rows")
                    before = await _everything_of(desk, b.tenant.account.id)
    return problems


async def test_no_query_shows_another_accounts_rows(api, desk, accounts):
    a, b = accounts
    problems = await _walk(api, desk, a, b, "Query", CALLERS)
    assert not problems, "\n".join(problems)


async def test_no_mutation_shows_or_changes_another_accounts_rows(api, desk, accounts):
    a, b = accounts
    problems = await _walk(api, desk, a, b, "Mutation", CALLERS)
    assert not problems, "\n".join(problems)


async def test_the_same_queries_show_bs_rows_to_b(api, desk, accounts):
    """The walk would see a leak: B's own junior, asking the same, gets B's rows."""
    _, b = accounts
    for name in ROOTS["Query"].fields:
        for call in calls("Query", name, b):
            answer = await api.data(call.document, call.variables, token=b.tenant["bo"].token)
            assert MARKER in json.dumps(answer).lower() or leaked(answer, b, set()), (
                call.where,
                answer,
            )
            assert not call.asked or any(i in json.dumps(answer) for i in call.asked), answer


# --- Subscriptions, over websockets to a server (in the test's process), on both databases -----


async def _until(ws: GraphQLSocket, op_ids: set[str], received: dict) -> None:
    """Reads messages until each of `op_ids` has one."""
    while not op_ids <= {k for k, v in received.items() if v}:
        message = await ws.receive(15)
        received.setdefault(message.get("id"), []).append(message)


ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  engineerNotes: "stuck"}) { __typename ... on CreateHandoffSuccess { handoff { id } } } }"""
CLAIM = "mutation($h: ID!) { claimHandoff(handoffId: $h) { __typename } }"
RELEASE = "mutation($h: ID!) { releaseHandoff(handoffId: $h) { __typename } }"
WITNESS = """subscription { %s { seq handoff { id } } }"""


async def test_no_subscription_delivers_another_accounts_events(in_process, desk, accounts):
    a, b = accounts
    # Assessments land through the test's own worker (`assessing`), which rings no doorbell of
    # the server's: the server hears of them at its next poll of the log.
    server = await in_process(run_workers=False, event_poll_seconds=0.05)
    subscriptions = {name for kind, name in every_field() if kind == "Subscription"}
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(GraphQLClient(server.url))
        sockets: dict[str, GraphQLSocket] = {}
        walked: dict[str, list[tuple[str, Call]]] = {}
        for who in CALLERS:
            ws = sockets[who] = await stack.enter_async_context(GraphQLSocket(server.url))
            await ws.connect(a[who].token)
            walked[who] = []
            for name in sorted(subscriptions):
                for call in calls("Subscription", name, b):
                    walked[who].append((await ws.subscribe(call.document, call.variables), call))
        # B's own admin witnesses B's events, live.
        witness = await stack.enter_async_context(GraphQLSocket(server.url))
        await witness.connect(b.tenant["bea"].token)
        for name in subscriptions:
            await witness.subscribe(WITNESS % name)
        # Each connection has handled its subscribe messages (and answered any at once).
        early = {who: await ws.barrier() for who, ws in sockets.items()}
        assert await witness.barrier() == []

        # Changes in B: a new escalation, claimed and released, and assessments landing.
        bo, ben = b.tenant["bo"], b.tenant["ben"]
        fresh = await _session(desk, bo, "live")
        new_id = (await http.data(ESCALATE, {"s": str(fresh.id)}, bo.token))["createHandoff"]
        new_id = new_id["handoff"]["id"]
        claimed = await http.data(CLAIM, {"h": new_id}, ben.token)
        released = await http.data(RELEASE, {"h": new_id}, ben.token)
        assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess", claimed
        assert released["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess", released
        async with assessing(desk):
            for pending in [*b.pending, new_id]:
                await wait_for(lambda p=pending: assessed(desk, p), "B assessed")
            # The server has B's events: its witness got them all (created, claimed, released,
            # and the three assessments).
            witnessed = [await witness.next_data(15) for _ in range(6)]
            assert {next(iter(d)) for d in witnessed} == subscriptions, witnessed

            # The sentinel: A's own escalation, claimed, assessed.
            eli = a["eli"]
            own = await sessions.start_session(
                desk,
                eli.viewer,
                intake_type=IntakeType.CHAT,
                intake_content="Walker intake",
                problem_summary="Walker sentinel",
            )
            sentinel = (await http.data(ESCALATE, {"s": str(own.id)}, eli.token))["createHandoff"]
            sentinel = sentinel["handoff"]["id"]
            claimed = await http.data(CLAIM, {"h": sentinel}, a["ada"].token)
            assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess", claimed

            problems = []
            for who, ws in sockets.items():
                received: dict[str, list] = {}
                for message in early[who]:
                    received.setdefault(message.get("id"), []).append(message)
                unfiltered = {op for op, call in walked[who] if not call.asked}
                try:
                    await _until(ws, unfiltered, received)
                    for message in await ws.barrier():
                        received.setdefault(message.get("id"), []).append(message)
                except (Closed, TimeoutError) as error:
                    problems.append(f"{who}: {error!r}, having received {received}")
                    continue
                for op, call in walked[who]:
                    messages = received.pop(op, [])
                    problems += _subscription_trouble(who, call, messages, sentinel, b)
                if received:
                    problems.append(f"{who}: messages for no subscription: {received}")
    assert not problems, "\n".join(problems)


def _subscription_trouble(who, call: Call, messages: list, sentinel: str, b) -> list[str]:
    where = f"{who}: {call.where}"
    found = leaked(messages, b, call.asked)
    problems = [f"{where} delivered B's {found}"] if found else []
    if call.asked:  # filtered to B's handoff: nothing, or an error saying no
        if [m for m in messages if m["type"] == "next" and not m["payload"].get("errors")]:
            problems.append(f"{where} delivered events: {messages}")
        return problems
    handoffs_ = [m["payload"]["data"] for m in messages if m["type"] == "next"]
    ids = [next(iter(d.values()))["handoff"]["id"] for d in handoffs_ if d]
    if ids[:1] != [sentinel] or set(ids) != {sentinel}:
        problems.append(f"{where} received {messages}, not only A's sentinel {sentinel}")
    return problems
