"""Read marks, live (issue 15, point 3): a user who opens or claims an escalation on one device
sees the dot clear and the unread count move on their other clients, through `myUnreadCount`.
Nobody else hears of it: not a teammate, not another account. Real websockets against a server in
the test's process, on SQLite and PostgreSQL."""

import pytest

from db.enums import Role
from tests.factories import make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import Closed, GraphQLSocket

pytestmark = pytest.mark.anyio

UNREAD = "subscription { myUnreadCount { unreadCount handoffId unread } }"
QUEUE = "{ handoffQueue(first: 50) { unreadCount edges { node { id unread } } } }"
ONE = "query($h: ID!) { handoff(id: $h) { id unread } }"
WITHDRAW = "mutation($h: ID!) { withdrawHandoff(input: { handoffId: $h }) { __typename } }"
SEEN = "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { __typename } }"
DEACTIVATE = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }"


def change(data: dict) -> dict:
    return data["myUnreadCount"]


async def queue_count(http: GraphQLClient, token: str) -> int:
    return (await http.data(QUEUE, token=token))["handoffQueue"]["unreadCount"]


async def test_a_read_mark_reaches_the_readers_other_sockets_and_nobody_elses(
    in_process, desk, team
):
    server = await in_process()
    kim, sam, alex = team.acme["kim"], team.acme["sam"], team.acme["alex"]
    gail, gus = team.globex["gail"], team.globex["gus"]
    opened, theirs, claimed = [
        str((await make_escalation(desk, alex, summary)).id) for summary in ("One", "Two", "Three")
    ]
    globex = str((await make_escalation(desk, gail, "Globex trouble")).id)
    async with (
        GraphQLSocket(server.url) as kim_laptop,
        GraphQLSocket(server.url) as kim_phone,
        GraphQLSocket(server.url) as sam_ws,
        GraphQLSocket(server.url) as gus_ws,
        GraphQLClient(server.url) as http,
    ):
        for ws, member in ((kim_laptop, kim), (kim_phone, kim), (sam_ws, sam), (gus_ws, gus)):
            await ws.connect(member.token)
            await ws.subscribe(UNREAD)
        await server.until_streams(4)
        # Each first answer is the caller's count as it stands: the queue's unreadCount.
        first = {"unreadCount": 3, "handoffId": None, "unread": None}
        assert change(await kim_laptop.next_data()) == first
        assert change(await kim_phone.next_data()) == first
        assert change(await sam_ws.next_data()) == first
        assert change(await gus_ws.next_data()) == {**first, "unreadCount": 1}
        assert await queue_count(http, kim.token) == 3

        # Listing (the queue, or one escalation) clears nothing.
        listed = await http.data(QUEUE, token=kim.token)
        assert all(e["node"]["unread"] for e in listed["handoffQueue"]["edges"])
        assert (await http.data(ONE, {"h": opened}, kim.token))["handoff"]["unread"] is True

        # Kim opens one on her laptop: both her sockets hear it, the count one lower.
        seen = await http.data(SEEN, {"h": opened}, kim.token)
        assert seen["markHandoffSeen"]["__typename"] == "MarkHandoffSeenSuccess"
        read = {"unreadCount": 2, "handoffId": opened, "unread": False}
        assert change(await kim_laptop.next_data()) == read  # the listing moved nothing before
        assert change(await kim_phone.next_data()) == read
        assert await queue_count(http, kim.token) == 2

        # Sam claims one: his mark is his; Kim's count does not move (claimed, still unread).
        assert await http.claim(sam.token, theirs) == "ClaimHandoffSuccess"
        # Sam's first news is his own claim: Kim's opening never reached him.
        assert change(await sam_ws.next_data()) == {
            "unreadCount": 2,
            "handoffId": theirs,
            "unread": False,
        }
        assert await queue_count(http, sam.token) == 2

        # Kim claims one on her phone: her laptop clears it too.
        assert await http.claim(kim.token, claimed) == "ClaimHandoffSuccess"
        read = {"unreadCount": 1, "handoffId": claimed, "unread": False}
        # Her next news is her own claim: Sam's claim and mark moved nothing of hers.
        assert change(await kim_laptop.next_data()) == read
        assert change(await kim_phone.next_data()) == read
        assert await queue_count(http, kim.token) == 1

        # Gus opens Globex's: his first news since joining, so Acme's marks never reached him.
        await http.data(SEEN, {"h": globex}, gus.token)
        assert change(await gus_ws.next_data()) == {
            "unreadCount": 0,
            "handoffId": globex,
            "unread": False,
        }
        # And nothing more reached anyone: every mark above had been delivered before its
        # reader's next news, and nothing of another's followed.
        for ws in (kim_laptop, kim_phone, sam_ws, gus_ws):
            assert await ws.barrier() == []
        # Opening again makes no new mark, and tells nobody anything.
        await http.data(SEEN, {"h": opened}, kim.token)
        await http.data(SEEN, {"h": theirs}, kim.token)
        assert change(await kim_phone.next_data())["handoffId"] == theirs


async def test_a_teammates_escalation_raises_the_count_and_ones_own_does_not(
    in_process, desk, team
):
    server = await in_process()
    kim, alex = team.acme["kim"], team.acme["alex"]
    session = await make_session(desk, alex, "VPN drops")
    own = await make_session(desk, kim, "Kim's own")
    async with (
        GraphQLSocket(server.url) as kim_ws,
        GraphQLSocket(server.url) as alex_ws,
        GraphQLClient(server.url) as http,
    ):
        for ws, member in ((kim_ws, kim), (alex_ws, alex)):
            await ws.connect(member.token)
            await ws.subscribe(UNREAD)
        await server.until_streams(2)
        assert change(await kim_ws.next_data())["unreadCount"] == 0
        assert change(await alex_ws.next_data())["unreadCount"] == 0

        raised = await http.escalate(alex.token, session.id)
        assert change(await kim_ws.next_data()) == {
            "unreadCount": 1,
            "handoffId": raised,
            "unread": True,
        }
        assert await queue_count(http, kim.token) == 1
        # Kim's own escalation is read to her, and unread to Alex: only his count moves. Alex's
        # first news is it, so his own escalation moved nothing of his.
        kims = await http.escalate(kim.token, own.id)
        assert change(await alex_ws.next_data()) == {
            "unreadCount": 1,
            "handoffId": kims,
            "unread": True,
        }
        assert await queue_count(http, alex.token) == 1
        await http.data(SEEN, {"h": raised}, kim.token)
        # Kim's next news is her mark: her own escalation had not moved her count.
        assert change(await kim_ws.next_data()) == {
            "unreadCount": 0,
            "handoffId": raised,
            "unread": False,
        }
        # Kim withdraws hers, which Alex never opened: it leaves his queue, and his count.
        withdrawn = await http.data(WITHDRAW, {"h": kims}, kim.token)
        assert withdrawn["withdrawHandoff"]["__typename"] == "WithdrawHandoffSuccess", withdrawn
        assert change(await alex_ws.next_data()) == {
            "unreadCount": 0,
            "handoffId": kims,
            "unread": True,
        }
        assert await queue_count(http, alex.token) == 0


async def test_a_deactivated_users_count_stream_is_closed(in_process, desk, team):
    server = await in_process()
    kim, dana = team.acme["kim"], team.acme["dana"]
    assert dana.user.role == Role.ADMIN
    async with GraphQLSocket(server.url) as kim_ws, GraphQLClient(server.url) as http:
        await kim_ws.connect(kim.token)
        await kim_ws.subscribe(UNREAD)
        await server.until_streams(1)
        assert change(await kim_ws.next_data())["unreadCount"] == 0
        answer = await http.data(DEACTIVATE, {"u": kim.id}, dana.token)
        assert answer["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
        closed = await kim_ws.wait_closed()
        assert isinstance(closed, Closed) and closed.code == 4403
