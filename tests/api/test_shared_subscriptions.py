"""Subscribers who ask the same thing share one resolution per event; what differs per user
(`unread`) stays per user, and one subscriber leaving or falling behind never affects another."""

import pytest

from handoff_desk.live.shared_subscriptions import share_key
from tests.api.test_metrics import scrape
from tests.factories import make_escalation, make_session, viewer_of
from tests.http import GraphQLClient
from tests.inprocess import (
    InProcessServer,
    in_process_fixture,  # noqa: F401  (the in_process fixture)
)
from tests.support.shared_subscriptions import DESK_SCHEMA
from tests.waiting import wait_for
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio


CREATED = "subscription { handoffCreated { seq handoff { id priority } } }"


CLAIMS_WITH_UNREAD = "subscription { handoffClaimChanged { seq kind handoff { id unread } } }"


async def _escalate(http: GraphQLClient, desk, team, summary: str) -> str:
    session = await make_session(desk, team.acme["alex"], summary)
    return await http.escalate(team.acme["alex"].token, session.id, "HIGH")


async def _until_subscribers(http: GraphQLClient, count: int) -> None:
    """Until operators see `count` open subscriptions (each member of a group counts)."""

    async def seen() -> bool:
        return (await scrape(http._client))("handoff_desk_subscriptions_open") == count

    await wait_for(seen, f"{count} open subscriptions on /metrics", timeout=10, interval=0.01)


async def test_subscribers_asking_the_same_thing_each_receive_every_event(in_process, desk, team):
    server = await in_process()
    sockets = [GraphQLSocket(server.url) for _ in range(3)]
    async with GraphQLClient(server.url) as http:
        for ws, who in zip(sockets, ("sam", "kim", "dana"), strict=True):
            await ws.connect(team.acme[who].token)
            await ws.subscribe(CREATED)
        # Operators see three subscribers, though the hub feeds two streams: the two seniors
        # share one, the admin (another role) has her own.
        await _until_subscribers(http, 3)
        await server.until_streams(2)
        first = await _escalate(http, desk, team, "Printer jams")
        second = await _escalate(http, desk, team, "VPN drops")
        for ws in sockets:
            got = [(await ws.next_data())["handoffCreated"] for _ in range(2)]
            assert [g["handoff"]["id"] for g in got] == [first, second]
            assert got[1]["seq"] > got[0]["seq"]
            await ws.close()


async def test_unread_stays_each_subscribers_own(in_process, desk, team):
    """The claimer's mark is cleared by the claim; the other senior's is not."""
    server = await in_process()
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url) as sam_ws, GraphQLSocket(server.url) as kim_ws:
        await sam_ws.connect(team.acme["sam"].token)
        await kim_ws.connect(team.acme["kim"].token)
        await sam_ws.subscribe(CLAIMS_WITH_UNREAD)
        await kim_ws.subscribe(CLAIMS_WITH_UNREAD)
        await server.until_streams(2)  # `unread` is per user: a stream each
        async with GraphQLClient(server.url) as http:
            assert await http.claim(team.acme["sam"].token, str(handoff.id)) == (
                "ClaimHandoffSuccess"
            )
        sam_sees = (await sam_ws.next_data())["handoffClaimChanged"]["handoff"]
        kim_sees = (await kim_ws.next_data())["handoffClaimChanged"]["handoff"]
        assert sam_sees == {"id": str(handoff.id), "unread": False}
        assert kim_sees == {"id": str(handoff.id), "unread": True}


async def test_one_subscriber_completing_leaves_the_others_subscribed(in_process, desk, team):
    server = await in_process()
    async with (
        GraphQLSocket(server.url) as leaving,
        GraphQLSocket(server.url) as staying,
        GraphQLClient(server.url) as http,
    ):
        await leaving.connect(team.acme["sam"].token)
        await staying.connect(team.acme["kim"].token)
        leaving_id = await leaving.subscribe(CREATED)
        await staying.subscribe(CREATED)
        await _until_subscribers(http, 2)
        await server.until_streams(1)  # one group, started by the subscriber that leaves
        await leaving._send({"id": leaving_id, "type": "complete"})
        await _until_subscribers(http, 1)
        handoff_id = await _escalate(http, desk, team, "Printer jams")
        assert (await staying.next_data())["handoffCreated"]["handoff"]["id"] == handoff_id
        # The group's frame went to its members at once; the server sent the one that left
        # nothing before it answered this ping.
        assert await leaving.barrier() == []


async def test_a_subscription_started_after_everyone_left_is_served_afresh(in_process, desk, team):
    server = await in_process()
    async with GraphQLClient(server.url) as http:
        async with GraphQLSocket(server.url) as ws:
            await ws.connect(team.acme["sam"].token)
            await ws.subscribe(CREATED)
            await server.until_streams(1)
            await _escalate(http, desk, team, "Printer jams")
            await ws.next_data()
        await _until_everyone_left(server, http)
        async with GraphQLSocket(server.url) as ws:
            await ws.connect(team.acme["kim"].token)
            await ws.subscribe(CREATED)
            await server.until_streams(1)
            handoff_id = await _escalate(http, desk, team, "VPN drops")
            assert (await ws.next_data())["handoffCreated"]["handoff"]["id"] == handoff_id


async def _until_everyone_left(server: InProcessServer, http: GraphQLClient) -> None:
    await _until_subscribers(http, 0)
    hub = server.app.state.hub

    async def no_stream() -> bool:
        return hub.open_subscriptions == 0

    await wait_for(no_stream, "the group's stream to end", timeout=10, interval=0.01)


async def test_an_invalid_subscription_is_answered_as_before(in_process, team):
    server = await in_process()
    async with GraphQLSocket(server.url) as ws:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe("subscription { handoffCreated { seq handoff { noSuchField } } }")
        message = await ws.receive()
        assert message["type"] == "error"
        assert "noSuchField" in message["payload"][0]["message"]


async def test_what_decides_sharing(team):
    sam, kim = viewer_of(team.acme["sam"].user), viewer_of(team.acme["kim"].user)
    gus = viewer_of(team.globex["gus"].user)

    def key(query, viewer, variables=None):
        return share_key({"query": query, "variables": variables}, viewer, DESK_SCHEMA)

    assert key(CREATED, sam) == key(CREATED, kim)  # same account and role, nothing per user
    assert key(CREATED, sam) != key(CREATED, gus)  # never across accounts
    assert key(CLAIMS_WITH_UNREAD, sam) != key(CLAIMS_WITH_UNREAD, kim)  # `unread` is per user
    replay = "subscription($a: Int) { handoffCreated(after: $a) { seq } }"
    assert key(replay, sam, {"a": 4}) is None  # a replay has its own stream
    assert key(replay, sam, {"a": None}) is not None
    # A default counts like a value given: every subscriber of this one replays.
    defaulted = "subscription($a: Int = 0) { handoffCreated(after: $a) { seq } }"
    assert key(defaulted, sam) is None
    assert key(defaulted, sam, {"a": None}) is not None
    # Judged by type and field: a per-viewer field anywhere makes the document per user.
    visible = "subscription { handoffCreated { handoff { session { handoffs { id } } } } }"
    assert key(visible, sam) != key(visible, kim)
    via_fragment = """subscription { handoffClaimChanged { ...C } }
      fragment C on HandoffClaimChanged { handoff { unread } }"""
    assert key(via_fragment, sam) != key(via_fragment, kim)
    assert key("subscription { handoffCreated(after: 3) { seq } }", sam) is None
    assert key("query { me { id } }", sam) is None
    assert key("subscription { handoffCreated { seq } ", sam) is None  # not even a document
