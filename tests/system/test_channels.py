"""Channels recover: the broadcast path between desk processes breaks and heals (a TCP proxy the
test owns sits between the desk and PostgreSQL-as-broadcast or Redis; the database stays direct).
Subscribers hear of every event once, in order, /readyz comes back by itself, and a silent
broadcast never holds a mutation's answer (one desk, served in the test's process: what is
checked is its answers, not a process).

The cut path between two processes is PostgreSQL-as-broadcast's here; Redis's is shown by
tests/system/test_faults.py's Redis restart test (the same steps and checks: mutations
answered while it is away and /readyz 503, every event once and in order after, /readyz 200
again)."""

from __future__ import annotations

import asyncio

import pytest

from tests import services
from tests.api.test_live import CREATED
from tests.factories import make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.server import wait_ready
from tests.tcp_proxy import TcpProxy
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


@pytest.mark.parametrize("broadcast_path", ["postgres"], indirect=True)
async def test_a_cut_broadcast_path_heals_and_the_subscriber_catches_up_once_in_order(
    serve, desk, team, broadcast_path
):
    env = {"HANDOFF_BROADCAST_URL": broadcast_path.url, **NO_POLL}
    one, two = wait_ready(serve(ready=False, **env), serve(ready=False, **env))  # side by side
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
        # A mutation on one process reaches a subscriber on another: only the doorbell crosses
        # from two to one (no poll, no workers).
        received.append(await _created(ws))
        assert received[-1]["handoff"]["id"] == committed[-1]

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


async def test_a_silent_broadcast_never_holds_a_mutations_answer(
    in_process, desk, team, broadcast_path
):
    server = await in_process(
        broadcast_url=broadcast_path.url, event_poll_seconds=120, run_workers=False
    )  # as NO_POLL
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
