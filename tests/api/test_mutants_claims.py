"""Claims as a session's list shows them: found missing by mutation testing (scripts/mutants),
each test here is behaviour a mutant of resolvers/claims.py changed while every test passed."""

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest
from sqlmodel import select, update

from db.enums import EventKind, HandoffIntent, MessageRole, Priority
from db.models import AccountEvent, Handoff
from resolvers import handoffs, sessions
from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

CLAIM = """
mutation($h: ID!) {
  claimHandoff(input: { handoffId: $h }) {
    __typename
    ... on ClaimHandoffSuccess { handoff { claimedAt session { updatedAt } } }
  }
}
"""
DEACTIVATE = "mutation($u: ID!) { deactivateUser(userId: $u) { __typename } }"
RELEASE = """
mutation($h: ID!) {
  releaseHandoff(input: { handoffId: $h }) {
    __typename
    ... on ReleaseHandoffSuccess { handoff { session { updatedAt } } }
  }
}
"""


async def test_a_claim_and_a_release_each_move_the_sessions_last_change(api, desk, team):
    """The session list sorts and shows by last change: claiming is one, giving back another."""
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    kim = team.acme["kim"]

    claimed = (await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token))["claimHandoff"]
    assert claimed["__typename"] == "ClaimHandoffSuccess"
    assert claimed["handoff"]["session"]["updatedAt"] == claimed["handoff"]["claimedAt"]

    released = (await api.data(RELEASE, {"h": str(handoff.id)}, token=kim.token))["releaseHandoff"]
    assert released["__typename"] == "ReleaseHandoffSuccess"
    assert released["handoff"]["session"]["updatedAt"] > claimed["handoff"]["claimedAt"]


async def test_a_deactivated_claimers_escalations_go_back_oldest_first_and_only_theirs(
    api, desk, team
):
    """The releases are told (history, the live feed) in the order the escalations were raised:
    made here unlike the ids' order and the rows' (either way), so no other order passes."""
    kim, sam, dana = team.acme["kim"], team.acme["sam"], team.acme["dana"]
    made = [await make_escalation(desk, team.acme["alex"], f"Problem {n}") for n in range(3)]
    kept = await make_escalation(desk, team.acme["alex"], "Sam's own")
    for handoff in made:
        answer = await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token)
        assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    answer = await api.data(CLAIM, {"h": str(kept.id)}, token=sam.token)
    assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    by_id = sorted(made, key=lambda h: h.id)
    others = [made, made[::-1], by_id, by_id[::-1]]
    oldest_first = next(list(p) for p in permutations(made) if list(p) not in others)
    async with desk.db.write() as db:
        for hours, handoff in enumerate(reversed(oldest_first)):
            raised = datetime.now(UTC) - timedelta(hours=hours + 1)
            await db.exec(update(Handoff).where(Handoff.id == handoff.id).values(created_at=raised))

    done = await api.data(DEACTIVATE, {"u": str(kim.user.id)}, token=dana.token)
    assert done["deactivateUser"]["__typename"] == "DeactivateUserSuccess"

    async with desk.db.read() as db:
        released = (
            await db.exec(
                select(AccountEvent.handoff_id)
                .where(AccountEvent.kind == EventKind.RELEASED)
                .order_by(AccountEvent.seq)
            )
        ).all()
        sams = await db.get(Handoff, kept.id)
    assert released == [h.id for h in oldest_first]
    assert sams.claimed_by_id == sam.user.id  # Sam's claim is Sam's still


async def test_a_claimer_who_parked_and_resumed_the_session_may_still_release(api, desk, team):
    """A park of the session since the claim is no newer escalation: the claim is open."""
    kim = team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    answer = await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token)
    assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    parked = await handoffs.create_handoff(
        desk,
        kim.viewer,
        handoff.session_id,
        intent=HandoffIntent.PARK,
        engineer_notes="waiting on the customer",
        priority=Priority.NORMAL,
    )
    assert isinstance(parked, Handoff), parked
    await sessions.add_message(
        desk,
        kim.viewer,
        handoff.session_id,
        role=MessageRole.CUSTOMER,
        content="Still broken",
        confidence_tier=None,
    )

    released = (await api.data(RELEASE, {"h": str(handoff.id)}, token=kim.token))["releaseHandoff"]
    assert released["__typename"] == "ReleaseHandoffSuccess"
