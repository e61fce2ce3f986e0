"""Presence's bounds and messages (handoff_desk/live/presence.py): an escalation lists at most
VIEWERS_PER_HANDOFF viewers, a process tracks at most MAX_TRACKED pairs, and a message fits
PostgreSQL's NOTIFY limit whatever it says. What users see of presence: tests/api/test_presence.py.
"""

import uuid

import pytest
from broadcaster import Broadcast

from handoff_desk.live import presence
from handoff_desk.live.hub import Hub
from handoff_desk.live.presence import HERE, PresenceFeed, announcements, parse, sync_request
from resolvers.handoff_views import UserView
from resolvers.presence import VIEWERS_PER_HANDOFF, Viewing

ACCOUNT = uuid.uuid4()


def user(n: int) -> UserView:
    return UserView(uuid.uuid4(), ACCOUNT, f"User {n}", f"u{n}@acme.test", "engineer", True)


def feeds(count: int) -> tuple[Hub, list[PresenceFeed]]:
    # The feeds are not started: viewing and leaving are counted at once, without the broadcast.
    hub = Hub(desk=None, broadcast=Broadcast("memory://"))  # type: ignore[arg-type]
    return hub, [PresenceFeed(hub, ACCOUNT) for _ in range(count)]


def test_an_escalation_lists_at_most_its_cap_of_viewers():
    hub, [feed] = feeds(1)
    handoff = uuid.uuid4()
    viewings = [Viewing(handoff, user(n)) for n in range(VIEWERS_PER_HANDOFF + 1)]
    counted = [feed.view(v) for v in viewings]
    assert counted == [True] * VIEWERS_PER_HANDOFF + [False]
    listed = feed.snapshot().viewers[handoff]
    assert [u.name for u in listed] == [v.user.name for v in viewings[:VIEWERS_PER_HANDOFF]]
    # A user with two clients on it is one viewer: counted, without a place of their own.
    assert feed.view(viewings[0]) is True
    assert len(feed.snapshot().viewers[handoff]) == VIEWERS_PER_HANDOFF
    # The others leave; the first stays while one of their two clients does.
    for viewing in viewings[:VIEWERS_PER_HANDOFF]:
        feed.unview(viewing)
    assert [u.name for u in feed.snapshot().viewers[handoff]] == ["User 0"]
    feed.unview(viewings[0])
    assert feed.snapshot().viewers == {}
    assert hub.presence_tracked == 0


def test_a_process_tracks_at_most_max_tracked_pairs_across_its_accounts(monkeypatch):
    monkeypatch.setattr(presence, "MAX_TRACKED", 3)
    hub, [one, two] = feeds(2)
    alice, bob = user(1), user(2)
    assert one.view(Viewing(uuid.uuid4(), alice))
    assert one.view(Viewing(uuid.uuid4(), alice))
    third = Viewing(uuid.uuid4(), bob)
    assert two.view(third)
    assert not two.view(Viewing(uuid.uuid4(), bob))  # a fourth pair: not tracked
    assert hub.presence_tracked == 3
    two.unview(third)
    assert two.view(Viewing(uuid.uuid4(), bob))  # room again


def test_a_message_fits_a_notify_payload_and_reads_back():
    pairs = [(uuid.uuid4(), uuid.uuid4()) for _ in range(200)]
    messages = list(announcements("p1", HERE, pairs))
    assert len(messages) == 4
    assert all(len(m.encode()) < 8000 for m in messages)
    heard = [parse(m) for m in messages]
    assert [pair for said in heard for pair in said.pairs] == pairs
    assert {(said.process, said.kind) for said in heard} == {("p1", HERE)}
    assert parse(sync_request("p2")).kind == "sync"


@pytest.mark.parametrize(
    "message",
    ["reconnected", "", "{}", '{"p": "x", "k": "here", "v": ["nothex"]}', '{"p": 1, "k": "gone"}'],
)
def test_anything_else_is_no_presence_message(message):
    assert parse(message) is None
