"""Resuming a parked session through the API: the caller's own park, while it still holds its
session; the park stays in history with a RESUMED entry. (Where parks are listed:
tests/api/test_views.py.)"""

import asyncio

import pytest
from sqlmodel import select

from db.enums import HandoffIntent, MessageRole, Priority
from db.models import AccountEvent, Handoff, SessionMessage, TroubleshootingSession
from resolvers import handoffs, sessions
from tests.api.test_views import PARKED, hand_off, park, view
from tests.factories import Member

pytestmark = pytest.mark.anyio

RESUME = """
mutation Resume($id: ID!) {
  resumeParkedHandoff(input: { handoffId: $id }) {
    __typename
    ... on ResumeParkedHandoffSuccess {
      handoff {
        id intent
        session { id status handoffs { id intent } }
        history { kind actor { id } }
      }
    }
    ... on HandoffNotParked { handoffId sessionStatus message }
    ... on HandoffNotFound { handoffId }
    ... on NotPermitted { message }
  }
}
"""


async def resume(api, member: Member, handoff_id) -> dict:
    data = await api.data(RESUME, {"id": str(handoff_id)}, token=member.token)
    return data["resumeParkedHandoff"]


async def stored(desk, handoff: Handoff) -> tuple[str, list[str]]:
    """The park's session's status, and the park's events (kinds, oldest first)."""
    async with desk.db.read() as db:
        session = await db.get(TroubleshootingSession, handoff.session_id)
        events = (
            await db.exec(
                select(AccountEvent.kind)
                .where(AccountEvent.handoff_id == handoff.id)
                .order_by(AccountEvent.seq)
            )
        ).all()
    return session.status, list(events)


async def test_resuming_a_park_makes_its_session_active_and_keeps_the_park(api, desk, team):
    alex = team.acme["alex"]
    parked = await park(desk, alex)
    assert [e["node"]["id"] for e in (await view(api, alex, PARKED))["edges"]] == [str(parked.id)]

    result = await resume(api, alex, parked.id)

    assert result["__typename"] == "ResumeParkedHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["id"] == str(parked.id)
    assert handoff["intent"] == "PARK"
    assert handoff["session"]["status"] == "ACTIVE"
    # The park stays in history: among the session's handoffs, with a RESUMED entry by alex.
    assert handoff["session"]["handoffs"] == [{"id": str(parked.id), "intent": "PARK"}]
    assert handoff["history"] == [{"kind": "RESUMED", "actor": {"id": alex.id}}]
    assert (await view(api, alex, PARKED))["edges"] == []
    assert await stored(desk, parked) == ("active", ["resumed"])
    # The resumed session is the engineer's to work again.
    message = await sessions.add_message(
        desk,
        alex.viewer,
        parked.session_id,
        role=MessageRole.ENGINEER,
        content="Back on it",
        confidence_tier=None,
    )
    assert isinstance(message, SessionMessage), message


async def test_a_park_resumed_already_is_not_parked(api, desk, team):
    alex = team.acme["alex"]
    parked = await park(desk, alex)
    await resume(api, alex, parked.id)

    again = await resume(api, alex, parked.id)

    assert again == {
        "__typename": "HandoffNotParked",
        "handoffId": str(parked.id),
        "sessionStatus": "ACTIVE",
        "message": "The session is no longer parked on this handoff: it is active.",
    }
    assert await stored(desk, parked) == ("active", ["resumed"])


async def test_another_users_park_is_not_found_and_stays_parked(api, desk, team):
    parked = await park(desk, team.acme["kim"])

    for member in (team.acme["alex"], team.acme["dana"], team.globex["gail"]):
        result = await resume(api, member, parked.id)
        assert result == {"__typename": "HandoffNotFound", "handoffId": str(parked.id)}

    assert await stored(desk, parked) == ("paused", [])


async def test_an_escalation_is_not_a_park(api, desk, team):
    alex = team.acme["alex"]
    escalation = await hand_off(desk, alex, "Printer offline", "tried")

    result = await resume(api, alex, escalation.id)

    assert result == {
        "__typename": "HandoffNotParked",
        "handoffId": str(escalation.id),
        "sessionStatus": None,
        "message": "This handoff is an escalation, not a park.",
    }
    assert await stored(desk, escalation) == ("escalated", ["escalated"])


async def test_a_park_its_session_moved_on_from_is_not_parked(api, desk, team):
    alex = team.acme["alex"]
    # Parked twice: the first park no longer holds the session, the second does.
    first = await park(desk, alex, "Parked twice")
    second = await handoffs.create_handoff(
        desk,
        alex.viewer,
        first.session_id,
        intent=HandoffIntent.PARK,
        engineer_notes="again",
        priority=Priority.NORMAL,
    )
    assert isinstance(second, Handoff), second
    # Parked, then escalated; parked, then resolved.
    escalated = await park(desk, alex, "Escalated after all")
    assert isinstance(
        await handoffs.create_handoff(
            desk,
            alex.viewer,
            escalated.session_id,
            intent=HandoffIntent.ESCALATE,
            engineer_notes="",
            priority=Priority.HIGH,
        ),
        Handoff,
    )
    resolved = await park(desk, alex, "Resolved while parked")
    assert isinstance(
        await sessions.resolve_session(desk, alex.viewer, resolved.session_id),
        TroubleshootingSession,
    )
    parked = await view(api, alex, PARKED)
    assert [e["node"]["id"] for e in parked["edges"]] == [str(second.id)]

    answers = {
        "first": await resume(api, alex, first.id),
        "escalated": await resume(api, alex, escalated.id),
        "resolved": await resume(api, alex, resolved.id),
    }

    assert {k: (a["__typename"], a["sessionStatus"]) for k, a in answers.items()} == {
        "first": ("HandoffNotParked", "PAUSED"),
        "escalated": ("HandoffNotParked", "ESCALATED"),
        "resolved": ("HandoffNotParked", "RESOLVED"),
    }
    assert answers["first"]["message"] == (
        "The session was parked again since: resume its latest park."
    )
    assert await stored(desk, first) == ("paused", [])
    assert (await resume(api, alex, second.id))["__typename"] == "ResumeParkedHandoffSuccess"
    assert await stored(desk, second) == ("active", ["resumed"])


async def test_a_user_who_may_no_longer_work_sessions_may_not_resume(api, desk, team):
    kim = team.acme["kim"]
    parked = await park(desk, kim)
    demoted = await api.data(
        "mutation($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { __typename } }",
        {"id": kim.id},
        token=team.acme["dana"].token,
    )
    assert demoted["setUserRole"]["__typename"] == "SetUserRoleSuccess"

    result = await resume(api, kim, parked.id)

    assert result == {
        "__typename": "NotPermitted",
        "message": "Viewers may read sessions but not work them.",
    }
    assert await stored(desk, parked) == ("paused", [])


async def test_a_malformed_id_is_bad_input(api, team):
    error = await api.error(RESUME, {"id": "not-an-id"}, token=team.acme["alex"].token)

    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_two_concurrent_resumes_of_one_park_resume_it_once(api, desk, team):
    alex = team.acme["alex"]
    parked = await park(desk, alex)

    answers = await asyncio.gather(*(resume(api, alex, parked.id) for _ in range(2)))

    kinds = sorted(a["__typename"] for a in answers)
    assert kinds == ["HandoffNotParked", "ResumeParkedHandoffSuccess"]
    assert await stored(desk, parked) == ("active", ["resumed"])


async def test_a_resume_racing_an_escalation_of_the_session_one_wins(api, desk, team):
    alex = team.acme["alex"]
    parked = await park(desk, alex)
    escalate = """
    mutation($s: ID!) {
      createHandoff(input: {sessionId: $s, intent: ESCALATE}) { __typename }
    }
    """

    resumed, escalated = await asyncio.gather(
        resume(api, alex, parked.id),
        api.data(escalate, {"s": str(parked.session_id)}, token=alex.token),
    )

    status, events = await stored(desk, parked)
    if resumed["__typename"] == "ResumeParkedHandoffSuccess":
        # Resumed first: the escalation then found an active session, and escalated it.
        assert escalated["createHandoff"]["__typename"] == "CreateHandoffSuccess"
        assert (status, events) == ("escalated", ["resumed"])
    else:
        # Escalated first: the park no longer holds the session.
        assert resumed["sessionStatus"] == "ESCALATED"
        assert (status, events) == ("escalated", [])
