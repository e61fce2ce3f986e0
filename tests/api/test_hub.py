"""The per-process hub: bounded queues, cut-off of a subscriber that falls behind, catch-up."""

import asyncio

import pytest

from db.enums import HandoffIntent, Priority
from db.models import Handoff
from handoff_desk.live.broadcast import create_broadcast
from handoff_desk.live.hub import Hub
from handoff_desk.live.notifier import LiveNotifier
from resolvers import handoffs
from resolvers.desk import SilentNotifier
from resolvers.errors import SubscriberTooSlow
from tests.factories import make_session
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def hub(desk):
    broadcast = create_broadcast("memory://")
    await broadcast.connect()
    # Polls often: the lost-doorbell test waits for a poll.
    hub = Hub(desk, broadcast, max_queue=3, poll_seconds=0.05)
    desk.notifier = LiveNotifier(hub)
    yield hub
    await hub.close()
    await broadcast.disconnect()


async def escalate(desk, member, session) -> Handoff:
    handoff = await handoffs.create_handoff(
        desk,
        member.viewer,
        session.id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes="",
        priority=Priority.NORMAL,
    )
    assert isinstance(handoff, Handoff), handoff
    return handoff


async def _next(stream, timeout=5):
    return await asyncio.wait_for(anext(stream), timeout)


async def _until_attached(hub: Hub, count: int) -> None:
    async def attached() -> bool:
        return hub.open_subscriptions >= count

    await wait_for(attached, f"{count} subscriber(s) attached", timeout=5, interval=0.01)


async def test_a_subscriber_that_falls_behind_is_cut_off_and_catches_up(desk, hub, team):
    alex = team.acme["alex"]
    # The sessions first: their messages are events too (MESSAGE_ADDED).
    sessions = [await make_session(desk, alex, f"Case {n}") for n in range(8)]
    slow = hub.events(team.acme.account.id, after=None)
    first = asyncio.create_task(_next(slow))  # attaches; then never reads again
    await _until_attached(hub, 1)
    created = [await escalate(desk, alex, sessions[0])]
    # Read before the rest commit: on a busy machine the feed could otherwise deliver all eight
    # at once, and the subscriber would fall behind before its first read.
    assert (await first).handoff.id == created[0].id
    created += [await escalate(desk, alex, session) for session in sessions[1:]]
    with pytest.raises(SubscriberTooSlow):
        for _ in range(8):
            await _next(slow)
    await slow.aclose()

    # A reconnect with `after` gets everything it missed, in order, from the log.
    caught_up = hub.events(team.acme.account.id, after=(await first).seq - 1)
    seqs = [(await _next(caught_up)).seq for _ in range(8)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 8
    await caught_up.aclose()
    assert hub.open_subscriptions == 0


async def test_one_feed_per_account_serves_many_subscribers(desk, hub, team):
    session = await make_session(desk, team.acme["alex"])
    streams = [hub.events(team.acme.account.id, after=None) for _ in range(20)]
    waits = [asyncio.create_task(_next(s)) for s in streams]
    await _until_attached(hub, 20)
    assert hub.open_subscriptions == 20
    assert len(hub._feeds) == 1
    handoff = await escalate(desk, team.acme["alex"], session)
    delivered = await asyncio.gather(*waits)
    assert {event.handoff.id for event in delivered} == {handoff.id}
    assert len({id(event) for event in delivered}) == 1  # the same event object, read once
    for stream in streams:
        await stream.aclose()
    assert hub.open_subscriptions == 0 and not hub._feeds


async def test_a_lost_doorbell_is_healed_by_the_poll(desk, hub, team):
    session = await make_session(desk, team.acme["alex"])
    stream = hub.events(team.acme.account.id, after=None)
    waiting = asyncio.create_task(_next(stream))
    await _until_attached(hub, 1)
    desk.notifier = SilentNotifier()  # commits ring nothing now, as if the broadcast were down
    handoff = await escalate(desk, team.acme["alex"], session)
    assert (await asyncio.wait_for(waiting, 3)).handoff.id == handoff.id
    await stream.aclose()
