"""Faults survived, against real `handoff-desk` processes: PostgreSQL restarted under load,
Redis restarted under subscribers, workers killed or frozen mid-job, and a graceful shutdown;
and, on the hub itself, PostgreSQL down while a subscription starts.

PostgreSQL and Redis are restarted only when they are the test's own (`tests/private_services.py`):
the shared services stay up for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select

from db.engine import Database, create_engine, unavailable
from db.enums import AssessmentStatus, EventKind, HandoffIntent, JobKind, JobState
from db.migrate import upgrade
from db.models import AccountEvent, Handoff, HandoffSeen, Job
from handoff_desk.live.broadcast import create_broadcast
from handoff_desk.live.hub import Hub
from handoff_desk.live.notifier import LiveNotifier
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from tests.api.test_hub import escalate
from tests.api.test_live import ASSESSED, CREATED
from tests.factories import make_escalation, make_session, make_team
from tests.fake_llm import GOOD_ANSWER, FakeChatCompletions
from tests.http import GraphQLClient
from tests.server import ServerProcess, stop_together, wait_ready
from tests.waiting import wait_for
from tests.ws import Closed, GraphQLSocket

pytestmark = pytest.mark.anyio

SECRET = secrets.token_urlsafe(48)  # made per run: servers refuse a placeholder

ESCALATE = """mutation($s: ID!) {
  createHandoff(input: {sessionId: $s, intent: ESCALATE, engineerNotes: "stuck"}) {
    __typename ... on CreateHandoffSuccess { handoff { id } } } }"""
SESSION_HANDOFFS = "query($s: ID!) { session(id: $s) { handoffs { id intent } } }"
CLAIM = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) {
  __typename
  ... on ClaimHandoffSuccess { handoff { claimedBy { id } } }
  ... on AlreadyClaimed { claimedBy { id } } } }"""
SEEN = "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { __typename } }"
HANDOFF = "query($h: ID!) { handoff(id: $h) { claimedBy { id } unread } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


# --- PostgreSQL restarted under load ---


class RetryingClient:
    """A client that retries while the desk answers SERVICE_UNAVAILABLE, and checks that every
    such answer is the documented one: 503, Retry-After, a retryable code, no internals."""

    def __init__(self, http: httpx.AsyncClient, accept: str | None) -> None:
        self.http = http
        self.accept = accept
        self.unavailable = 0

    async def data(self, query: str, variables: dict, token: str) -> dict:
        headers = {"authorization": f"Bearer {token}"}
        if self.accept:
            headers["accept"] = self.accept
        deadline = time.monotonic() + 40
        while True:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
            if not body.get("errors"):
                assert response.status_code == 200, response.text
                return body["data"]
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            assert "Internal error" not in response.text
            assert "Traceback" not in response.text and "asyncpg" not in response.text
            for error in body["errors"]:
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
                assert error["extensions"]["retryable"] is True, body
                assert "retry" in error["message"], body
            if self.accept == GRAPHQL_RESPONSE:
                assert "data" not in body  # nothing was produced: no `data` entry
            self.unavailable += 1
            if time.monotonic() > deadline:
                pytest.fail(f"the desk did not come back: {response.text}")
            await asyncio.sleep(0.1)


@pytest.fixture
def launch(tmp_path: Path):
    """Starts `handoff-desk serve` on a database of the test's choosing (ready=False: launched,
    not waited for); stops it after."""
    started: list[ServerProcess] = []

    def start(*, ready: bool = True, **env: str) -> ServerProcess:
        base = {"HANDOFF_TOKEN_SECRET": SECRET, "HANDOFF_RETRY_BASE_SECONDS": "0.2"}
        process = ServerProcess({**base, **env}, tmp_path / f"serve-{len(started)}.log")
        started.append(process)
        return process.start() if ready else process.launch()

    yield start
    stop_together(*started)


async def test_postgres_restarted_under_load_loses_and_doubles_nothing(private_postgres, launch):
    url = private_postgres.create_database()
    engine = create_engine(url)
    await upgrade(engine)  # as the server does when it starts: the team is made meanwhile
    await engine.dispose()
    # A short lease: a job whose worker lost the database mid-way is offered again soon.
    server = launch(ready=False, HANDOFF_DATABASE_URL=url, HANDOFF_JOB_LEASE_SECONDS="3")
    desk = Desk(settings=Settings(database_url=url, token_secret=SECRET), db=Database.from_url(url))
    try:
        team = await make_team(desk)
        alex, sam, kim = team.acme["alex"], team.acme["sam"], team.acme["kim"]
        sessions = [await make_session(desk, alex, f"Case {n:02d}") for n in range(12)]
    finally:
        await desk.db.dispose()  # the test's own pool must not see the restart
    server.wait_ready()

    escalated: dict[uuid.UUID, str] = {}  # session -> its handoff, as the desk answered
    winners: dict[str, str] = {}  # handoff -> who the desk said claimed it
    seen: set[tuple[str, str]] = set()  # (user, handoff) marks the desk confirmed
    done = 0
    todo = list(sessions)
    down = asyncio.Event()  # the rest of the load runs into the outage

    async def escalate(client: RetryingClient, session) -> str:
        data = await client.data(ESCALATE, {"s": str(session.id)}, alex.token)
        result = data["createHandoff"]
        if result["__typename"] == "CreateHandoffSuccess":
            return result["handoff"]["id"]
        # An attempt whose answer was lost committed after all: the session says so.
        assert result["__typename"] == "InvalidSessionState", result
        data = await client.data(SESSION_HANDOFFS, {"s": str(session.id)}, alex.token)
        (handoff,) = [h for h in data["session"]["handoffs"] if h["intent"] == "ESCALATE"]
        return handoff["id"]

    async def claim(client: RetryingClient, member, handoff_id: str) -> str:
        data = await client.data(CLAIM, {"h": handoff_id}, member.token)
        result = data["claimHandoff"]
        if result["__typename"] == "ClaimHandoffSuccess":
            return result["handoff"]["claimedBy"]["id"]
        assert result["__typename"] == "AlreadyClaimed", result
        return result["claimedBy"]["id"]

    async def work(client: RetryingClient) -> None:
        nonlocal done
        while todo:
            if done >= 3:
                await down.wait()
            session = todo.pop()
            handoff_id = await escalate(client, session)
            escalated[session.id] = handoff_id
            # Two seniors race for it: one wins, the other is told who did.
            said = set(
                await asyncio.gather(claim(client, sam, handoff_id), claim(client, kim, handoff_id))
            )
            assert len(said) == 1, f"two winners for {handoff_id}: {said}"
            (winner,) = said
            winners[handoff_id] = winner
            loser = kim if winner == sam.id else sam
            # A query (its caller read before execution, for the answer cache) sees the claim.
            data = await client.data(HANDOFF, {"h": handoff_id}, loser.token)
            assert data["handoff"] == {"claimedBy": {"id": winner}, "unread": True}  # not opened
            data = await client.data(SEEN, {"h": handoff_id}, loser.token)
            assert data["markHandoffSeen"]["__typename"] == "MarkHandoffSeenSuccess"
            seen.add((loser.id, handoff_id))
            done += 1

    async def outage(http: httpx.AsyncClient, clients: list[RetryingClient]) -> None:
        await wait_for(lambda: _true(done >= 2), "traffic before the outage")
        await asyncio.to_thread(private_postgres.stop)
        down.set()
        ready = await http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["database"].startswith("unavailable")
        # A websocket opened now is told to come back later (1013), not dropped.
        async with GraphQLSocket(server.url) as ws:
            with pytest.raises(Closed) as closed:
                await ws.connect(kim.token)
        assert (closed.value.code, closed.value.reason) == (
            1013,
            "database unavailable: reconnect shortly",
        )
        # Down until the load has met the outage a few times over.
        await wait_for(
            lambda: _true(sum(c.unavailable for c in clients) >= 6), "requests during the outage"
        )
        await asyncio.to_thread(private_postgres.start)

    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        GraphQLSocket(server.url) as live,
    ):
        await live.connect(sam.token)
        await live.subscribe(CREATED, {"after": 0})
        clients = [RetryingClient(http, accept) for accept in (None, GRAPHQL_RESPONSE, None)]
        await asyncio.gather(outage(http, clients), *(work(c) for c in clients))
        assert (await http.get("/readyz")).status_code == 200
        # A subscriber from before the outage hears of every escalation, once, in log order.
        created = [(await live.next_data())["handoffCreated"] for _ in sessions]
        assert {e["handoff"]["id"] for e in created} == set(escalated.values())
        assert [e["seq"] for e in created] == sorted({e["seq"] for e in created})
        with pytest.raises(TimeoutError):
            await live.receive(timeout=0.3)  # and nothing twice

    assert server.process.poll() is None, "the server should have survived without a restart"
    assert len(escalated) == len(sessions)

    desk = Desk(settings=Settings(database_url=url, token_secret=SECRET), db=Database.from_url(url))
    try:
        handoff_ids = {uuid.UUID(h) for h in escalated.values()}

        async def all_jobs_done():
            # Not the escalations' timers: each waits for its due time, minutes away.
            work = select(Job.state).where(Job.kind != JobKind.TIMER)
            async with desk.db.read() as db:
                states = (await db.exec(work)).all()
            return states and set(states) == {JobState.DONE}

        # The in-process worker survived the outage: every job, pending or cut short, is done.
        await wait_for(all_jobs_done, "every job to be done", timeout=30)
        async with desk.db.read() as db:
            handoffs = (await db.exec(select(Handoff))).all()
            events = (await db.exec(select(AccountEvent))).all()
            jobs = (await db.exec(select(Job))).all()
            marks = (await db.exec(select(HandoffSeen))).all()
    finally:
        await desk.db.dispose()

    # Every escalation exactly once, the one the desk answered with.
    assert Counter(h.session_id for h in handoffs) == Counter({s.id: 1 for s in sessions})
    assert {h.id for h in handoffs} == handoff_ids
    assert {h.intent for h in handoffs} == {HandoffIntent.ESCALATE}
    assert {h.session_id: str(h.id) for h in handoffs} == escalated
    # Every claim holds, with one winner and one CLAIMED event each.
    for handoff in handoffs:
        assert winners[str(handoff.id)] == str(handoff.claimed_by_id)
    claimed = Counter(e.handoff_id for e in events if e.kind == EventKind.CLAIMED)
    assert claimed == Counter({h: 1 for h in handoff_ids})
    escalations = Counter(e.handoff_id for e in events if e.kind == EventKind.ESCALATED)
    assert escalations == Counter({h: 1 for h in handoff_ids})
    # Every mark the desk confirmed is there.
    assert seen <= {(str(m.user_id), str(m.handoff_id)) for m in marks}
    # No job twice, and every assessment landed exactly once.
    assert Counter((j.kind, j.subject_id) for j in jobs).most_common(1)[0][1] == 1
    assert {j.subject_id for j in jobs if j.kind == JobKind.ASSESS} == handoff_ids
    assert {h.assessment_status for h in handoffs} == {AssessmentStatus.READY}
    landed = Counter(e.handoff_id for e in events if e.kind == EventKind.ASSESSMENT_READY)
    assert landed == Counter({h: 1 for h in handoff_ids})


async def _true(value: bool) -> bool:
    return value


# --- A subscription started during a database outage ---


async def test_a_subscription_that_fails_in_a_database_outage_leaves_no_listener_behind(
    private_postgres,
):
    url = private_postgres.create_database()
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    desk = Desk(settings=Settings(database_url=url, token_secret=SECRET), db=Database.from_url(url))
    broadcast = create_broadcast("memory://")
    await broadcast.connect()
    hub = Hub(desk, broadcast, poll_seconds=0.2)
    desk.notifier = LiveNotifier(hub)
    try:
        team = await make_team(desk)
        account = team.acme.account.id
        # (Its messages are events too: made now, the stream's first event is the escalation.)
        session = await make_session(desk, team.acme["alex"])
        await asyncio.to_thread(private_postgres.stop)

        # The hub starts listening on the account's channel, then cannot read the log.
        stream = hub.events(account, after=None)
        try:
            await asyncio.wait_for(anext(stream), 30)
        except Exception as error:
            assert unavailable(error), error
        else:
            pytest.fail("a subscription started in the outage should have failed")
        assert (hub.open_subscriptions, len(hub._feeds)) == (0, 0)
        assert broadcast._subscribers == {}  # nobody listens on the channel any more
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("doorbell ")]

        # Once the database is back, the account's subscribers are served again.
        await asyncio.to_thread(private_postgres.start)
        stream = hub.events(account, after=None)
        waiting = asyncio.create_task(anext(stream))
        await wait_for(lambda: _true(hub.open_subscriptions == 1), "the subscription")
        handoff = await escalate(desk, team.acme["alex"], session)
        assert (await asyncio.wait_for(waiting, 10)).handoff.id == handoff.id
        await stream.aclose()
        assert broadcast._subscribers == {}
    finally:
        await hub.close()
        await broadcast.disconnect()
        await desk.db.dispose()


# --- Redis restarted while clients are subscribed ---


async def _numsub(redis_url: str, channel: str) -> int:
    from redis import asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        return dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0)
    finally:
        await client.aclose()


async def test_redis_restarted_under_subscribers_delivers_every_event_once_in_order(
    serve, desk, team, private_redis
):
    # Within this test only a doorbell tells a process of an event committed on the other one:
    # a long poll, and no workers (their commits would wake the log's readers too).
    env = {
        "HANDOFF_BROADCAST_URL": private_redis.url,
        "HANDOFF_EVENT_POLL_SECONDS": "120",
        "HANDOFF_RUN_WORKERS": "false",
    }
    one, two = serve(ready=False, **env), serve(ready=False, **env)  # side by side
    alex = team.acme["alex"]
    sessions = iter([await make_session(desk, alex, f"Case {n}") for n in range(6)])
    wait_ready(one, two)
    channel = f"account_{team.acme.account.id.hex}"
    committed: list[str] = []

    async with contextlib.AsyncExitStack() as stack:
        http = {p: await stack.enter_async_context(GraphQLClient(p.url)) for p in (one, two)}

        async def escalate(process: ServerProcess) -> None:
            committed.append(await http[process].escalate(alex.token, next(sessions).id))

        async def receive(ws: GraphQLSocket, count: int) -> list[dict]:
            return [(await ws.next_data(timeout=15))["handoffCreated"] for _ in range(count)]

        sockets = {one: [], two: []}
        for process, member in [(one, "sam"), (one, "kim"), (two, "sam"), (two, "dana")]:
            ws = await stack.enter_async_context(GraphQLSocket(process.url))
            await ws.connect(team.acme[member].token)
            await ws.subscribe(CREATED)
            sockets[process].append(ws)
        # Each process listens on the account's channel, once.
        await wait_for(lambda: _is(_numsub(private_redis.url, channel), 2), "both doorbells")
        await escalate(one)

        private_redis.stop()
        # Committed while no doorbell rings, the last of them on process one: process two's
        # subscribers can only hear of them from the log, once Redis is back.
        await escalate(one)
        await escalate(two)
        await escalate(one)
        readyz = await http[two]._client.get("/readyz")  # and the lost broadcast is reported
        assert readyz.status_code == 503, readyz.text
        assert readyz.json()["checks"]["broadcast"].startswith("unavailable")
        received = {ws: await receive(ws, 4) for ws in sockets[one]}
        private_redis.start()
        # Both processes subscribe again by themselves and catch up from the log at once.
        for ws in sockets[two]:
            received[ws] = await receive(ws, 4)
        await wait_for(lambda: _is(_numsub(private_redis.url, channel), 2), "doorbells back")
        for process in (one, two):  # /readyz comes back by itself
            await wait_for(lambda p=process: _ready(http[p]), "/readyz to answer 200 again")
        # And the doorbell rings again, both ways, from the first event on.
        for process in (two, one):
            await escalate(process)
            for ws in received:
                received[ws] += await receive(ws, 1)

        for events in received.values():
            # Every event once, in the order of the log, over the connection each had.
            assert [e["handoff"]["id"] for e in events] == committed
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(set(seqs))

        async def nothing_more(ws: GraphQLSocket) -> None:
            with pytest.raises(TimeoutError):
                await ws.receive(timeout=0.3)

        await asyncio.gather(*(nothing_more(ws) for ws in received))  # watched side by side


async def _is(value, expected) -> bool:
    return await value == expected


async def _ready(http: GraphQLClient) -> bool:
    return (await http._client.get("/readyz")).status_code == 200


# --- Graceful shutdown ---


@contextlib.asynccontextmanager
async def handoff_locked(desk: Desk, handoff_id: uuid.UUID):
    """Holds what a claim of the handoff must wait for: its row lock on PostgreSQL, the write
    lock on SQLite (whose writers take it up front)."""
    async with desk.db.write() as db:
        await db.exec(select(Handoff).where(Handoff.id == handoff_id).with_for_update())
        yield


async def claim_waiting(desk: Desk) -> bool:
    """Whether a claim is waiting for the lock the test holds."""
    if desk.db.is_sqlite:
        # SQLite shows no waiter: the claim's request has had time to reach its BEGIN.
        await asyncio.sleep(1.0)
        return True
    async with desk.db.read_rows() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE handoff%'"
            )
        )
        return waiting.scalar_one() > 0


async def test_sigterm_finishes_the_request_in_flight_and_sends_websockets_away_with_1001(
    serve, desk, team
):
    server = serve()
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url) as ws, GraphQLClient(server.url) as http:
        await ws.connect(team.acme["kim"].token)
        await ws.subscribe(CREATED)
        async with handoff_locked(desk, handoff.id):
            claim = asyncio.create_task(http.claim(team.acme["sam"].token, str(handoff.id)))
            await wait_for(lambda: claim_waiting(desk), "the claim to wait for the lock")
            server.process.send_signal(signal.SIGTERM)
            # Clients are told at once that this server is going away, while the claim waits.
            closed = await ws.wait_closed(timeout=10)
            assert (closed.code, closed.reason) == (1001, "server shutting down")
            assert not claim.done()
        # The request in flight finishes, with its answer.
        assert await asyncio.wait_for(claim, 15) == "ClaimHandoffSuccess"
    assert await asyncio.to_thread(server.process.wait, 15) == -signal.SIGTERM  # uvicorn's way
    async with desk.db.read() as db:
        row = (await db.exec(select(Handoff).where(Handoff.id == handoff.id))).one()
    assert row.claimed_by_id == team.acme["sam"].user.id


# --- Workers killed or frozen mid-job ---


async def test_a_job_whose_workers_are_frozen_and_killed_mid_way_is_done_exactly_once(
    serve, desk, team
):
    """Worker A (`handoff-desk worker`) freezes mid-assessment (SIGSTOP, as a stalled host
    would); server B (`serve`, its workers in it) takes the job over when A's lease runs out and
    is killed mid-way (SIGKILL); server C, started after it (a restart), finishes it and its
    subscribers hear of it; then A wakes up with its own answer, which must not commit."""
    handoff = await make_escalation(desk, team.acme["alex"], "VPN drops")
    with FakeChatCompletions() as llm:
        env = {
            "HANDOFF_ASSESSOR": "openai",
            "HANDOFF_OPENAI_BASE_URL": llm.base_url,
            "HANDOFF_OPENAI_MODEL": "test-model",
            "HANDOFF_ASSESSMENT_TIMEOUT_SECONDS": "30",
            # Shorter than a worker's start: each next one finds the lease run out at once.
            "HANDOFF_JOB_LEASE_SECONDS": "1",
            # One job at a time: frozen, A holds no transaction (on SQLite, a frozen process in
            # the middle of one would hold the write lock and stop everyone).
            "HANDOFF_ASSESSMENT_WORKERS": "1",
        }

        async def asked(times: int) -> bool:
            return len(llm.requests) >= times

        late = {**GOOD_ANSWER, "summary": "A's late answer"}
        llm.set("slow", delay=2, answer=late)  # A's answer is on its way while A is frozen
        # A's slots for other kinds would be in a transaction now and then: A leaves emails and
        # timers to B and C.
        a = serve("worker", **env, HANDOFF_EMAIL_WORKERS="0", HANDOFF_TIMER_WORKERS="0")
        # A process's start (imports, migrations checked, first poll) takes seconds more when
        # the machine is busy: a longer deadline, which costs nothing when it is met.
        await wait_for(lambda: asked(1), "worker A to ask the model", interval=0.02, timeout=45)
        a.process.send_signal(signal.SIGSTOP)
        try:
            llm.set("hang")
            b = serve(**env)
            await wait_for(lambda: asked(2), "server B to take the job over", interval=0.02)
            b.kill()  # between the lease and the assessment, as a crash would leave it
            async with desk.db.read() as db:
                job = (await db.exec(select(Job).where(Job.subject_id == handoff.id))).one()
            assert job.state == JobState.RUNNING and job.lease_owner is not None

            llm.set("ok", answer={**GOOD_ANSWER, "summary": "C's answer"})
            c = serve(**env)
            async with GraphQLSocket(c.url) as ws:
                await ws.connect(team.acme["sam"].token)
                # It may land before we subscribe: ask for everything after seq 0, as a client
                # that reconnects would.
                await ws.subscribe(ASSESSED, {"id": str(handoff.id), "after": 0})
                landed = (await ws.next_data(timeout=20))["assessmentSettled"]
            assert landed["handoff"]["assessment"]["status"] == "READY"
            row = await wait_for(lambda: _landed(desk, handoff.id), "the assessment to land")
            assert row.assessment_summary == "C's answer"
        finally:
            # A wakes up to its answer: its lease is long gone, so its result is dropped.
            a.process.send_signal(signal.SIGCONT)
        await wait_for(lambda: _logged(a, "taken over by another worker"), "A to give up")
        stop_together(c, a)

    assert len(llm.requests) == 3
    async with desk.db.read() as db:
        row = (await db.exec(select(Handoff).where(Handoff.id == handoff.id))).one()
        job = (await db.exec(select(Job).where(Job.subject_id == handoff.id))).one()
        kinds = (
            await db.exec(
                select(AccountEvent.kind)
                .where(AccountEvent.handoff_id == handoff.id)
                .order_by(col(AccountEvent.seq))
            )
        ).all()
    assert (row.assessment_status, row.assessment_summary) == (AssessmentStatus.READY, "C's answer")
    assert (job.state, job.attempts, job.lease_owner) == (JobState.DONE, 3, None)
    assert kinds == [EventKind.ESCALATED, EventKind.ASSESSMENT_READY]


async def _landed(desk: Desk, handoff_id: uuid.UUID) -> Handoff | None:
    async with desk.db.read() as db:
        row = (await db.exec(select(Handoff).where(Handoff.id == handoff_id))).one()
    return row if row.assessment_status != AssessmentStatus.PENDING else None


async def _logged(process: ServerProcess, text: str) -> bool:
    return text in process.log_path.read_text()
