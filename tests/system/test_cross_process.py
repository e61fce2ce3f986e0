"""Several processes serve one account: events cross them on Redis or Postgres broadcast.

Elsewhere: that a mutation on one `serve` process reaches a subscriber on another by the
doorbell alone (either database) is shown on PostgreSQL's broadcast by
tests/system/test_channels.py's cut-path test (before it cuts the path), and on Redis by
tests/system/test_faults.py's Redis restart test (once Redis is back, both ways); that a server
killed mid-assessment has it finished after a restart, by tests/system/test_faults.py's frozen-
and-killed workers test (its server B, then C)."""

import uuid

import asyncpg
import pytest
from redis import asyncio as redis

from db.enums import AssessmentStatus
from db.models import Handoff
from handoff_desk.live.broadcast import account_channel, user_channel
from tests import services
from tests.api.test_assessors import REASSESS
from tests.api.test_conversation_live import MESSAGES, send
from tests.api.test_live import ASSESSED
from tests.api.test_notification_prefs import COUNT as BELL
from tests.api.test_notification_prefs import MARK
from tests.api.test_presence import VIEWERS, first, seen
from tests.api.test_read_marks_live import SEEN, UNREAD
from tests.factories import make_escalation, make_session
from tests.http import GraphQLClient
from tests.server import wait_ready
from tests.waiting import wait_for
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

# A long poll: within these tests' timeouts only the broadcast doorbell can deliver an event
# from another process.
NO_POLL = {"HANDOFF_EVENT_POLL_SECONDS": "120"}


@pytest.fixture(params=["redis", "postgres"])
def broadcast_url(request) -> str:
    if request.param == "redis":
        services.require_redis()
        return services.REDIS_URL
    services.require_postgres()
    return services.POSTGRES_URL


async def listening(broadcast_url: str, channel: str) -> bool:
    """Whether a process listens on the channel: Redis's PUBSUB NUMSUB, or, on PostgreSQL, a
    connection whose last statement is its LISTEN."""
    if broadcast_url.startswith("redis"):
        client = redis.Redis.from_url(broadcast_url)
        try:
            return dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0) > 0
        finally:
            await client.aclose()
    conn = await asyncpg.connect(broadcast_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        listen = f'LISTEN "{channel}"'
        return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query = $1", listen)
    finally:
        await conn.close()


async def test_a_separate_worker_process_assesses_and_subscribers_hear_of_it(
    serve, desk, team, broadcast_url
):
    api = serve(HANDOFF_BROADCAST_URL=broadcast_url, HANDOFF_RUN_WORKERS="false", **NO_POLL)
    session = await make_session(desk, team.acme["alex"], "Printer spooler crashes")
    channel = account_channel(team.acme.account.id)
    async with GraphQLSocket(api.url) as ws, GraphQLClient(api.url) as http:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(ASSESSED)
        await wait_for(lambda: listening(broadcast_url, channel), "the API to hear doorbells")
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        # No worker in the API: nothing is assessed, however long one would have needed.
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)
        async with desk.db.read() as db:
            handoff = await db.get(Handoff, uuid.UUID(handoff_id))
        assert handoff.assessment_status == AssessmentStatus.PENDING

        serve("worker", HANDOFF_BROADCAST_URL=broadcast_url, **NO_POLL)
        landed = (await ws.next_data(timeout=20))["assessmentSettled"]
    assert landed["handoff"]["id"] == handoff_id
    assert landed["handoff"]["assessment"]["status"] == "READY"


async def test_a_read_mark_crosses_processes_on_redis_to_the_readers_sockets_only(
    serve, desk, team
):
    """Kim opens and claims escalations through one process; her socket on the other hears each
    at once (by her own doorbell: the poll is far off), and Sam's socket there hears nothing."""
    services.require_redis()
    env = {"HANDOFF_BROADCAST_URL": services.REDIS_URL, **NO_POLL}
    a, b = serve(ready=False, **env), serve(ready=False, **env)
    wait_ready(a, b)
    kim, sam, alex = team.acme["kim"], team.acme["sam"], team.acme["alex"]
    opened, claimed, sams = [
        str((await make_escalation(desk, alex, summary)).id) for summary in ("One", "Two", "Three")
    ]
    async with (
        GraphQLSocket(b.url) as kim_ws,
        GraphQLSocket(b.url) as sam_ws,
        GraphQLClient(a.url) as http,
    ):
        for ws, member in ((kim_ws, kim), (sam_ws, sam)):
            await ws.connect(member.token)
            await ws.subscribe(UNREAD)
        for member in (kim, sam):
            channel = user_channel(member.user.id)
            await wait_for(lambda c=channel: listening(services.REDIS_URL, c), "B to listen")
        first = {"unreadCount": 3, "handoffId": None, "unread": None}
        assert (await kim_ws.next_data())["myUnreadCount"] == first
        assert (await sam_ws.next_data())["myUnreadCount"] == first

        await http.data(SEEN, {"h": opened}, kim.token)
        heard = (await kim_ws.next_data())["myUnreadCount"]
        assert heard == {"unreadCount": 2, "handoffId": opened, "unread": False}
        assert await http.claim(kim.token, claimed) == "ClaimHandoffSuccess"
        heard = (await kim_ws.next_data())["myUnreadCount"]
        assert heard == {"unreadCount": 1, "handoffId": claimed, "unread": False}

        # Sam's first news is his own mark: Kim's never reached his socket.
        await http.data(SEEN, {"h": sams}, sam.token)
        heard = (await sam_ws.next_data())["myUnreadCount"]
        assert heard == {"unreadCount": 2, "handoffId": sams, "unread": False}
        assert await kim_ws.barrier() == []


async def test_the_bell_rings_across_processes_on_redis_for_its_user_only(serve, desk, team):
    """Issue 15: Alex escalates through one process; Kim's bell on the other rises at once (her
    own doorbell: the poll is far off), and falls when she marks it read through the first.
    Gail's bell (another account) never moves."""
    services.require_redis()
    env = {"HANDOFF_BROADCAST_URL": services.REDIS_URL, **NO_POLL}
    a, b = serve(ready=False, **env), serve(ready=False, **env)
    wait_ready(a, b)
    kim, alex, gail = team.acme["kim"], team.acme["alex"], team.globex["gail"]
    session = await make_session(desk, alex, "Badge readers down")
    async with (
        GraphQLSocket(b.url) as kim_ws,
        GraphQLSocket(b.url) as gail_ws,
        GraphQLClient(a.url) as http,
    ):
        for ws, member in ((kim_ws, kim), (gail_ws, gail)):
            await ws.connect(member.token)
            await ws.subscribe(BELL)
        for member in (kim, gail):
            channel = user_channel(member.user.id)
            await wait_for(lambda c=channel: listening(services.REDIS_URL, c), "B to listen")
        assert (await kim_ws.next_data())["myNotificationCount"] == {"unreadCount": 0}
        assert (await gail_ws.next_data())["myNotificationCount"] == {"unreadCount": 0}

        await http.escalate(alex.token, session.id, "URGENT")
        assert (await kim_ws.next_data())["myNotificationCount"] == {"unreadCount": 1}
        await http.data(MARK, {"all": True}, kim.token)
        assert (await kim_ws.next_data())["myNotificationCount"] == {"unreadCount": 0}
        assert await gail_ws.barrier() == []


async def test_a_message_added_through_one_process_is_heard_on_another_on_redis(serve, desk, team):
    """Sam writes to a claimed escalation's conversation through process A; Kim's socket on B
    hears it at once (the account's doorbell: the poll is far off), and a socket that comes back
    to B with the last position it had gets what it missed, then the next one live."""
    services.require_redis()
    env = {"HANDOFF_BROADCAST_URL": services.REDIS_URL, **NO_POLL}
    a, b = serve(ready=False, **env), serve(ready=False, **env)
    wait_ready(a, b)
    kim, sam = team.acme["kim"], team.acme["sam"]
    escalation = await make_escalation(desk, team.acme["alex"], "Printer offline")  # 2 messages
    session = str(escalation.session_id)
    async with GraphQLClient(a.url) as http:
        assert await http.claim(sam.token, str(escalation.id)) == "ClaimHandoffSuccess"
        async with GraphQLSocket(b.url) as kim_ws:
            await kim_ws.connect(kim.token)
            await kim_ws.subscribe(MESSAGES, {"s": session})
            channel = account_channel(team.acme.account.id)
            await wait_for(lambda: listening(services.REDIS_URL, channel), "B to hear doorbells")
            assert await send(http, sam, session, "Spooler restarted.") == 3
            heard = (await kim_ws.next_data())["sessionMessages"]
            assert (heard["position"], heard["content"]) == (3, "Spooler restarted.")
        # Kim's console is away while Sam goes on, then comes back to B.
        for n in (4, 5):
            assert await send(http, sam, session, f"step {n}") == n
        async with GraphQLSocket(b.url) as kim_ws:
            await kim_ws.connect(kim.token)
            await kim_ws.subscribe(MESSAGES, {"s": session, "after": 3})
            heard = [(await kim_ws.next_data())["sessionMessages"]["position"] for _ in range(2)]
            assert heard == [4, 5]
            # (Not yet listening, perhaps: what comes meanwhile is after the log position the
            # subscription started from, and read from the log as it starts to listen.)
            assert await send(http, sam, session, "live again") == 6
            assert (await kim_ws.next_data())["sessionMessages"]["position"] == 6
            assert await kim_ws.barrier() == []


async def until_viewers(ws: GraphQLSocket, names: list[str], timeout: float = 15) -> dict:
    """handoffViewers' answers on `ws` until one lists these viewers (which one does depends on
    when each process heard of the other's)."""
    while (answer := seen(await ws.next_data(timeout)))["viewers"] != names:
        pass
    return answer


async def test_a_viewer_on_one_process_is_seen_on_another_and_gone_once_it_is_killed(
    serve, desk, team
):
    """Dana has an escalation open through process A, Sam through B: each sees the other, by
    Redis (presence is in no log for a poll to read). A is killed (SIGKILL: no goodbye): B stops
    hearing A's heartbeat and forgets Dana once the TTL has passed."""
    services.require_redis()
    env = {
        "HANDOFF_BROADCAST_URL": services.REDIS_URL,
        "HANDOFF_PRESENCE_HEARTBEAT_SECONDS": "0.5",
        "HANDOFF_PRESENCE_TTL_SECONDS": "2",
        **NO_POLL,
    }
    a, b = serve(ready=False, **env), serve(ready=False, **env)
    wait_ready(a, b)
    dana, sam = team.acme["dana"], team.acme["sam"]
    handoff = str((await make_escalation(desk, team.acme["alex"], "VPN drops")).id)
    async with GraphQLSocket(a.url) as dana_ws, GraphQLSocket(b.url) as sam_ws:
        await dana_ws.connect(dana.token)
        await dana_ws.subscribe(VIEWERS, {"h": handoff})
        assert seen(await dana_ws.next_data()) == first()
        await sam_ws.connect(sam.token)
        await sam_ws.subscribe(VIEWERS, {"h": handoff})
        # B asks who views as it starts listening: A answers with Dana.
        await until_viewers(sam_ws, ["Dana Admin"])
        assert (await until_viewers(dana_ws, ["Sam Senior"]))["change"] == "JOINED"

        a.kill()
        assert seen(await sam_ws.next_data(timeout=15)) == {
            "viewers": [],
            "change": "LEFT",
            "user": "Dana Admin",
        }


REASSESSED = """subscription { handoffUpdated { kind handoff { id } note { body } } }"""
NOTE = """mutation($h: ID!, $b: String!) { addHandoffNote(input: {handoffId: $h, body: $b}) {
  __typename } }"""
LANDED = """subscription { assessmentSettled { handoff { id assessment { number status } } } }"""


async def test_a_note_and_a_reassessment_on_one_process_are_heard_on_another_on_redis(
    serve, desk, team
):
    """Kim adds a note and asks process A for a fresh assessment; Sam's sockets on process B hear
    the note (NOTE_ADDED), that a fresh assessment was asked for (REASSESSMENT_REQUESTED) and,
    once A's worker has made it, that it landed: by the doorbell alone (the poll is far off)."""
    services.require_redis()
    env = {"HANDOFF_BROADCAST_URL": services.REDIS_URL, **NO_POLL}
    a, b = serve(ready=False, **env), serve(ready=False, HANDOFF_RUN_WORKERS="false", **env)
    wait_ready(a, b)
    sam, kim = team.acme["sam"], team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"], "VPN drops at home")

    async def first_landed() -> bool:
        async with desk.db.read() as db:
            row = await db.get(Handoff, handoff.id)
        return row is not None and row.assessment_status == AssessmentStatus.READY

    await wait_for(first_landed, "the first assessment, by A's worker")
    async with (
        GraphQLSocket(b.url) as asked_ws,
        GraphQLSocket(b.url) as landed_ws,
        GraphQLClient(a.url) as http,
    ):
        for ws, document in ((asked_ws, REASSESSED), (landed_ws, LANDED)):
            await ws.connect(sam.token)
            await ws.subscribe(document)
        channel = account_channel(team.acme.account.id)
        await wait_for(lambda: listening(services.REDIS_URL, channel), "B to hear doorbells")
        noted = await http.data(NOTE, {"h": str(handoff.id), "b": "Wired: no drops"}, kim.token)
        assert noted["addHandoffNote"]["__typename"] == "AddHandoffNoteSuccess"
        heard = (await asked_ws.next_data())["handoffUpdated"]
        assert (heard["kind"], heard["note"]) == ("NOTE_ADDED", {"body": "Wired: no drops"})
        asked = await http.data(REASSESS, {"h": str(handoff.id)}, kim.token)
        assert asked["reassessHandoff"]["__typename"] == "ReassessHandoffSuccess"
        heard = (await asked_ws.next_data())["handoffUpdated"]
        # (What the handoff shows is read as B delivers: the new assessment may have landed.)
        assert heard == {
            "kind": "REASSESSMENT_REQUESTED",
            "handoff": {"id": str(handoff.id)},
            "note": None,
        }
        landed = (await landed_ws.next_data(timeout=20))["assessmentSettled"]["handoff"]
    assert landed == {"id": str(handoff.id), "assessment": {"number": 2, "status": "READY"}}
