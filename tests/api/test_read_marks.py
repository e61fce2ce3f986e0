"""A read mark is the reader's own: opening an escalation (any role may, a viewer included: the
console shows everyone unread dots) changes the reader's answers and nobody else's, so it must
not make teammates' cached answers stale."""

import pytest

from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

QUEUE = "{ handoffQueue(first: 50) { unreadCount edges { node { id unread } } } }"
SEEN = "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { __typename } }"


def unread(answer: dict) -> dict[str, bool]:
    return {e["node"]["id"]: e["node"]["unread"] for e in answer["handoffQueue"]["edges"]}


async def test_a_viewer_marking_an_escalation_read_leaves_teammates_cached_answers(
    api, fresh, desk, team
):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    kim, vic = team.acme["kim"], team.acme["vic"]
    cache = api.client._transport.app.state.query_cache
    kims = await api.data(QUEUE, token=kim.token)
    vics = await api.data(QUEUE, token=vic.token)
    assert unread(kims)[str(handoff.id)] is True and unread(vics)[str(handoff.id)] is True

    seen = await api.data(SEEN, {"h": str(handoff.id)}, token=vic.token)
    assert seen["markHandoffSeen"]["__typename"] == "MarkHandoffSeenSuccess"

    # Kim's answer did not change, so it is still served from the cache...
    hits = cache.hits
    assert await api.data(QUEUE, token=kim.token) == kims
    assert cache.hits == hits + 1
    assert kims == await fresh.data(QUEUE, token=kim.token)
    # ...while the viewer's own answer moved on: the dot is gone for them.
    after = await api.data(QUEUE, token=vic.token)
    assert unread(after)[str(handoff.id)] is False
    assert after["handoffQueue"]["unreadCount"] == vics["handoffQueue"]["unreadCount"] - 1
    assert after == await fresh.data(QUEUE, token=vic.token)


async def test_marking_an_escalation_read_again_keeps_the_readers_cached_answer(api, desk, team):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    vic = team.acme["vic"]
    cache = api.client._transport.app.state.query_cache
    await api.data(SEEN, {"h": str(handoff.id)}, token=vic.token)
    before = await api.data(QUEUE, token=vic.token)
    assert unread(before)[str(handoff.id)] is False

    # A second mark changes nothing anyone sees: nothing cached is thrown away.
    await api.data(SEEN, {"h": str(handoff.id)}, token=vic.token)
    hits = cache.hits
    assert await api.data(QUEUE, token=vic.token) == before
    assert cache.hits == hits + 1
