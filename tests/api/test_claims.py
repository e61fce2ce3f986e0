"""Claiming and releasing escalations through the API: exactly one senior wins."""

import asyncio
import threading
import uuid

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import select, update

from db.engine import Database
from db.enums import HandoffIntent, Priority, Role
from db.models import AccountEvent, Handoff, TroubleshootingSession, User
from handoff_desk.app import create_app
from resolvers import claims, handoffs
from resolvers.desk import Desk
from tests.conftest import Api
from tests.factories import make_escalation, make_session, make_tenant

pytestmark = pytest.mark.anyio

CLAIM = """
mutation Claim($id: ID!) {
  claimHandoff(input: { handoffId: $id }) {
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
  releaseHandoff(input: { handoffId: $id }) {
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
mutation Resolve($id: ID!) { resolveSession(input: { sessionId: $id }) { __typename } }
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
    # The refusal says who holds it (not a viewer's: `vic` may not release at all).
    refused = await release(api, team.acme["alex"], escalation.id)
    assert refused["message"] == (
        "Only the engineer who claimed this escalation may release it. Kim Senior holds it now."
    )

    row, session, events = await stored(desk, escalation.id)
    assert str(row.claimed_by_id) == kim.id
    assert (session.status, str(session.assignee_id)) == ("active", kim.id)
    assert events == ["escalated", "claimed"]


async def test_an_unclaimed_escalation_cannot_be_released(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])

    result = await release(api, team.acme["kim"], escalation.id)

    assert result == {
        "__typename": "NotPermitted",
        "message": "Only the engineer who claimed this escalation may release it. "
        "Nobody holds it now.",
    }
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


async def test_claims_racing_releases_always_get_a_typed_answer(api, desk, team):
    """Each round the holder releases while two others claim (and the holder claims again), all
    at once: every answer is a member of its union, and at most one claim wins a round."""
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam)
    racers = [team.acme["kim"], team.acme["alex"], team.acme["dana"]]
    holder = racers[0]
    assert (await claim(api, holder, escalation.id))["__typename"] == "ClaimHandoffSuccess"
    answers = []

    for round_ in range(20):
        others = [m for m in racers if m is not holder]
        released, *claimed = await asyncio.gather(
            api.post(RELEASE, {"id": str(escalation.id)}, token=holder.token),
            *(api.post(CLAIM, {"id": str(escalation.id)}, token=m.token) for m in others),
            api.post(CLAIM, {"id": str(escalation.id)}, token=holder.token),
        )
        for body in (released, *claimed):
            assert not body.get("errors"), (round_, body)
        assert released["data"]["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess"
        results = [c["data"]["claimHandoff"] for c in claimed]
        answers += [r["__typename"] for r in results]
        assert {r["__typename"] for r in results} <= {"ClaimHandoffSuccess", "AlreadyClaimed"}
        won = [
            m
            for m, r in zip([*others, holder], results, strict=True)
            if r["__typename"] == "ClaimHandoffSuccess"
        ]
        # The holder's own claim may have run before its release: a no-op success, then freed.
        row, session, _ = await stored(desk, escalation.id)
        if row.claimed_by_id is None:
            assert (session.status, session.assignee_id) == ("escalated", sam.user.id)
            holder = racers[round_ % 3]
            assert (await claim(api, holder, escalation.id))["__typename"] == "ClaimHandoffSuccess"
            continue
        holder = next(m for m in racers if m.user.id == row.claimed_by_id)
        assert holder in won, (round_, results)
        assert str(session.assignee_id) == holder.id
        for result in results:
            if result["__typename"] == "AlreadyClaimed":
                assert result["claimedBy"]["id"] in {m.id for m in racers}
    assert "AlreadyClaimed" in answers and "ClaimHandoffSuccess" in answers


async def test_a_claim_that_finds_the_holder_releasing_gets_a_typed_answer(settings, desk, team):
    """Alex's claim finds Kim holding the escalation; Kim's release commits before Alex's claim
    reads who holds it. On PostgreSQL the escalation is free by then and Alex gets it; SQLite's
    writers are serialized, so there the release waits and Alex is told Kim has it."""
    kim, alex = team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, team.acme["sam"])
    app = create_app(settings)
    releasing: list[threading.Thread] = []
    answers: list = []

    def release_elsewhere() -> None:
        async def run() -> None:
            other = Desk(settings=settings, db=Database.from_url(settings.database_url))
            try:
                answers.append(await claims.release_handoff(other, kim.viewer, escalation.id))
            finally:
                await other.db.dispose()

        asyncio.run(run())

    def after_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if releasing or not statement.startswith("UPDATE handoff SET claimed_by_id"):
            return
        releasing.append(threading.Thread(target=release_elsewhere))
        releasing[0].start()
        if not desk.db.is_sqlite:
            releasing[0].join(timeout=30)  # committed before the claim goes on

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            api = Api(client)
            assert (await claim(api, kim, escalation.id))["__typename"] == "ClaimHandoffSuccess"
            engine = app.state.desk.db.engine.sync_engine
            event.listen(engine, "after_cursor_execute", after_execute)
            try:
                body = await api.post(CLAIM, {"id": str(escalation.id)}, token=alex.token)
            finally:
                event.remove(engine, "after_cursor_execute", after_execute)
    await asyncio.to_thread(releasing[0].join, 30)

    assert not body.get("errors"), body
    assert [type(a).__name__ for a in answers] == ["Handoff"]  # Kim's release went through
    result = body["data"]["claimHandoff"]
    row, session, events = await stored(desk, escalation.id)
    if desk.db.is_sqlite:
        assert result["__typename"] == "AlreadyClaimed"
        assert result["claimedBy"]["id"] == kim.id
        assert row.claimed_by_id is None
        assert events == ["escalated", "claimed", "released"]
    else:
        assert result["__typename"] == "ClaimHandoffSuccess"
        assert result["handoff"]["claimedBy"]["id"] == alex.id
        assert (str(row.claimed_by_id), str(session.assignee_id)) == (alex.id, alex.id)
        assert events == ["escalated", "claimed", "released", "claimed"]


async def test_releasing_a_superseded_escalation_leaves_the_newer_one_in_charge(api, desk, team):
    """Kim claims Sam's escalation, escalates the session again and Alex claims that one (her
    own she may not claim): the old escalation is history, and releasing it must not put the
    session back under it. (With the newer one handed back to Kim: tests/api/test_lifecycle.py.)"""
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    first = await make_escalation(desk, sam)
    assert (await claim(api, kim, first.id))["__typename"] == "ClaimHandoffSuccess"
    again = await handoffs.create_handoff(
        desk,
        kim.viewer,
        first.session_id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes="still stuck",
        priority=Priority.HIGH,
    )
    assert (await claim(api, alex, again.id))["__typename"] == "ClaimHandoffSuccess"

    result = await release(api, kim, first.id)

    assert result["__typename"] == "InvalidSessionState"
    assert result["status"] == "ACTIVE"
    _, session, events = await stored(desk, again.id)
    assert (session.status, str(session.assignee_id)) == ("active", alex.id)
    assert events == ["escalated", "claimed"]
    row, _, events = await stored(desk, first.id)
    assert str(row.claimed_by_id) == kim.id  # kept as history, out of the unclaimed queue
    assert events == ["escalated", "claimed"]
    # The newer escalation is released as usual, back to the one who made it.
    released = await release(api, alex, again.id)
    assert released["__typename"] == "ReleaseHandoffSuccess"
    assert released["handoff"]["session"] == {"status": "ESCALATED", "assignee": {"id": kim.id}}


async def test_an_admin_releases_a_claim_held_by_a_deactivated_user(api, desk, team):
    sam, kim, dana = team.acme["sam"], team.acme["kim"], team.acme["dana"]
    escalation = await make_escalation(desk, sam)
    assert (await claim(api, kim, escalation.id))["__typename"] == "ClaimHandoffSuccess"
    # While Kim is active her claim is hers alone to give back.
    assert (await release(api, dana, escalation.id))["__typename"] == "NotPermitted"
    # Deactivated as before deactivation gave claims back (or as a claim racing it commits).
    async with desk.db.write() as db:
        await db.exec(update(User).where(User.id == kim.user.id).values(active=False))

    refused = await release(api, team.acme["alex"], escalation.id)  # not for other engineers
    released = await release(api, dana, escalation.id)

    assert refused["__typename"] == "NotPermitted"
    assert released["__typename"] == "ReleaseHandoffSuccess"
    assert released["handoff"]["claimedBy"] is None
    assert released["handoff"]["session"] == {"status": "ESCALATED", "assignee": {"id": sam.id}}
    assert released["handoff"]["history"][-1] == {"kind": "RELEASED", "actor": {"id": dana.id}}
    reclaimed = await claim(api, team.acme["alex"], escalation.id)
    assert reclaimed["__typename"] == "ClaimHandoffSuccess"


@pytest.mark.parametrize("change", ["deactivate", "demote"])
async def test_a_claim_authorized_before_its_callers_access_changed_is_refused(
    api, desk, team, change
):
    """The claim was authenticated as the request began; the caller was deactivated (or made a
    viewer) before it committed. The database's truth at the claim decides, not the request's."""
    sam, dana = team.acme["sam"], team.acme["dana"]
    handoff = await make_escalation(desk, team.acme["alex"])
    as_authenticated = sam.viewer  # what the request read before the admin's change
    if change == "deactivate":
        mutation = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }"
        variables = {"u": str(sam.user.id)}
    else:
        mutation = (
            "mutation($u: ID!) { setUserRole(input: { userId: $u, role: VIEWER }) { __typename } }"
        )
        variables = {"u": str(sam.user.id)}
    await api.data(mutation, variables, token=dana.token)

    outcome = await claims.claim_handoff(desk, as_authenticated, handoff.id)

    assert type(outcome).__name__ == "NotPermitted", outcome
    async with desk.db.read() as session:
        row = await session.get(Handoff, handoff.id)
    assert row.claimed_by_id is None
