"""Presence (issue 15, point 1): who else has an escalation open, live. Subscribing to
`handoffViewers` is having it open; `accountViewers` tells the queue's cards. Nothing crosses
accounts, the caller is never listed to themself, and a viewer whose process stopped announcing
is forgotten after the TTL. Real websockets against a server in the test's process, on SQLite
and PostgreSQL."""

import asyncio
import contextlib
import uuid

import pytest

from db.enums import HandoffIntent
from handoff_desk.live.broadcast import presence_channel
from handoff_desk.live.presence import GONE, HERE, announcements, parse
from tests.factories import make_escalation
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import Closed, GraphQLSocket

pytestmark = pytest.mark.anyio

VIEWERS = """subscription($h: ID!) { handoffViewers(handoffId: $h) {
  handoffId viewers { id name role } change user { id name } } }"""
ACCOUNT = """subscription { accountViewers { snapshot
  handoffs { handoffId viewers { name } change user { name } } } }"""
DEACTIVATE = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }"


def seen(data: dict) -> dict:
    """handoffViewers' answer, the viewers by name."""
    answer = data["handoffViewers"]
    user = answer["user"]
    return {
        "viewers": [v["name"] for v in answer["viewers"]],
        "change": answer["change"],
        "user": user["name"] if user else None,
    }


def heard(data: dict) -> dict:
    """accountViewers' answer: snapshot, and each escalation's viewers (and change) by name."""
    answer = data["accountViewers"]
    return {
        "snapshot": answer["snapshot"],
        "handoffs": {
            h["handoffId"]: (
                [v["name"] for v in h["viewers"]],
                h["change"],
                h["user"]["name"] if h["user"] else None,
            )
            for h in answer["handoffs"]
        },
    }


def first(*names: str) -> dict:
    return {"viewers": list(names), "change": None, "user": None}


async def refused(ws: GraphQLSocket) -> str:
    """The code of the one error a subscription was answered with (it ends there)."""
    message = await ws.receive()
    payload = message["payload"]
    [error] = payload if isinstance(payload, list) else payload.get("errors") or [payload]
    if message["type"] == "next":
        assert (await ws.receive())["type"] == "complete"
    return error["extensions"]["code"]


async def test_two_viewers_see_each_other_come_and_go_and_the_queue_hears_it(
    in_process, desk, team
):
    server = await in_process()
    sam, dana, kim, alex = (team.acme[k] for k in ("sam", "dana", "kim", "alex"))
    handoff = str((await make_escalation(desk, alex, "VPN drops")).id)
    other = str((await make_escalation(desk, alex, "Printer offline")).id)
    async with (
        GraphQLSocket(server.url) as sam_ws,
        GraphQLSocket(server.url) as sam_phone,
        GraphQLSocket(server.url) as dana_ws,
        GraphQLSocket(server.url) as kim_ws,
    ):
        for ws, member in ((sam_ws, sam), (sam_phone, sam), (dana_ws, dana), (kim_ws, kim)):
            await ws.connect(member.token)
        await sam_ws.subscribe(VIEWERS, {"h": handoff})
        assert seen(await sam_ws.next_data()) == first()  # nobody else yet
        dana_op = await dana_ws.subscribe(VIEWERS, {"h": handoff})
        # Dana sees Sam (and not herself); Sam hears her come.
        assert seen(await dana_ws.next_data()) == first("Sam Senior")
        assert seen(await sam_ws.next_data()) == {
            "viewers": ["Dana Admin"],
            "change": "JOINED",
            "user": "Dana Admin",
        }

        # Kim, on the queue, views nothing: she hears who has which escalation open.
        await kim_ws.subscribe(ACCOUNT)
        assert heard(await kim_ws.next_data()) == {
            "snapshot": True,
            "handoffs": {handoff: (["Sam Senior", "Dana Admin"], None, None)},
        }

        # Sam opens it on his phone too: he is one viewer still, and never listed to himself.
        phone_op = await sam_phone.subscribe(VIEWERS, {"h": handoff})
        assert seen(await sam_phone.next_data()) == first("Dana Admin")
        await sam_phone.complete(phone_op)  # closed on the phone: still open on his laptop
        # Dana opens another escalation on another socket of hers: Kim hears it; the phone's
        # coming and going told nobody anything.
        async with GraphQLSocket(server.url) as dana_other:
            await dana_other.connect(dana.token)
            await dana_other.subscribe(VIEWERS, {"h": other})
            assert seen(await dana_other.next_data()) == first()
            assert heard(await kim_ws.next_data()) == {
                "snapshot": False,
                "handoffs": {other: (["Dana Admin"], "JOINED", "Dana Admin")},
            }
        assert heard(await kim_ws.next_data()) == {
            "snapshot": False,
            "handoffs": {other: ([], "LEFT", "Dana Admin")},
        }
        assert await sam_ws.barrier() == []
        assert await dana_ws.barrier() == []

        # Dana closes the escalation: Sam and Kim hear her go.
        await dana_ws.complete(dana_op)
        assert seen(await sam_ws.next_data()) == {
            "viewers": [],
            "change": "LEFT",
            "user": "Dana Admin",
        }
        assert heard(await kim_ws.next_data()) == {
            "snapshot": False,
            "handoffs": {handoff: (["Sam Senior"], "LEFT", "Dana Admin")},
        }
        # Sam's socket closes (his browser went away): gone at once.
        await sam_ws.close()
        assert heard(await kim_ws.next_data()) == {
            "snapshot": False,
            "handoffs": {handoff: ([], "LEFT", "Sam Senior")},
        }
        assert await kim_ws.barrier() == []
        assert await sam_phone.barrier() == []


async def test_another_account_hears_nothing_and_sees_no_escalation_of_ours(in_process, desk, team):
    server = await in_process()
    sam, alex = team.acme["sam"], team.acme["alex"]
    gail, gus = team.globex["gail"], team.globex["gus"]
    acme = str((await make_escalation(desk, alex, "VPN drops")).id)
    globex = str((await make_escalation(desk, gail, "Globex trouble")).id)
    async with (
        GraphQLSocket(server.url) as sam_ws,
        GraphQLSocket(server.url) as sam_queue,
        GraphQLSocket(server.url) as gus_ws,
        GraphQLSocket(server.url) as gus_queue,
    ):
        for ws, member in ((sam_ws, sam), (sam_queue, sam), (gus_ws, gus), (gus_queue, gus)):
            await ws.connect(member.token)
        await sam_queue.subscribe(ACCOUNT)
        await gus_queue.subscribe(ACCOUNT)
        assert heard(await sam_queue.next_data()) == {"snapshot": True, "handoffs": {}}
        assert heard(await gus_queue.next_data()) == {"snapshot": True, "handoffs": {}}
        await sam_ws.subscribe(VIEWERS, {"h": acme})
        assert seen(await sam_ws.next_data()) == first()

        # Gus asks for Acme's escalation (the same id), an unknown one, and a malformed one.
        for asked, code in ((acme, "NOT_FOUND"), (str(uuid.uuid4()), "NOT_FOUND"), ("x", None)):
            await gus_ws.subscribe(VIEWERS, {"h": asked})
            assert await refused(gus_ws) == (code or "BAD_USER_INPUT")
        # Gus views Globex's: his queue is told nothing (he is never listed to himself), and
        # Acme's people hear nothing of either.
        await gus_ws.subscribe(VIEWERS, {"h": globex})
        assert seen(await gus_ws.next_data()) == first()
        assert await gus_queue.barrier() == []
        # Gail joins him: Globex's queue hears it, Acme's does not.
        async with GraphQLSocket(server.url) as gail_ws:
            await gail_ws.connect(gail.token)
            await gail_ws.subscribe(VIEWERS, {"h": globex})
            assert seen(await gail_ws.next_data()) == first("Gus Engineer")
            assert seen(await gus_ws.next_data())["user"] == "Gail Admin"
            assert heard(await gus_queue.next_data()) == {
                "snapshot": False,
                "handoffs": {globex: (["Gail Admin"], "JOINED", "Gail Admin")},
            }
        assert await sam_ws.barrier() == []
        assert await sam_queue.barrier() == []
        # A park is its creator's alone: Alex may ask who views his, nobody else may.
        park = str((await make_escalation(desk, alex, "Parked", intent=HandoffIntent.PARK)).id)
        await sam_ws.subscribe(VIEWERS, {"h": park})
        assert await refused(sam_ws) == "NOT_FOUND"
        async with GraphQLSocket(server.url) as alex_ws:
            await alex_ws.connect(alex.token)
            await alex_ws.subscribe(VIEWERS, {"h": park})
            assert seen(await alex_ws.next_data()) == first()
            assert await sam_queue.barrier() == []  # his park is announced to nobody


async def test_a_viewer_is_listed_and_a_deactivated_one_is_closed_out(in_process, desk, team):
    server = await in_process()
    sam, vic, dana = team.acme["sam"], team.acme["vic"], team.acme["dana"]
    handoff = str((await make_escalation(desk, team.acme["alex"], "VPN drops")).id)
    async with (
        GraphQLSocket(server.url) as sam_ws,
        GraphQLSocket(server.url) as vic_ws,
        GraphQLClient(server.url) as http,
    ):
        await sam_ws.connect(sam.token)
        await vic_ws.connect(vic.token)
        await sam_ws.subscribe(VIEWERS, {"h": handoff})
        assert seen(await sam_ws.next_data()) == first()
        await vic_ws.subscribe(VIEWERS, {"h": handoff})
        answer = (await vic_ws.next_data())["handoffViewers"]
        assert [(v["name"], v["role"]) for v in answer["viewers"]] == [("Sam Senior", "ENGINEER")]
        assert seen(await sam_ws.next_data())["user"] == "Vic Viewer"  # a viewer reads, listed

        deactivated = await http.data(DEACTIVATE, {"u": vic.id}, dana.token)
        assert deactivated["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
        closed = await vic_ws.wait_closed()
        assert isinstance(closed, Closed) and closed.code == 4403
        assert seen(await sam_ws.next_data()) == {
            "viewers": [],
            "change": "LEFT",
            "user": "Vic Viewer",
        }


async def test_a_peer_process_that_stops_announcing_is_forgotten_after_the_ttl(
    in_process, desk, team
):
    """The test plays a second process on the server's broadcast, saying what a process says:
    Dana views the escalation there. The server re-announces its own viewer each heartbeat;
    Dana, no longer announced (her process killed), is gone once the TTL has passed."""
    server = await in_process(presence_heartbeat_seconds=0.1, presence_ttl_seconds=0.6)
    broadcast = server.app.state.hub.broadcast
    sam, dana, alex = team.acme["sam"], team.acme["dana"], team.acme["alex"]
    gail = team.globex["gail"]
    handoff = (await make_escalation(desk, alex, "VPN drops")).id
    channel = presence_channel(team.acme.account.id)
    peer = uuid.uuid4().hex
    said: list = []

    async def say(kind: str, user_id: str) -> None:
        for message in announcements(peer, kind, [(handoff, uuid.UUID(user_id))]):
            await broadcast.publish(channel, message)

    async with (
        broadcast.subscribe(channel) as listening,
        GraphQLSocket(server.url) as sam_ws,
    ):
        await sam_ws.connect(sam.token)
        await sam_ws.subscribe(VIEWERS, {"h": str(handoff)})
        assert seen(await sam_ws.next_data()) == first()

        # Another account's user, announced on Acme's channel, names nobody.
        await say(HERE, gail.id)
        await say(HERE, dana.id)
        assert seen(await sam_ws.next_data()) == {
            "viewers": ["Dana Admin"],
            "change": "JOINED",
            "user": "Dana Admin",
        }
        # Her peer says she left: gone at once.
        await say(GONE, dana.id)
        assert seen(await sam_ws.next_data())["change"] == "LEFT"
        # Back; then her process is killed: nothing more is said of her, and she is forgotten.
        await say(HERE, dana.id)
        assert seen(await sam_ws.next_data())["change"] == "JOINED"
        assert seen(await sam_ws.next_data(timeout=10)) == {
            "viewers": [],
            "change": "LEFT",
            "user": "Dana Admin",
        }

        # Meanwhile the server said, beat after beat, that Sam views it (the peer would hear).
        async def sam_announced_twice() -> bool:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    while True:
                        said.append(parse((await listening.get()).message))
            mine = (handoff, uuid.UUID(sam.id))
            beats = [s for s in said if s and s.process != peer and mine in s.pairs]
            return len(beats) >= 2 and all(s.kind == HERE for s in beats)

        await wait_for(sam_announced_twice, "the server to announce Sam twice")
