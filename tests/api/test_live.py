"""The live desk through real websockets against a server (uvicorn, in the test's process), on
SQLite and PostgreSQL. The test's own commits (the `desk` fixture: another engine, and no doorbell
to that server) reach it as another process's would: at its next poll of the event log."""

import asyncio

import pytest

from tests.factories import make_escalation, make_session
from tests.fake_llm import FakeChatCompletions
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import LEGACY_WS, TRANSPORT_WS, Closed, GraphQLSocket

pytestmark = pytest.mark.anyio

CREATED = """subscription($after: Int) { handoffCreated(after: $after) {
  seq handoff { id priority session { problemSummary } createdBy { name }
                assessment { status } } } }"""
ASSESSED = """subscription($id: ID, $after: Int) {
  assessmentSettled(handoffId: $id, after: $after) {
  seq handoff { id assessment { status summary likelyCause suggestedSteps confidence } } } }"""
CLAIMS = """subscription { handoffClaimChanged {
  seq kind actor { name } handoff { id claimedBy { name } } } }"""


async def test_a_new_escalation_arrives_and_its_slow_assessment_fills_in(in_process, desk, team):
    with FakeChatCompletions() as llm:
        llm.hold()  # the model answers when the test says: after the client asked to be told
        server = await in_process(
            run_workers=True,
            assessor="openai",
            openai_base_url=llm.base_url,
            openai_model="test-model",
            assessment_timeout_seconds=10.0,
        )
        session = await make_session(desk, team.acme["alex"], "VPN drops at home")
        async with GraphQLSocket(server.url) as ws, GraphQLClient(server.url) as http:
            await ws.connect(team.acme["sam"].token)
            await ws.subscribe(CREATED)
            await server.until_streams(1)  # the subscription is registered before the escalation
            handoff_id = await http.escalate(team.acme["alex"].token, session.id, "HIGH")

            created = (await ws.next_data())["handoffCreated"]
            assert created["handoff"]["id"] == handoff_id
            assert created["handoff"]["priority"] == "HIGH"
            assert created["handoff"]["session"]["problemSummary"] == "VPN drops at home"
            assert created["handoff"]["createdBy"]["name"] == "Alex Junior"
            assert created["handoff"]["assessment"]["status"] == "PENDING"

            # The client shows the card without an assessment and asks to be told when it lands.
            await ws.subscribe(ASSESSED, {"id": handoff_id})
            await server.until_streams(2)
            llm.release()
            landed = (await ws.next_data(timeout=15))["assessmentSettled"]
            assert landed["handoff"]["id"] == handoff_id
            assessment = landed["handoff"]["assessment"]
            assert assessment["status"] == "READY"
            assert assessment["summary"].startswith("The VPN tunnel drops")
            assert assessment["suggestedSteps"] == [
                "Lower the VPN keepalive to 30 seconds",
                "Update the router firmware",
            ]
            assert assessment["confidence"] == "MEDIUM"
            assert landed["seq"] > created["seq"]


async def test_parks_and_other_accounts_escalations_are_never_delivered(in_process, desk, team):
    server = await in_process()
    acme_park = await make_session(desk, team.acme["alex"], "Parked one")
    globex_session = await make_session(desk, team.globex["gus"], "Globex trouble")
    acme_session = await make_session(desk, team.acme["alex"], "Acme trouble")
    async with (
        GraphQLSocket(server.url) as acme_ws,
        GraphQLSocket(server.url) as globex_ws,
        GraphQLClient(server.url) as http,
    ):
        await acme_ws.connect(team.acme["sam"].token)
        await globex_ws.connect(team.globex["gail"].token)
        await acme_ws.subscribe(CREATED)
        await globex_ws.subscribe(CREATED)
        await server.until_streams(2)
        parked = await http.data(
            """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: PARK}) {
                 __typename } }""",
            {"s": str(acme_park.id)},
            team.acme["alex"].token,
        )
        assert parked["createHandoff"]["__typename"] == "CreateHandoffSuccess"
        globex_id = await http.escalate(team.globex["gus"].token, globex_session.id)
        acme_id = await http.escalate(team.acme["alex"].token, acme_session.id)

        # Each side's first message is its own account's escalation: the park and the other
        # account's escalation never reached it.
        assert (await acme_ws.next_data())["handoffCreated"]["handoff"]["id"] == acme_id
        assert (await globex_ws.next_data())["handoffCreated"]["handoff"]["id"] == globex_id
        # Nor anything after: any other event would have been fanned out by now (the park
        # before Acme's escalation, Globex's before Globex's socket had it), and the server
        # sent Acme's socket nothing more before it answered this ping.
        assert await acme_ws.barrier() == []


async def test_claims_and_releases_reach_every_other_senior(in_process, desk, team):
    server = await in_process()
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url) as ws, GraphQLClient(server.url) as http:
        await ws.connect(team.acme["kim"].token)
        await ws.subscribe(CLAIMS)
        await server.until_streams(1)
        assert await http.claim(team.acme["sam"].token, str(handoff.id)) == "ClaimHandoffSuccess"
        claimed = (await ws.next_data())["handoffClaimChanged"]
        assert claimed["kind"] == "CLAIMED"
        assert claimed["actor"]["name"] == "Sam Senior"
        assert claimed["handoff"] == {"id": str(handoff.id), "claimedBy": {"name": "Sam Senior"}}

        released = await http.data(
            "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }",
            {"h": str(handoff.id)},
            team.acme["sam"].token,
        )
        assert released["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess"
        back = (await ws.next_data())["handoffClaimChanged"]
        assert back["kind"] == "RELEASED" and back["handoff"]["claimedBy"] is None
        assert back["actor"]["name"] == "Sam Senior"  # who released it
        assert back["seq"] == claimed["seq"] + 1


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_graphql_transport_ws_without_a_valid_token_is_closed_4403(in_process, token):
    server = await in_process()
    ws = GraphQLSocket(server.url, TRANSPORT_WS)
    with pytest.raises(Closed) as closed:
        await ws.connect(token)
    assert closed.value.code == 4403


async def test_legacy_graphql_ws_without_a_valid_token_gets_connection_error(in_process):
    server = await in_process()
    async with GraphQLSocket(server.url, LEGACY_WS) as ws:
        with pytest.raises(AssertionError, match="connection_error"):
            await ws.connect("not-a-token")
        closed = await ws.wait_closed()
        assert closed.code is not None


async def test_legacy_graphql_ws_delivers_events(in_process, desk, team):
    server = await in_process()
    session = await make_session(desk, team.acme["alex"])
    async with GraphQLSocket(server.url, LEGACY_WS) as ws, GraphQLClient(server.url) as http:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED)
        await server.until_streams(1)
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        assert (await ws.next_data())["handoffCreated"]["handoff"]["id"] == handoff_id


async def test_a_dropped_subscriber_catches_up_without_gaps_or_duplicates(in_process, desk, team):
    server = await in_process()
    sessions = [
        await make_session(desk, team.acme["alex"], f"Case {n}", turns=0) for n in range(12)
    ]
    escalated: list[str] = []

    async def escalate_and_claim(http):
        # Escalations and claims go on the whole time, while the subscriber comes and goes.
        for n, session in enumerate(sessions):
            handoff_id = await http.escalate(team.acme["alex"].token, session.id)
            escalated.append(handoff_id)
            if n % 3 == 0:
                await http.claim(team.acme["kim"].token, handoff_id)
            await asyncio.sleep(0.05)

    received: list[tuple[int, str]] = []
    async with GraphQLClient(server.url) as http:
        first = GraphQLSocket(server.url)
        await first.connect(team.acme["sam"].token)
        await first.subscribe(CREATED)
        await server.until_streams(1)
        producer = asyncio.create_task(escalate_and_claim(http))
        for _ in range(3):
            event = (await first.next_data())["handoffCreated"]
            received.append((event["seq"], event["handoff"]["id"]))
        await first.close()  # the connection drops; events keep coming

        async def missed() -> bool:
            return len(escalated) >= len(received) + 2 or producer.done()

        await wait_for(missed, "escalations while the subscriber is away", interval=0.01)

        async with GraphQLSocket(server.url) as second:
            await second.connect(team.acme["sam"].token)
            await second.subscribe(CREATED, {"after": received[-1][0]})
            while len(received) < len(sessions):
                event = (await second.next_data())["handoffCreated"]
                received.append((event["seq"], event["handoff"]["id"]))
            await producer

    seqs = [seq for seq, _ in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [handoff_id for _, handoff_id in received] == escalated


async def test_history_tells_what_happened_to_an_escalation(in_process, desk, team):
    server = await in_process(run_workers=True)
    session = await make_session(desk, team.acme["alex"], "Outlook password prompts")
    async with GraphQLClient(server.url) as http:
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)

        async def assessed() -> bool:  # the server's worker assesses it after the commit
            data = await http.data(
                "query($h: ID!) { handoff(id: $h) { assessment { status } } }",
                {"h": handoff_id},
                team.acme["sam"].token,
            )
            return data["handoff"]["assessment"]["status"] != "PENDING"

        await wait_for(assessed, "the assessment")
        await http.claim(team.acme["sam"].token, handoff_id)
        await http.data(
            "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }",
            {"h": handoff_id},
            team.acme["sam"].token,
        )
        history = (
            await http.data(
                "query($h: ID!) { handoff(id: $h) { history { kind actor { name } occurredAt } } }",
                {"h": handoff_id},
                team.acme["dana"].token,
            )
        )["handoff"]["history"]
    assert [(e["kind"], e["actor"] and e["actor"]["name"]) for e in history] == [
        ("ESCALATED", "Alex Junior"),
        ("ASSESSMENT_READY", None),
        ("CLAIMED", "Sam Senior"),
        ("RELEASED", "Sam Senior"),
    ]
    times = [e["occurredAt"] for e in history]
    assert times == sorted(times)


async def test_a_subscriber_too_far_behind_is_closed_1013_and_catches_up(in_process, desk, team):
    server = await in_process(subscriber_queue=1, event_poll_seconds=0.5)
    async with GraphQLSocket(server.url) as ws:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED)
        await server.until_streams(1)
        # Committed as if from another process (no doorbell), these reach the server in one
        # read of the log, at its next poll: three events for a queue of one.
        created = [await make_escalation(desk, team.acme["alex"], f"Case {n}") for n in range(3)]
        closed = await ws.wait_closed()
    assert closed.code == 1013

    async with GraphQLSocket(server.url) as ws:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED, {"after": 0})
        ids = [(await ws.next_data())["handoffCreated"]["handoff"]["id"] for _ in range(3)]
    assert ids == [str(h.id) for h in created]


async def test_each_subscriber_hears_its_own_unread(in_process, desk, team):
    server = await in_process()
    session = await make_session(desk, team.acme["alex"])
    query = "subscription { handoffCreated { handoff { id unread } } }"
    async with (
        GraphQLSocket(server.url) as escalator,
        GraphQLSocket(server.url) as teammate,
        GraphQLClient(server.url) as http,
    ):
        await escalator.connect(team.acme["alex"].token)
        await teammate.connect(team.acme["sam"].token)
        await escalator.subscribe(query)
        await teammate.subscribe(query)
        await server.until_streams(2)  # `unread` is per user: a stream each
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        mine = (await escalator.next_data())["handoffCreated"]["handoff"]
        theirs = (await teammate.next_data())["handoffCreated"]["handoff"]
    assert mine == {"id": handoff_id, "unread": False}  # nobody is told of their own news
    assert theirs == {"id": handoff_id, "unread": True}
