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
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from graphql import get_named_type
from sqlmodel import select

from db.enums import Confidence, HandoffIntent, IntakeType, JobKind, MessageRole, Priority, Role
from db.models import Handoff, HandoffTimer, Notification
from resolvers import claims, handoffs, notes, sessions
from resolvers.assessments import AssessmentResult
from resolvers.desk import Desk, transaction
from resolvers.outcomes import Failure
from resolvers.timers import check_timer
from tests.api.test_tenancy import _everything_of
from tests.factories import Member, Tenant, assessment_of, make_tenant
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.tenancy_walk import (
    MARKER,
    ROOTS,
    AccountB,
    Call,
    calls,
    every_field,
)
from tests.waiting import wait_for
from tests.ws import Closed, GraphQLSocket
from workers.assessments import assessment_job
from workers.runner import Worker

pytestmark = pytest.mark.anyio


class MarkedAssessor:
    """Deterministic, and its assessment of a B escalation carries B's marker."""

    name = "marked"

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


class _Ahead:
    def __init__(self, minutes: float) -> None:
        self.by = timedelta(minutes=minutes)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


async def fire_timer(desk, handoff_id, *, minutes: float) -> None:
    """The escalation's timer checks it as if `minutes` had passed (what a timer worker does
    then), and only this one: its event is the one the walk expects."""
    later = Desk(settings=desk.settings, db=desk.db, clock=_Ahead(minutes))
    async with transaction(later) as tx:
        stmt = select(HandoffTimer.id).where(HandoffTimer.handoff_id == uuid.UUID(str(handoff_id)))
        await check_timer(tx, "", (await tx.session.exec(stmt)).one())


async def assessed(desk, handoff_id) -> bool:
    query = select(Handoff.assessment_status).where(Handoff.id == uuid.UUID(str(handoff_id)))
    async with desk.db.read() as db:
        return (await db.exec(query)).one() == "ready"


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
    note = await notes.add_note(desk, tenant["ben"].viewer, first.id, "Bsecret note: tried DNS")
    assert not isinstance(note, Failure), note
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
            "assessment": [
                str((await assessment_of(desk, h.id)).id) for h in (first, claimed, released)
            ],
            "notification": await _notifications_of(desk, tenant),
        },
        pending=[str(claimed.id), str(released.id)],
        worked_session=str(claimed_session.id),
    )


async def _notifications_of(desk, tenant: Tenant) -> list[str]:
    """B's users' in-app notifications (its escalations, claims): a few of them."""
    stmt = select(Notification.id).where(Notification.account_id == tenant.account.id)
    async with desk.db.read() as db:
        ids = [str(i) for i in (await db.exec(stmt.order_by(Notification.id).limit(3))).all()]
    assert ids, "B's escalations notified its seniors"
    return ids


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
    return settings.model_copy(update=dict(max_query_cost=1_000_000))


@pytest.fixture
async def accounts(desk):
    return await make_account_a(desk), await make_account_b(desk)


def _scrub(value, asked: set[str]):
    """The answer without the one thing it may show of B: the asked id, echoed by a NotFound."""
    if isinstance(value, list):
        return [_scrub(v, asked) for v in value]
    if isinstance(value, dict):
        not_found = str(value.get("__typename", "")).endswith("NotFound")
        return {
            k: "<asked id>" if not_found and isinstance(v, str) and v in asked else _scrub(v, asked)
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


async def _until(ws: GraphQLSocket, op_ids: set[str], received: dict) -> None:
    """Reads messages until each of `op_ids` has one."""
    while not op_ids <= {k for k, v in received.items() if v}:
        message = await ws.receive(15)
        received.setdefault(message.get("id"), []).append(message)


ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  engineerNotes: "stuck"}) { __typename ... on CreateHandoffSuccess { handoff { id } } } }"""


CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"


RELEASE = "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }"


WITNESS = """subscription { %s { seq handoff { id } } }"""


WITNESS_MESSAGES = """subscription($s: ID!) { sessionMessages(sessionId: $s) { content } }"""


SEND = """mutation($s: ID!, $c: String!) { addSessionMessage(input: {sessionId: $s, role: ENGINEER,
  content: $c}) { __typename } }"""


NOTE = """mutation($h: ID!) { addHandoffNote(input: {handoffId: $h, body: "Bsecret live note"}) {
  __typename } }"""


def _per_user(name: str) -> bool:
    """A subscription of the caller's own (`myUnreadCount`, and presence: `handoffViewers`,
    `accountViewers`): its payload comes from no account event (no `seq`), and names handoffs
    by `handoffId`."""
    payload = get_named_type(ROOTS["Subscription"].fields[name].type)
    return "seq" not in payload.fields


def _handoff_ids(value) -> set:
    """Every `handoffId` an answer names, however deep."""
    if isinstance(value, list):
        return set().union(*(_handoff_ids(v) for v in value))
    if isinstance(value, dict):
        named = {value["handoffId"]} if "handoffId" in value else set()
        return named.union(*(_handoff_ids(v) for v in value.values()))
    return set()


VIEWING = "subscription($h: ID!) { handoffViewers(handoffId: $h) { viewers { name } } }"
ACCOUNT_VIEWERS = """subscription { accountViewers { snapshot handoffs { handoffId
  viewers { name } } } }"""


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
        team_wide = {name for name in subscriptions if not _per_user(name)}
        for name in team_wide:
            await witness.subscribe(WITNESS % name)
        # ...and the conversation of the session Ben works, which A's callers named too.
        await witness.subscribe(WITNESS_MESSAGES, {"s": b.worked_session})
        # Each connection has handled its subscribe messages (and answered any at once).
        early = {who: await ws.barrier() for who, ws in sockets.items()}
        assert await witness.barrier() == []
        # Presence in B: Ben has B's first escalation open while A's callers listen, and B's
        # admin hears it on the queue's presence (A's callers, refused, are never among them).
        looking = await stack.enter_async_context(GraphQLSocket(server.url))
        await looking.connect(b.tenant["ben"].token)
        presence_witness = await stack.enter_async_context(GraphQLSocket(server.url))
        await presence_witness.connect(b.tenant["bea"].token)
        await presence_witness.subscribe(ACCOUNT_VIEWERS)
        assert (await presence_witness.next_data())["accountViewers"]["handoffs"] == []
        viewed = b.ids["handoff"][1]  # B's first escalation (the park is [0])
        await looking.subscribe(VIEWING, {"h": viewed})
        assert (await looking.next_data())["handoffViewers"]["viewers"] == []
        heard = (await presence_witness.next_data())["accountViewers"]["handoffs"]
        assert heard == [{"handoffId": viewed, "viewers": [{"name": "Ben Bsecretsenior"}]}]

        # Changes in B: a new escalation, claimed and released, and assessments landing.
        bo, ben = b.tenant["bo"], b.tenant["ben"]
        fresh = await _session(desk, bo, "live")
        new_id = (await http.data(ESCALATE, {"s": str(fresh.id)}, bo.token))["createHandoff"]
        new_id = new_id["handoff"]["id"]
        claimed = await http.data(CLAIM, {"h": new_id}, ben.token)
        released = await http.data(RELEASE, {"h": new_id}, ben.token)
        assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess", claimed
        assert released["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess", released
        # A message in each of B's open sessions (A's callers named them all), and a note.
        for session_id, worker in ((b.worked_session, ben), (b.ids["session"][0], bo)):
            sent = await http.data(SEND, {"s": session_id, "c": "Bsecret live turn"}, worker.token)
            assert sent["addSessionMessage"]["__typename"] == "AddSessionMessageSuccess", sent
        noted = await http.data(NOTE, {"h": new_id}, ben.token)
        assert noted["addHandoffNote"]["__typename"] == "AddHandoffNoteSuccess", noted
        await fire_timer(desk, new_id, minutes=61)  # back in the queue an hour: overdue
        async with assessing(desk):
            for pending in [*b.pending, new_id]:
                await wait_for(lambda p=pending: assessed(desk, p), "B assessed")
            # The server has B's events: its witness got them all (created; claimed and released,
            # each on handoffClaimChanged, its deprecated alias handoffClaimed, and handoffUpdated;
            # the note on handoffUpdated; overdue; the three assessments, on assessmentSettled and
            # on its alias assessmentReady; Ben's message), in whatever order its subscriptions
            # interleave them.
            witnessed = [await witness.next_data(15) for _ in range(16)]
            assert {next(iter(d)) for d in witnessed} == team_wide | {"sessionMessages"}, witnessed

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
            await fire_timer(desk, sentinel, minutes=31)  # Ada idle on it: nudged

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
            # B's presence heard nothing more: nobody of A was ever counted viewing B's.
            assert await presence_witness.barrier() == []
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
    if _per_user(re.match(r"\w+\.(\w+)", call.where)[1]):
        # A first answer at once (the caller's count; who views what in A: nobody), then only
        # what A's sentinel moved.
        named = _handoff_ids(handoffs_)
        if not handoffs_ or not named <= {None, sentinel}:
            problems.append(f"{where} received {messages}, not only A's own and sentinel")
        return problems
    ids = [next(iter(d.values()))["handoff"]["id"] for d in handoffs_ if d]
    if ids[:1] != [sentinel] or set(ids) != {sentinel}:
        problems.append(f"{where} received {messages}, not only A's sentinel {sentinel}")
    return problems
