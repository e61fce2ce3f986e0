"""Channels recover: the broadcast path between desk processes breaks and heals (a TCP proxy the
test owns sits between the desk and PostgreSQL-as-broadcast or Redis; the database stays direct).
Subscribers hear of every event once, in order, /readyz comes back by itself, and a silent
broadcast never holds a mutation's answer."""

from __future__ import annotations

import asyncio

import pytest

from tests import services
from tests.factories import make_session
from tests.http import GraphQLClient
from tests.tcp_proxy import TcpProxy
from tests.test_live import CREATED
from tests.waiting import wait_for
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

# Within these tests only a doorbell (or a reconnect's catch-up) tells a process of an event
# committed elsewhere: the periodic poll is two minutes away, and no workers commit anything.
NO_POLL = {"HANDOFF_EVENT_POLL_SECONDS": "120", "HANDOFF_RUN_WORKERS": "false"}


@pytest.fixture(params=["postgres", "redis"])
def broadcast_path(request):
    """A proxy in front of the broadcast service; the desk is given `broadcast_path.url`."""
    if request.param == "redis":
        services.require_redis()
        upstream = services.REDIS_URL
    else:
        services.require_postgres()
        upstream = services.POSTGRES_URL
    proxy = TcpProxy(upstream).start()
    yield proxy
    proxy.close()


async def _ready(http: GraphQLClient) -> bool:
    return (await http._client.get("/readyz")).status_code == 200


async def _created(ws: GraphQLSocket, timeout: float = 10) -> dict:
    return (await ws.next_data(timeout=timeout))["handoffCreated"]


async def test_a_cut_broadcast_path_heals_and_the_subscriber_catches_up_once_in_order(
    serve, desk, team, broadcast_path
):
    env = {"HANDOFF_BROADCAST_URL": broadcast_path.url, **NO_POLL}
    one, two = serve(**env), serve(**env)
    alex = team.acme["alex"]
    sessions = iter([await make_session(desk, alex, f"Case {n}") for n in range(4)])
    committed: list[str] = []

    async with (
        GraphQLSocket(one.url) as ws,
        GraphQLClient(one.url) as at_one,
        GraphQLClient(two.url) as at_two,
    ):

        async def escalate_on_two() -> None:
            committed.append(await at_two.escalate(alex.token, next(sessions).id))

        await escalate_on_two()
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED, {"after": 0})
        # Caught up from the log: process one listens on the account's channel now.
        received = [await _created(ws)]
        await escalate_on_two()
        received.append(await _created(ws))  # the doorbell crosses from two to one

        broadcast_path.cut()
        # Committed on two while no doorbell can leave it: the mutation answers all the same.
        await escalate_on_two()
        readyz = await at_two._client.get("/readyz")
        assert readyz.status_code == 503, readyz.text
        assert readyz.json()["checks"]["broadcast"].startswith("unavailable")
        broadcast_path.restore()

        # One reconnects by itself and reads its log at once: the missed event arrives, though
        # nothing rings for it and the poll is minutes away.
        received.append(await _created(ws, timeout=20))
        # And the doorbell rings again.
        await escalate_on_two()
        received.append(await _created(ws))
        for http in (at_one, at_two):
            await wait_for(lambda http=http: _ready(http), "/readyz to answer 200 again")

        # Every event once, in the order of the log.
        assert [e["handoff"]["id"] for e in received] == committed
        seqs = [e["seq"] for e in received]
        assert seqs == sorted(set(seqs))
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)  # and nothing more


async def test_a_silent_broadcast_never_holds_a_mutations_answer(serve, desk, team, broadcast_path):
    server = serve(HANDOFF_BROADCAST_URL=broadcast_path.url, **NO_POLL)
    alex = team.acme["alex"]
    sessions = [await make_session(desk, alex, f"Case {n}") for n in range(3)]

    async with GraphQLSocket(server.url) as ws, GraphQLClient(server.url) as http:
        first = await http.escalate(alex.token, sessions.pop().id)
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(CREATED, {"after": 0})
        # Caught up from the log: the process listens on the account's channel now.
        assert (await _created(ws))["handoff"]["id"] == first

        broadcast_path.blackhole()  # connections stay open; nothing comes back
        try:
            for session in sessions:  # on the open connection, then on a new one
                # A hang-versus-answer bound, not a performance threshold: without a deadline
                # on the doorbell the answer waits for a broadcast that never answers (neither
                # the Redis client nor asyncpg gives up by itself).
                handoff_id = await asyncio.wait_for(http.escalate(alex.token, session.id), 5)
                # This process's subscribers hear of it all the same.
                assert (await _created(ws))["handoff"]["id"] == handoff_id
            readyz = await http._client.get("/readyz")
            assert readyz.status_code == 503, readyz.text  # the silent path is reported
        finally:
            broadcast_path.restore()
        await wait_for(lambda: _ready(http), "/readyz to answer 200 again")
