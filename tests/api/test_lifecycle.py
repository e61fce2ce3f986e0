"""An escalation's life after it is raised, through the API: withdrawn by its escalator,
re-prioritised, handed to a colleague, and never claimed by the one who raised it (unless the
account allows it). Each success is in the history and the event log; each refusal is a typed
answer and changes nothing. The races run sequentially here (either order, on both databases);
tests/postgres/test_lifecycle_races.py runs them at once on PostgreSQL. The live events:
tests/api/test_lifecycle_live.py."""

import uuid

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from db.enums import EmailStatus, HandoffIntent, JobKind, JobState, Priority
from db.models import AccountEvent, EmailMessage, Handoff, Job, TroubleshootingSession
from resolvers import accounts, handoffs
from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

HANDOFF = """
fragment Seen on Handoff {
  id priority claimedAt claimedBy { id } withdrawnAt withdrawnBy { id name }
  session { status assignee { id } }
  history { kind actor { id } to { id } priority previousPriority }
}
"""

WITHDRAW = (
    """
mutation($h: ID!) {
  withdrawHandoff(input: { handoffId: $h }) {
    __typename
    ... on WithdrawHandoffSuccess { handoff { ...Seen } }
    ... on AlreadyClaimed { handoffId claimedBy { id name } claimedAt message }
    ... on HandoffWithdrawn { handoffId withdrawnBy { id name } withdrawnAt message }
    ... on HandoffNotFound { handoffId message }
    ... on NotPermitted { message }
    ... on InvalidSessionState { status message }
  }
}
"""
    + HANDOFF
)

PRIORITY = (
    """
mutation($h: ID!, $p: Priority!) {
  setHandoffPriority(input: { handoffId: $h, priority: $p }) {
    __typename
    ... on SetHandoffPrioritySuccess { handoff { ...Seen } }
    ... on HandoffWithdrawn { handoffId withdrawnBy { id name } withdrawnAt message }
    ... on HandoffNotFound { handoffId message }
    ... on NotPermitted { message }
  }
}
"""
    + HANDOFF
)

TRANSFER = (
    """
mutation($h: ID!, $to: ID!) {
  transferHandoff(input: { handoffId: $h, to: $to }) {
    __typename
    ... on TransferHandoffSuccess { handoff { ...Seen } }
    ... on AlreadyClaimed { handoffId claimedBy { id name } claimedAt message }
    ... on NotClaimedByYou { handoffId message }
    ... on HandoffWithdrawn { handoffId withdrawnBy { id name } withdrawnAt message }
    ... on HandoffNotFound { handoffId message }
    ... on UserNotFound { userId message }
    ... on ColleagueCannotClaim { user { id name role active } message }
    ... on NotPermitted { message }
    ... on InvalidSessionState { status message }
  }
}
"""
    + HANDOFF
)

CLAIM = (
    """
mutation($h: ID!) {
  claimHandoff(input: { handoffId: $h }) {
    __typename
    ... on ClaimHandoffSuccess { handoff { ...Seen } }
    ... on AlreadyClaimed { handoffId claimedBy { id name } claimedAt message }
    ... on OwnEscalation { handoffId message }
    ... on HandoffWithdrawn { handoffId withdrawnBy { id name } withdrawnAt message }
    ... on HandoffNotFound { handoffId message }
    ... on NotPermitted { message }
  }
}
"""
    + HANDOFF
)

RELEASE = """
mutation($h: ID!) {
  releaseHandoff(input: { handoffId: $h }) {
    __typename
    ... on ReleaseHandoffSuccess { handoff { claimedBy { id } session { status assignee { id } } } }
    ... on NotPermitted { message }
    ... on InvalidSessionState { status message }
  }
}
"""

SELF_CLAIM = """
mutation($allowed: Boolean!) {
  setSelfClaimAllowed(input: { allowed: $allowed }) {
    __typename
    ... on SetSelfClaimAllowedSuccess { account { id allowSelfClaim } }
    ... on NotPermitted { message }
  }
}
"""

QUEUE = "{ handoffQueue(first: 50) { totalCount edges { node { id priority } } } }"
RESOLVE = "mutation($s: ID!) { resolveSession(input: { sessionId: $s }) { __typename } }"


async def withdraw(api, member, handoff_id):
    return (await api.data(WITHDRAW, {"h": str(handoff_id)}, member.token))["withdrawHandoff"]


async def set_priority(api, member, handoff_id, priority: str):
    variables = {"h": str(handoff_id), "p": priority}
    return (await api.data(PRIORITY, variables, member.token))["setHandoffPriority"]


async def transfer(api, member, handoff_id, to):
    variables = {"h": str(handoff_id), "to": str(to)}
    return (await api.data(TRANSFER, variables, member.token))["transferHandoff"]


async def claim(api, member, handoff_id):
    return (await api.data(CLAIM, {"h": str(handoff_id)}, member.token))["claimHandoff"]


async def release(api, member, handoff_id):
    return (await api.data(RELEASE, {"h": str(handoff_id)}, member.token))["releaseHandoff"]


async def claimed(api, member, handoff_id) -> dict:
    won = await claim(api, member, handoff_id)
    assert won["__typename"] == "ClaimHandoffSuccess", won
    return won["handoff"]


async def events_of(desk, handoff_id) -> list[AccountEvent]:
    """The handoff's entries of the event log, as stored."""
    async with desk.db.read() as db:
        stmt = (
            select(AccountEvent)
            .where(AccountEvent.handoff_id == handoff_id)
            .order_by(AccountEvent.seq)
        )
        return list((await db.exec(stmt)).all())


async def kinds_of(desk, handoff_id) -> list[str]:
    return [e.kind for e in await events_of(desk, handoff_id)]


async def stored(desk, handoff_id) -> tuple[Handoff, TroubleshootingSession]:
    async with desk.db.read() as db:
        handoff = await db.get(Handoff, handoff_id)
        return handoff, await db.get(TroubleshootingSession, handoff.session_id)


async def everything(desk) -> dict:
    """Every row of every table: what "nothing changed" is checked against."""
    async with desk.db.read_rows() as conn:
        return {
            table.name: sorted(
                map(repr, (await conn.execute(text(f"SELECT * FROM {table.name}"))).all())
            )
            for table in SQLModel.metadata.sorted_tables
        }


async def queue_ids(api, member) -> list[str]:
    answer = await api.data(QUEUE, token=member.token)
    return [e["node"]["id"] for e in answer["handoffQueue"]["edges"]]


# --- withdrawHandoff ----------------------------------------------------------------------------


async def test_the_escalator_takes_an_unclaimed_escalation_back(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    assert str(escalation.id) in await queue_ids(api, kim)

    result = await withdraw(api, sam, escalation.id)

    assert result["__typename"] == "WithdrawHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["withdrawnAt"] is not None
    assert handoff["withdrawnBy"] == {"id": sam.id, "name": "Sam Senior"}
    assert handoff["claimedBy"] is None
    # The session is the escalator's to work again, active.
    assert handoff["session"] == {"status": "ACTIVE", "assignee": {"id": sam.id}}
    assert [(e["kind"], e["actor"]["id"]) for e in handoff["history"]] == [
        ("ESCALATED", sam.id),
        ("WITHDRAWN", sam.id),
    ]
    # Out of the queue for everyone; still there by its id, as history.
    assert str(escalation.id) not in await queue_ids(api, kim)
    assert str(escalation.id) not in await queue_ids(api, sam)
    seen = await api.data(
        "query($h: ID!) { handoff(id: $h) { id withdrawnAt } }",
        {"h": str(escalation.id)},
        kim.token,
    )
    assert seen["handoff"] == {"id": str(escalation.id), "withdrawnAt": handoff["withdrawnAt"]}
    row, session = await stored(desk, escalation.id)
    assert (row.withdrawn_by_id, row.claimed_by_id) == (sam.user.id, None)
    assert (session.status, session.assignee_id) == ("active", sam.user.id)
    assert await kinds_of(desk, escalation.id) == ["escalated", "withdrawn"]
    # Its session goes on as any active one: a message, another escalation.
    again = await handoffs.create_handoff(
        desk,
        sam.viewer,
        escalation.session_id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes="still stuck after all",
        priority=Priority.HIGH,
    )
    assert isinstance(again, Handoff)
    assert str(again.id) in await queue_ids(api, kim)


async def test_an_admin_takes_back_anyones_escalation(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, sam)

    result = await withdraw(api, dana, escalation.id)

    assert result["__typename"] == "WithdrawHandoffSuccess"
    assert result["handoff"]["withdrawnBy"]["id"] == dana.id
    assert result["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": sam.id}}
    assert result["handoff"]["history"][-1]["actor"] == {"id": dana.id}
    assert await kinds_of(desk, escalation.id) == ["escalated", "withdrawn"]


@pytest.mark.parametrize("who", ["kim", "vic"])
async def test_nobody_else_may_withdraw(api, desk, team, who):
    escalation = await make_escalation(desk, team.acme["sam"])
    before = await everything(desk)

    result = await withdraw(api, team.acme[who], escalation.id)

    assert result["__typename"] == "NotPermitted"
    assert result["message"]
    assert await everything(desk) == before


async def test_withdrawing_what_is_not_an_escalation_of_the_account_is_not_found(api, desk, team):
    sam = team.acme["sam"]
    parked = await make_escalation(desk, sam, intent=HandoffIntent.PARK)
    theirs = await make_escalation(desk, team.globex["gus"])
    before = await everything(desk)

    for handoff_id, member in [
        (parked.id, sam),
        (theirs.id, team.acme["dana"]),
        (uuid.uuid4(), sam),
    ]:
        result = await withdraw(api, member, handoff_id)
        assert result == {
            "__typename": "HandoffNotFound",
            "handoffId": str(handoff_id),
            "message": "No such handoff.",
        }
    assert await everything(desk) == before


async def test_a_claim_first_then_a_withdrawal_the_withdrawal_is_told_who_claimed(api, desk, team):
    """The race, one order (sequentially, on both databases): the claim wins."""
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    won = await claimed(api, kim, escalation.id)
    before = await everything(desk)

    result = await withdraw(api, sam, escalation.id)

    assert result["__typename"] == "AlreadyClaimed"
    assert result["handoffId"] == str(escalation.id)
    assert result["claimedBy"] == {"id": kim.id, "name": "Kim Senior"}
    assert result["claimedAt"] == won["claimedAt"]
    assert "Kim Senior" in result["message"]
    assert await everything(desk) == before
    assert await kinds_of(desk, escalation.id) == ["escalated", "claimed"]


async def test_a_withdrawal_first_then_a_claim_the_claim_is_told_it_was_withdrawn(api, desk, team):
    """The race, the other order: the withdrawal wins, and a claim never takes it."""
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    taken_back = (await withdraw(api, sam, escalation.id))["handoff"]
    before = await everything(desk)

    result = await claim(api, kim, escalation.id)

    assert result["__typename"] == "HandoffWithdrawn"
    assert result["handoffId"] == str(escalation.id)
    assert result["withdrawnBy"] == {"id": sam.id, "name": "Sam Senior"}
    assert result["withdrawnAt"] == taken_back["withdrawnAt"]
    assert "Sam Senior" in result["message"]
    assert await everything(desk) == before
    assert await kinds_of(desk, escalation.id) == ["escalated", "withdrawn"]


async def test_a_repeated_withdrawal_is_a_no_op_and_anothers_is_told(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, sam)
    first = await withdraw(api, sam, escalation.id)
    before = await everything(desk)

    again = await withdraw(api, sam, escalation.id)
    admins = await withdraw(api, dana, escalation.id)

    assert again == first  # the same answer: nothing happened twice
    assert admins["__typename"] == "HandoffWithdrawn"
    assert admins["withdrawnBy"]["id"] == sam.id
    assert await everything(desk) == before


async def test_a_withdrawn_escalation_cannot_be_transferred_or_reprioritised(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, sam)
    await withdraw(api, sam, escalation.id)
    before = await everything(desk)

    moved = await transfer(api, dana, escalation.id, team.acme["kim"].id)
    urgent = await set_priority(api, sam, escalation.id, "URGENT")

    assert moved["__typename"] == urgent["__typename"] == "HandoffWithdrawn"
    assert moved["withdrawnBy"]["id"] == urgent["withdrawnBy"]["id"] == sam.id
    assert await everything(desk) == before


async def test_withdrawing_a_newer_escalation_gives_the_older_claim_back_to_its_claimer(
    api, desk, team
):
    """Kim claims Sam's escalation, escalates the session again, then takes that back: she works
    the session under the old claim again, and may release it (a withdrawn escalation does not
    supersede the one before it)."""
    sam, kim = team.acme["sam"], team.acme["kim"]
    first = await make_escalation(desk, sam)
    await claimed(api, kim, first.id)
    again = await handoffs.create_handoff(
        desk,
        kim.viewer,
        first.session_id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes="still stuck",
        priority=Priority.HIGH,
    )
    taken_back = await withdraw(api, kim, again.id)
    assert taken_back["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": kim.id}}

    released = await release(api, kim, first.id)

    assert released["__typename"] == "ReleaseHandoffSuccess"
    assert released["handoff"]["session"] == {"status": "ESCALATED", "assignee": {"id": sam.id}}
    assert await kinds_of(desk, first.id) == ["escalated", "claimed", "released"]


# --- setHandoffPriority -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sam", "kim", "dana"])  # escalator, claimer, admin
async def test_the_escalator_the_claimer_or_an_admin_changes_the_priority(api, desk, team, who):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam, priority=Priority.NORMAL)
    await claimed(api, kim, escalation.id)
    member = team.acme[who]

    result = await set_priority(api, member, escalation.id, "URGENT")

    assert result["__typename"] == "SetHandoffPrioritySuccess"
    assert result["handoff"]["priority"] == "URGENT"
    assert result["handoff"]["history"][-1] == {
        "kind": "PRIORITY_CHANGED",
        "actor": {"id": member.id},
        "to": None,
        "priority": "URGENT",
        "previousPriority": "NORMAL",
    }
    assert result["handoff"]["claimedBy"] == {"id": kim.id}  # nothing else moved
    row, _ = await stored(desk, escalation.id)
    assert (row.priority, row.priority_rank) == ("urgent", Priority.URGENT.rank)
    logged = (await events_of(desk, escalation.id))[-1]
    assert (logged.kind, logged.actor_id) == ("priority_changed", member.user.id)
    assert (logged.priority, logged.previous_priority) == ("urgent", "normal")


async def test_a_new_priority_moves_the_escalation_in_the_queue(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    older = await make_escalation(desk, sam, "Older", priority=Priority.HIGH)
    newer = await make_escalation(desk, sam, "Newer", priority=Priority.LOW)
    assert await queue_ids(api, kim) == [str(older.id), str(newer.id)]

    await set_priority(api, sam, newer.id, "URGENT")

    assert await queue_ids(api, kim) == [str(newer.id), str(older.id)]


@pytest.mark.parametrize("who", ["alex", "vic"])  # another engineer, a viewer
async def test_nobody_else_changes_the_priority(api, desk, team, who):
    escalation = await make_escalation(desk, team.acme["sam"])
    await claimed(api, team.acme["kim"], escalation.id)
    before = await everything(desk)

    result = await set_priority(api, team.acme[who], escalation.id, "URGENT")

    assert result["__typename"] == "NotPermitted"
    assert result["message"]
    assert await everything(desk) == before


async def test_the_same_priority_again_changes_nothing(api, desk, team):
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam, priority=Priority.HIGH)
    before = await everything(desk)

    result = await set_priority(api, sam, escalation.id, "HIGH")

    assert result["__typename"] == "SetHandoffPrioritySuccess"
    assert result["handoff"]["priority"] == "HIGH"
    assert await everything(desk) == before


async def test_reprioritising_another_accounts_or_a_park_is_not_found(api, desk, team):
    sam = team.acme["sam"]
    parked = await make_escalation(desk, sam, intent=HandoffIntent.PARK)
    theirs = await make_escalation(desk, team.globex["gus"])
    before = await everything(desk)

    for handoff_id, member in [(parked.id, sam), (theirs.id, team.acme["dana"])]:
        result = await set_priority(api, member, handoff_id, "LOW")
        assert result["__typename"] == "HandoffNotFound"
        assert result["handoffId"] == str(handoff_id)
    assert await everything(desk) == before


async def test_a_bad_priority_is_bad_input(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])
    variables = {"h": str(escalation.id), "p": "SOMEDAY"}
    error = await api.error(PRIORITY, variables, token=team.acme["sam"].token)
    assert error["message"]


# --- transferHandoff ----------------------------------------------------------------------------


async def test_the_claimer_hands_an_escalation_to_a_colleague(api, desk, team):
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, sam)
    held = await claimed(api, kim, escalation.id)

    result = await transfer(api, kim, escalation.id, alex.id)

    assert result["__typename"] == "TransferHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["claimedBy"] == {"id": alex.id}
    assert handoff["claimedAt"] > held["claimedAt"]  # since when Alex holds it
    assert handoff["session"] == {"status": "ACTIVE", "assignee": {"id": alex.id}}
    assert [(e["kind"], e["actor"]["id"], e["to"]) for e in handoff["history"]] == [
        ("ESCALATED", sam.id, None),
        ("CLAIMED", kim.id, None),
        ("TRANSFERRED", kim.id, {"id": alex.id}),
    ]
    row, session = await stored(desk, escalation.id)
    assert (row.claimed_by_id, session.assignee_id) == (alex.user.id, alex.user.id)
    logged = (await events_of(desk, escalation.id))[-1]
    assert (logged.kind, logged.actor_id, logged.to_user_id) == (
        "transferred",
        kim.user.id,
        alex.user.id,
    )
    # Alex works it now: Kim no longer may give it back, Alex may.
    assert (await release(api, kim, escalation.id))["__typename"] == "NotPermitted"
    back = await release(api, alex, escalation.id)
    assert back["__typename"] == "ReleaseHandoffSuccess"
    assert back["handoff"]["session"] == {"status": "ESCALATED", "assignee": {"id": sam.id}}


async def test_the_colleague_is_emailed_through_the_email_jobs(api, desk, team):
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, sam, "Label printer jams on floor 3")
    await claimed(api, kim, escalation.id)
    async with desk.db.read() as db:
        before = {e.id for e in (await db.exec(select(EmailMessage))).all()}

    await transfer(api, kim, escalation.id, alex.id)

    async with desk.db.read() as db:
        emails = [
            e
            for e in (await db.exec(select(EmailMessage))).all()
            if e.id not in before  # the escalation's own emails went to the seniors before
        ]
        jobs = (await db.exec(select(Job).where(Job.kind == JobKind.EMAIL))).all()
    # The colleague, and the escalator (issue 15: what became of what they escalated).
    (email,) = [e for e in emails if e.recipient_id == alex.user.id]
    (escalator,) = [e for e in emails if e.recipient_id != alex.user.id]
    assert (escalator.recipient_id, escalator.subject) == (
        sam.user.id,
        "Handed on: Label printer jams on floor 3",
    )
    assert "Kim Senior handed the escalation you raised to Alex Junior." in escalator.body
    assert (email.recipient_id, email.to_address) == (alex.user.id, alex.user.email)
    assert email.handoff_id == escalation.id
    assert email.status == EmailStatus.PENDING
    assert email.subject == "Handed to you: Label printer jams on floor 3"
    assert "Kim Senior handed you an escalation" in email.body
    assert f"/handoffs/{escalation.id}" in email.body
    (job,) = [j for j in jobs if j.subject_id == email.id]
    assert (job.state, job.account_id) == (JobState.PENDING, team.acme.account.id)


async def test_an_admin_hands_on_anyones_claim(api, desk, team):
    kim, sam, dana = team.acme["kim"], team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)

    result = await transfer(api, dana, escalation.id, sam.id)

    assert result["__typename"] == "TransferHandoffSuccess"
    assert result["handoff"]["claimedBy"] == {"id": sam.id}
    assert result["handoff"]["history"][-1]["actor"] == {"id": dana.id}
    assert result["handoff"]["history"][-1]["to"] == {"id": sam.id}


async def test_someone_elses_claim_is_not_yours_to_hand_on(api, desk, team):
    kim, sam = team.acme["kim"], team.acme["sam"]
    escalation = await make_escalation(desk, team.acme["alex"])
    held = await claimed(api, kim, escalation.id)
    before = await everything(desk)

    result = await transfer(api, sam, escalation.id, sam.id)
    viewers = await transfer(api, team.acme["vic"], escalation.id, sam.id)

    assert result["__typename"] == "AlreadyClaimed"
    assert result["claimedBy"] == {"id": kim.id, "name": "Kim Senior"}
    assert result["claimedAt"] == held["claimedAt"]
    assert viewers["__typename"] == "NotPermitted"
    assert await everything(desk) == before


async def test_an_unclaimed_escalation_has_no_claim_to_hand_on(api, desk, team):
    escalation = await make_escalation(desk, team.acme["alex"])
    before = await everything(desk)

    result = await transfer(api, team.acme["dana"], escalation.id, team.acme["kim"].id)

    assert result["__typename"] == "NotClaimedByYou"
    assert result["handoffId"] == str(escalation.id)
    assert "Nobody holds" in result["message"]
    assert await everything(desk) == before


@pytest.mark.parametrize("colleague", ["viewer", "deactivated"])
async def test_a_colleague_who_may_not_claim_is_refused(api, desk, team, colleague):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    if colleague == "viewer":
        to = team.acme["vic"]
    else:
        to = team.acme["sam"]
        assert (
            await accounts.deactivate_user(desk, team.acme["dana"].viewer, to.user.id)
        ).active is False
    before = await everything(desk)

    result = await transfer(api, kim, escalation.id, to.id)

    assert result["__typename"] == "ColleagueCannotClaim"
    assert result["user"]["id"] == to.id
    assert result["user"]["active"] is (colleague == "viewer")
    assert ("viewer" if colleague == "viewer" else "deactivated") in result["message"]
    assert await everything(desk) == before


async def test_another_accounts_user_answers_exactly_as_an_unknown_one(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    before = await everything(desk)
    gus, unknown = team.globex["gus"].id, str(uuid.uuid4())

    theirs = await api.post(TRANSFER, {"h": str(escalation.id), "to": gus}, kim.token)
    nobodys = await api.post(TRANSFER, {"h": str(escalation.id), "to": unknown}, kim.token)

    assert theirs["data"]["transferHandoff"] == {
        "__typename": "UserNotFound",
        "userId": gus,
        "message": "No such user.",
    }
    assert str(theirs).replace(gus, "<id>") == str(nobodys).replace(unknown, "<id>")
    assert await everything(desk) == before


async def test_a_malformed_colleague_id_is_bad_input(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    error = await api.error(TRANSFER, {"h": str(escalation.id), "to": "kim"}, token=kim.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_handing_it_to_its_holder_changes_nothing(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    before = await everything(desk)

    result = await transfer(api, kim, escalation.id, kim.id)

    assert result["__typename"] == "TransferHandoffSuccess"
    assert result["handoff"]["claimedBy"] == {"id": kim.id}
    assert await everything(desk) == before  # no event, no email


async def test_a_claim_may_be_handed_back_to_its_escalator(api, desk, team):
    """Claiming one's own is refused; being handed it by the one who claimed it is not."""
    alex, kim = team.acme["alex"], team.acme["kim"]
    escalation = await make_escalation(desk, alex)
    await claimed(api, kim, escalation.id)

    result = await transfer(api, kim, escalation.id, alex.id)

    assert result["__typename"] == "TransferHandoffSuccess"
    assert result["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": alex.id}}


async def test_a_resolved_session_is_not_handed_on(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    resolved = await api.data(RESOLVE, {"s": str(escalation.session_id)}, kim.token)
    assert resolved["resolveSession"]["__typename"] == "ResolveSessionSuccess"
    before = await everything(desk)

    result = await transfer(api, kim, escalation.id, team.acme["sam"].id)

    assert result["__typename"] == "InvalidSessionState"
    assert result["status"] == "RESOLVED"
    assert await everything(desk) == before  # the claim's change rolled back with the rest


async def test_handing_a_superseded_claim_back_leaves_the_newer_escalation_in_charge(
    api, desk, team
):
    """Kim claims Sam's escalation and escalates the session again; Alex claims that and hands
    it to Kim. Kim works the session under the newer escalation: releasing the old one must not
    put the session back in the queue under it."""
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    first = await make_escalation(desk, sam)
    await claimed(api, kim, first.id)
    again = await handoffs.create_handoff(
        desk,
        kim.viewer,
        first.session_id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes="still stuck",
        priority=Priority.HIGH,
    )
    await claimed(api, alex, again.id)
    handed = await transfer(api, alex, again.id, kim.id)
    assert handed["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": kim.id}}

    result = await release(api, kim, first.id)

    assert result["__typename"] == "InvalidSessionState"
    assert result["status"] == "ACTIVE"
    row, session = await stored(desk, again.id)
    assert (row.claimed_by_id, session.assignee_id) == (kim.user.id, kim.user.id)
    assert await kinds_of(desk, first.id) == ["escalated", "claimed"]


async def test_a_release_first_then_a_transfer_the_transfer_is_told_nobody_holds_it(
    api, desk, team
):
    """The race transfer vs release, one order (sequentially, on both databases)."""
    kim, dana = team.acme["kim"], team.acme["dana"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    assert (await release(api, kim, escalation.id))["__typename"] == "ReleaseHandoffSuccess"
    before = await everything(desk)

    for member in (kim, dana):  # the claimer's, and an admin's
        result = await transfer(api, member, escalation.id, team.acme["sam"].id)
        assert result["__typename"] == "NotClaimedByYou"
    assert await everything(desk) == before


async def test_a_transfer_first_then_a_release_the_release_is_told_who_holds_it(api, desk, team):
    """The race, the other order: an admin hands Kim's claim to Sam, then Kim releases."""
    kim, sam, dana = team.acme["kim"], team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, team.acme["alex"])
    await claimed(api, kim, escalation.id)
    await transfer(api, dana, escalation.id, sam.id)
    before = await everything(desk)

    result = await release(api, kim, escalation.id)

    assert result["__typename"] == "NotPermitted"
    assert "Sam Senior holds it now" in result["message"]
    assert await everything(desk) == before


async def test_a_transfer_first_then_another_the_second_is_told_who_holds_it(api, desk, team):
    kim, sam, dana, alex = (team.acme[k] for k in ("kim", "sam", "dana", "alex"))
    escalation = await make_escalation(desk, alex)
    await claimed(api, kim, escalation.id)
    first = await transfer(api, kim, escalation.id, sam.id)
    before = await everything(desk)

    again = await transfer(api, kim, escalation.id, sam.id)  # a retry: already done
    other = await transfer(api, kim, escalation.id, dana.id)  # Kim's other tab: too late

    assert again == first
    assert other["__typename"] == "AlreadyClaimed"
    assert other["claimedBy"] == {"id": sam.id, "name": "Sam Senior"}
    assert other["claimedAt"] == first["handoff"]["claimedAt"]
    assert await everything(desk) == before


# --- claiming one's own escalation --------------------------------------------------------------


async def test_claiming_ones_own_escalation_is_refused_with_a_pointer_to_withdraw(api, desk, team):
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam)
    before = await everything(desk)

    result = await claim(api, sam, escalation.id)

    assert result["__typename"] == "OwnEscalation"
    assert result["handoffId"] == str(escalation.id)
    assert "withdraw" in result["message"]
    assert await everything(desk) == before
    assert (await withdraw(api, sam, escalation.id))["__typename"] == "WithdrawHandoffSuccess"


async def test_an_account_may_let_its_users_claim_their_own(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    escalation = await make_escalation(desk, sam)
    account = "{ account { allowSelfClaim } }"
    assert (await api.data(account, token=sam.token))["account"] == {"allowSelfClaim": False}

    allowed = (await api.data(SELF_CLAIM, {"allowed": True}, dana.token))["setSelfClaimAllowed"]

    assert allowed == {
        "__typename": "SetSelfClaimAllowedSuccess",
        "account": {"id": str(team.acme.account.id), "allowSelfClaim": True},
    }
    assert (await api.data(account, token=sam.token))["account"] == {"allowSelfClaim": True}
    # Another account's setting is its own.
    globex = await api.data(account, token=team.globex["gus"].token)
    assert globex["account"] == {"allowSelfClaim": False}
    own = await claim(api, sam, escalation.id)
    assert own["__typename"] == "ClaimHandoffSuccess"
    assert own["handoff"]["session"] == {"status": "ACTIVE", "assignee": {"id": sam.id}}

    # Turned off again: refused again.
    await api.data(SELF_CLAIM, {"allowed": False}, dana.token)
    other = await make_escalation(desk, sam, "Another")
    assert (await claim(api, sam, other.id))["__typename"] == "OwnEscalation"


async def test_only_an_admin_sets_whether_people_claim_their_own(api, desk, team):
    before = await everything(desk)
    for who in ("sam", "vic"):
        answer = await api.data(SELF_CLAIM, {"allowed": True}, team.acme[who].token)
        assert answer["setSelfClaimAllowed"]["__typename"] == "NotPermitted"
    assert await everything(desk) == before
