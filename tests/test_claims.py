"""Claiming and releasing escalations through the API: exactly one senior wins."""

import asyncio
import uuid

import pytest
from sqlmodel import select

from db.enums import HandoffIntent, Role
from db.models import AccountEvent, Handoff, TroubleshootingSession
from tests.factories import make_escalation, make_session, make_tenant

pytestmark = pytest.mark.anyio

CLAIM = """
mutation Claim($id: ID!) {
  claimHandoff(handoffId: $id) {
    __typename
    ... on ClaimHandoffSuccess {
      handoff {
        id claimedAt claimedBy { id name }
        session { status assignee { id } }
        history { kind actor { id } }
      }
    }
    ... on AlreadyClaimed { handoffId claimedBy { id name } claimedAt message }
    ... on HandoffNotFound { handoffId message }
    ... on NotPermitted { message }
  }
}
"""

RELEASE = """
mutation Release($id: ID!) {
  releaseHandoff(handoffId: $id) {
    __typename
    ... on ReleaseHandoffSuccess {
      handoff {
        claimedAt claimedBy { id }
        session { status assignee { id } }
        history { kind actor { id } }
      }
    }
    ... on HandoffNotFound { handoffId }
    ... on NotPermitted { message }
    ... on InvalidSessionState { status message }
  }
}
"""

RESOLVE = """
mutation Resolve($id: ID!) { resolveSession(sessionId: $id) { __typename } }
"""


async def claim(api, member, handoff_id):
    data = await api.data(CLAIM, {"id": str(handoff_id)}, token=member.token)
    return data["claimHandoff"]


async def release(api, member, handoff_id):
    data = await api.data(RELEASE, {"id": str(handoff_id)}, token=member.token)
    return data["releaseHandoff"]


async def stored(desk, handoff_id) -> tuple[Handoff, TroubleshootingSession, list[str]]:
    """The handoff row, its session row, and the kinds of its history, as stored."""
    async with desk.db.read() as db:
        handoff = await db.get(Handoff, handoff_id)
        session = await db.get(TroubleshootingSession, handoff.session_id)
        events = (
            await db.exec(
                select(AccountEvent.kind)
                .where(AccountEvent.handoff_id == handoff_id)
                .order_by(AccountEvent.seq)
            )
        ).all()
    return handoff, session, list(events)


async def test_a_claim_gives_the_claimer_the_session(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)

    result = await claim(api, kim, escalation.id)

    assert result["__typename"] == "ClaimHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["id"] == str(escalation.id)
    assert handoff["claimedBy"] == {"id": kim.id, "name": "Kim Senior"}
    assert handoff["claimedAt"] is not None
    assert handoff["session"] == {"status": "ACTIVE", "assignee": {"id": kim.id}}
    assert handoff["history"] == [
        {"kind": "ESCALATED", "actor": {"id": sam.id}},
        {"kind": "CLAIMED", "actor": {"id": kim.id}},
    ]

    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == kim.id
    assert row.claimed_at is not None
    assert (session.status, str(session.assignee_id)) == ("active", kim.id)
    assert events == ["escalated", "claimed"]


async def test_a_second_claimer_learns_who_won_and_when(api, desk, team):
    kim, alex = team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, team.acme["sam"])
    won = await claim(api, kim, escalation.id)

    lost = await claim(api, alex, escalation.id)

    assert lost["__typename"] == "AlreadyClaimed"
    assert lost["handoffId"] == str(escalation.id)
    assert lost["claimedBy"] == {"id": kim.id, "name": "Kim Senior"}
    assert lost["claimedAt"] == won["handoff"]["claimedAt"]
    assert "Kim Senior" in lost["message"]

    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == kim.id
    assert str(session.assignee_id) == kim.id
    assert events == ["escalated", "claimed"]


async def test_the_winners_repeated_claim_succeeds_unchanged(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["sam"])
    first = await claim(api, kim, escalation.id)

    again = await claim(api, kim, escalation.id)

    assert again["__typename"] == "ClaimHandoffSuccess"
    assert again["handoff"]["claimedAt"] == first["handoff"]["claimedAt"]
    assert again["handoff"]["claimedBy"]["id"] == kim.id
    assert [e["kind"] for e in again["handoff"]["history"]] == ["ESCALATED", "CLAIMED"]
    _, _, events = await stored(desk, escalation.id)
    assert events == ["escalated", "claimed"]


async def test_a_viewer_may_not_claim(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])

    result = await claim(api, team.acme["vic"], escalation.id)

    assert result["__typename"] == "NotPermitted"
    assert result["message"]
    row, session, events = await stored(desk, escalation.id)
    assert row.claimed_by_id is None
    assert session.status == "escalated"
    assert events == ["escalated"]


async def test_an_unknown_handoff_is_not_found(api, team):
    unknown = uuid.uuid4()

    result = await claim(api, team.acme["kim"], unknown)

    assert result["__typename"] == "HandoffNotFound"
    assert result["handoffId"] == str(unknown)


async def test_a_malformed_handoff_id_is_bad_input(api, team):
    error = await api.error(CLAIM, {"id": "not-an-id"}, token=team.acme["kim"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_another_accounts_escalation_is_not_found(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])

    result = await claim(api, team.globex["gus"], escalation.id)

    assert result["__typename"] == "HandoffNotFound"
    row, _, _ = await stored(desk, escalation.id)
    assert row.claimed_by_id is None


async def test_a_park_handoff_cannot_be_claimed(api, desk, team):
    sam = team.acme["sam"]
    parked = await make_escalation(desk, sam, intent=HandoffIntent.PARK)

    for member in (team.acme["kim"], sam):
        result = await claim(api, member, parked.id)
        assert result == {
            "__typename": "HandoffNotFound",
            "handoffId": str(parked.id),
            "message": result["message"],
        }

    row, session, events = await stored(desk, parked.id)
    assert row.claimed_by_id is None
    assert (session.status, str(session.assignee_id)) == ("paused", sam.id)
    assert events == []


async def test_release_puts_the_escalation_back_for_another_claimer(api, desk, team):
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, sam)
    await claim(api, kim, escalation.id)

    released = await release(api, kim, escalation.id)

    assert released["__typename"] == "ReleaseHandoffSuccess"
    handoff = released["handoff"]
    assert handoff["claimedBy"] is None
    assert handoff["claimedAt"] is None
    assert handoff["session"] == {"status": "ESCALATED", "assignee": {"id": sam.id}}
    assert handoff["history"] == [
        {"kind": "ESCALATED", "actor": {"id": sam.id}},
        {"kind": "CLAIMED", "actor": {"id": kim.id}},
        {"kind": "RELEASED", "actor": {"id": kim.id}},
    ]
    row, session, events = await stored(desk, escalation.id)
    assert (row.claimed_by_id, row.claimed_at) == (None, None)
    assert session.status == "escalated"
    assert events == ["escalated", "claimed", "released"]

    reclaimed = await claim(api, alex, escalation.id)

    assert reclaimed["__typename"] == "ClaimHandoffSuccess"
    assert reclaimed["handoff"]["claimedBy"]["id"] == alex.id
    assert reclaimed["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": alex.id}}
    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == alex.id
    assert events == ["escalated", "claimed", "released", "claimed"]


async def test_only_the_claimer_may_release(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["sam"])
    await claim(api, kim, escalation.id)

    for other in ("alex", "sam", "vic"):
        result = await release(api, team.acme[other], escalation.id)
        assert result["__typename"] == "NotPermitted", other

    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == kim.id
    assert (session.status, str(session.assignee_id)) == ("active", kim.id)
    assert events == ["escalated", "claimed"]


async def test_an_unclaimed_escalation_cannot_be_released(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])

    result = await release(api, team.acme["kim"], escalation.id)

    assert result["__typename"] == "NotPermitted"
    _, session, events = await stored(desk, escalation.id)
    assert session.status == "escalated"
    assert events == ["escalated"]


async def test_a_resolved_session_cannot_be_released(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["sam"])
    await claim(api, kim, escalation.id)
    resolved = await api.data(RESOLVE, {"id": str(escalation.session_id)}, token=kim.token)
    assert resolved["resolveSession"]["__typename"] == "ResolveSessionSuccess"

    result = await release(api, kim, escalation.id)

    assert result["__typename"] == "InvalidSessionState"
    assert result["status"] == "RESOLVED"
    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == kim.id
    assert session.status == "resolved"
    assert events == ["escalated", "claimed"]


async def test_twelve_concurrent_claims_have_exactly_one_winner(api, desk):
    people = [("Esme Escalator", Role.ENGINEER)]
    people += [(f"Claimer{n:02d} Senior", Role.ENGINEER) for n in range(12)]
    tenant = await make_tenant(desk, "Racers", people)
    escalation = await make_escalation(desk, tenant["esme"])
    claimers = [m for key, m in tenant.members.items() if key != "esme"]
    assert len(claimers) == 12

    answers = await asyncio.gather(*(claim(api, m, escalation.id) for m in claimers))

    winners = [
        (m, a)
        for m, a in zip(claimers, answers, strict=True)
        if a["__typename"] == "ClaimHandoffSuccess"
    ]
    losers = [a for a in answers if a["__typename"] == "AlreadyClaimed"]
    assert len(winners) == 1, [a["__typename"] for a in answers]
    assert len(losers) == 11, [a["__typename"] for a in answers]
    winner, won = winners[0]
    assert won["handoff"]["claimedBy"]["id"] == winner.id
    for lost in losers:
        assert lost["handoffId"] == str(escalation.id)
        assert lost["claimedBy"] == {"id": winner.id, "name": winner.user.name}
        assert lost["claimedAt"] == won["handoff"]["claimedAt"]

    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == winner.id
    assert (session.status, str(session.assignee_id)) == ("active", winner.id)
    assert events == ["escalated", "claimed"]


async def test_a_claim_leaves_other_sessions_alone(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam, "First")
    other = await make_escalation(desk, sam, "Second")
    untouched = await make_session(desk, sam, "Third")

    await claim(api, kim, escalation.id)

    _, other_session, _ = await stored(desk, other.id)
    assert (other_session.status, str(other_session.assignee_id)) == ("escalated", sam.id)
    async with desk.db.read() as db:
        third = await db.get(TroubleshootingSession, untouched.id)
    assert (third.status, str(third.assignee_id)) == ("active", sam.id)
