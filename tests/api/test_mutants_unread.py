"""Read marks against the query cache: found missing by mutation testing (scripts/mutants), each
test here is behaviour a mutant of resolvers/unread.py changed while every test passed."""

import pytest

from tests.api.test_read_marks import SEEN, unread
from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

QUEUE = "{ handoffQueue(first: 50) { unreadCount edges { node { id unread claimedBy { id } } } } }"
ONE = "query($h: ID!) { handoff(id: $h) { id unread } }"
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"


async def test_a_read_then_a_teammates_claim_never_bring_back_an_older_answer(
    api, fresh, desk, team
):
    """A reader's cached answers key on the account's changes plus their own reads: a read and
    a teammate's write must never add up to a key an older answer was kept under."""
    opened = await make_escalation(desk, team.acme["alex"], "Printer offline")
    other = await make_escalation(desk, team.acme["alex"], "VPN down")
    vic, kim = team.acme["vic"], team.acme["kim"]
    before = await api.data(QUEUE, token=vic.token)
    assert unread(before)[str(opened.id)] is True

    seen = await api.data(SEEN, {"h": str(opened.id)}, token=vic.token)
    assert seen["markHandoffSeen"]["__typename"] == "MarkHandoffSeenSuccess"
    claimed = await api.data(CLAIM, {"h": str(other.id)}, token=kim.token)
    assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"

    after = await api.data(QUEUE, token=vic.token)
    assert unread(after)[str(opened.id)] is False
    assert after["handoffQueue"]["unreadCount"] == before["handoffQueue"]["unreadCount"] - 1
    assert after == await fresh.data(QUEUE, token=vic.token)


async def test_reading_one_escalation_leaves_the_others_unread(api, desk, team):
    """`unread` is about that escalation, not whether its reader has read any."""
    read = await make_escalation(desk, team.acme["alex"], "Printer offline")
    other = await make_escalation(desk, team.acme["alex"], "VPN down")
    sam = team.acme["sam"]
    seen = await api.data(SEEN, {"h": str(read.id)}, token=sam.token)
    assert seen["markHandoffSeen"]["__typename"] == "MarkHandoffSeenSuccess"

    for handoff, unread_now in ((read, False), (other, True)):
        shown = await api.data(ONE, {"h": str(handoff.id)}, token=sam.token)
        assert shown["handoff"] == {"id": str(handoff.id), "unread": unread_now}
