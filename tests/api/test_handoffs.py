"""Handing a session off through the API: escalate to the team, or park it privately."""

import asyncio

import pytest
from sqlmodel import func, select

from db.enums import HandoffIntent
from db.models import (
    AccountEvent,
    EmailMessage,
    Handoff,
    Job,
    TroubleshootingSession,
)
from tests.factories import make_escalation, make_session

pytestmark = pytest.mark.anyio


SNAPSHOT = """
  takenAt problemSummary intakeType intakeContent status confidenceTier handoffCount
  messages { position role content }
"""


CREATE = f"""
mutation Create($input: CreateHandoffInput!) {{
  createHandoff(input: $input) {{
    __typename
    ... on CreateHandoffSuccess {{
      handoff {{
        id intent priority engineerNotes createdAt claimedAt
        createdBy {{ id name }}
        claimedBy {{ id }}
        snapshot {{ {SNAPSHOT} }}
        assessment {{ status summary suggestedSteps }}
        history {{ kind actor {{ id name }} }}
        session {{
          id status handoffCount
          escalationPackage {{
            handoffId escalatedAt
            snapshot {{ {SNAPSHOT} }}
            conversationPath {{ position role excerpt }}
          }}
        }}
      }}
    }}
    ... on InvalidSessionState {{ status message }}
    ... on NotPermitted {{ message }}
    ... on SessionNotFound {{ sessionId }}
  }}
}}
"""


HANDOFF = f"""
query One($id: ID!) {{
  handoff(id: $id) {{
    id intent
    snapshot {{ {SNAPSHOT} }}
    session {{
      status handoffCount messages {{ position content }}
      escalationPackage {{ handoffId snapshot {{ {SNAPSHOT} }} conversationPath {{ position }} }}
    }}
  }}
}}
"""


QUEUE = """
query Queue { handoffQueue(first: 100) { totalCount nodes { id intent } } }
"""


SESSION_HANDOFFS = """
query One($id: ID!) { session(id: $id) { handoffs { id intent } } }
"""


ADD = """
mutation Add($input: AddSessionMessageInput!) {
  addSessionMessage(input: $input) { __typename }
}
"""


CLAIM = """
mutation Claim($id: ID!) { claimHandoff(input: { handoffId: $id }) { __typename } }
"""


DEACTIVATE = """
mutation Deactivate($id: ID!) { deactivateUser(input: { userId: $id }) { __typename } }
"""


def handoff_input(session_id, intent="ESCALATE", notes="Rebooted twice.", priority="HIGH"):
    return {
        "input": {
            "sessionId": str(session_id),
            "intent": intent,
            "engineerNotes": notes,
            "priority": priority,
        }
    }


async def create(api, member, session_id, **kwargs):
    data = await api.data(CREATE, handoff_input(session_id, **kwargs), token=member.token)
    return data["createHandoff"]


async def count(desk, model) -> int:
    async with desk.db.read() as db:
        return (await db.exec(select(func.count()).select_from(model))).one()


async def stored_session(desk, session_id) -> TroubleshootingSession:
    async with desk.db.read() as db:
        return await db.get(TroubleshootingSession, session_id)


async def stored_emails(desk) -> list[EmailMessage]:
    async with desk.db.read() as db:
        return list((await db.exec(select(EmailMessage))).all())


async def test_escalating_packages_the_session_for_the_team(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, "Printer offline", turns=3)

    result = await create(api, sam, session.id)

    assert result["__typename"] == "CreateHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["intent"] == "ESCALATE"
    assert handoff["priority"] == "HIGH"
    assert handoff["engineerNotes"] == "Rebooted twice."
    assert handoff["createdBy"] == {"id": sam.id, "name": "Sam Senior"}
    assert handoff["claimedBy"] is None
    assert handoff["claimedAt"] is None
    assert handoff["assessment"] == {"status": "PENDING", "summary": None, "suggestedSteps": []}
    assert handoff["history"] == [
        {"kind": "ESCALATED", "actor": {"id": sam.id, "name": "Sam Senior"}}
    ]

    snapshot = handoff["snapshot"]
    assert snapshot["problemSummary"] == "Printer offline"
    assert snapshot["intakeType"] == "CHAT"
    assert snapshot["intakeContent"] == "Customer reports a problem."
    assert snapshot["status"] == "ACTIVE"  # as it stood when handed off
    assert snapshot["handoffCount"] == 0
    assert snapshot["messages"] == [
        {"position": 1, "role": "CUSTOMER", "content": "turn 1"},
        {"position": 2, "role": "ASSISTANT", "content": "turn 2"},
        {"position": 3, "role": "CUSTOMER", "content": "turn 3"},
    ]

    after = handoff["session"]
    assert after["status"] == "ESCALATED"
    assert after["handoffCount"] == 1
    package = after["escalationPackage"]
    assert package["handoffId"] == handoff["id"]
    assert package["snapshot"] == snapshot
    assert package["conversationPath"] == [
        {"position": 1, "role": "CUSTOMER", "excerpt": "turn 1"},
        {"position": 2, "role": "ASSISTANT", "excerpt": "turn 2"},
        {"position": 3, "role": "CUSTOMER", "excerpt": "turn 3"},
    ]

    # The database agrees.
    row = await stored_session(desk, session.id)
    assert row.status == "escalated"
    assert row.handoff_count == 1
    async with desk.db.read() as db:
        stored = (await db.exec(select(Handoff))).all()
        # (Each of the session's messages is an event too: MESSAGE_ADDED, the session's own.)
        events = (
            await db.exec(select(AccountEvent).where(AccountEvent.kind != "message_added"))
        ).all()
    assert [str(h.id) for h in stored] == [handoff["id"]]
    assert stored[0].assessment_status == "pending"
    assert [(e.kind, str(e.actor_id), str(e.handoff_id)) for e in events] == [
        ("escalated", sam.id, handoff["id"])
    ]


async def test_the_conversation_path_shows_each_turns_first_line(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=0)
    long_line = "x" * 300
    for content in ("First line\nsecond line", long_line):
        await api.data(
            ADD,
            {"input": {"sessionId": str(session.id), "role": "CUSTOMER", "content": content}},
            token=sam.token,
        )

    result = await create(api, sam, session.id)

    path = result["handoff"]["session"]["escalationPackage"]["conversationPath"]
    assert path[0]["excerpt"] == "First line"
    assert len(path[1]["excerpt"]) < len(long_line)
    assert long_line.startswith(path[1]["excerpt"].rstrip("…"))
    # The snapshot keeps the full text.
    assert result["handoff"]["snapshot"]["messages"][1]["content"] == long_line


async def test_the_snapshot_does_not_follow_later_changes(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    session = await make_session(desk, sam, turns=2)
    escalated = (await create(api, sam, session.id))["handoff"]

    claim = await api.data(CLAIM, {"id": escalated["id"]}, token=kim.token)
    assert claim["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    added = await api.data(
        ADD,
        {"input": {"sessionId": str(session.id), "role": "ENGINEER", "content": "Kim: fixed"}},
        token=kim.token,
    )
    assert added["addSessionMessage"]["__typename"] == "AddSessionMessageSuccess"

    data = await api.data(HANDOFF, {"id": escalated["id"]}, token=kim.token)
    handoff = data["handoff"]
    # The live session moved on ...
    assert handoff["session"]["status"] == "ACTIVE"
    assert [m["content"] for m in handoff["session"]["messages"]] == [
        "turn 1",
        "turn 2",
        "Kim: fixed",
    ]
    # ... the snapshot did not.
    assert handoff["snapshot"] == escalated["snapshot"]
    assert [m["content"] for m in handoff["snapshot"]["messages"]] == ["turn 1", "turn 2"]
    assert handoff["session"]["escalationPackage"]["snapshot"] == escalated["snapshot"]
    assert len(handoff["session"]["escalationPackage"]["conversationPath"]) == 2


async def test_a_teammate_sees_the_escalation(api, desk, team):
    escalation = await make_escalation(desk, team.acme["sam"])

    data = await api.data(HANDOFF, {"id": str(escalation.id)}, token=team.acme["kim"].token)
    assert data["handoff"]["id"] == str(escalation.id)
    assert data["handoff"]["intent"] == "ESCALATE"

    data = await api.data(QUEUE, token=team.acme["kim"].token)
    assert [n["id"] for n in data["handoffQueue"]["nodes"]] == [str(escalation.id)]

    # Another account does not.
    data = await api.data(HANDOFF, {"id": str(escalation.id)}, token=team.globex["gus"].token)
    assert data["handoff"] is None


async def test_escalating_an_escalated_session_is_refused_and_changes_nothing(api, desk, team):
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam)
    before = {m: await count(desk, m) for m in (Handoff, AccountEvent, EmailMessage, Job)}

    result = await create(api, sam, escalation.session_id)

    assert result["__typename"] == "InvalidSessionState"
    assert result["status"] == "ESCALATED"
    assert result["message"]
    assert {m: await count(desk, m) for m in before} == before
    row = await stored_session(desk, escalation.session_id)
    assert row.status == "escalated"
    assert row.handoff_count == 1
    assert row.escalation_package["handoff_id"] == str(escalation.id)


async def test_two_concurrent_escalations_of_one_session_make_one_handoff(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)
    events_before = await count(desk, AccountEvent)  # the session's messages'

    results = await asyncio.gather(*(create(api, sam, session.id) for _ in range(2)))

    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["CreateHandoffSuccess", "InvalidSessionState"]
    assert await count(desk, Handoff) == 1
    assert await count(desk, AccountEvent) == events_before + 1
    assert await count(desk, EmailMessage) == 3
    row = await stored_session(desk, session.id)
    assert (row.status, row.handoff_count) == ("escalated", 1)


async def test_a_viewer_may_not_hand_off(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    for intent in ("ESCALATE", "PARK"):
        result = await create(api, team.acme["vic"], session.id, intent=intent)
        assert result["__typename"] == "NotPermitted"

    assert await count(desk, Handoff) == 0
    row = await stored_session(desk, session.id)
    assert (row.status, row.handoff_count) == ("active", 0)


async def test_a_teammate_who_does_not_work_the_session_may_not_hand_it_off(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    result = await create(api, team.acme["kim"], session.id)

    assert result["__typename"] == "NotPermitted"
    assert await count(desk, Handoff) == 0
    assert (await stored_session(desk, session.id)).status == "active"


async def test_another_accounts_session_is_not_found(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    result = await create(api, team.globex["gus"], session.id)

    assert result == {"__typename": "SessionNotFound", "sessionId": str(session.id)}
    assert await count(desk, Handoff) == 0


async def test_engineer_notes_over_10000_characters_are_refused_and_nothing_is_stored(
    api, desk, team
):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)

    error = await api.error(CREATE, handoff_input(session.id, notes="n" * 10_001), token=sam.token)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "engineerNotes" in error["message"]
    assert await count(desk, Handoff) == 0
    assert await count(desk, EmailMessage) == 0
    row = await stored_session(desk, session.id)
    assert (row.status, row.handoff_count, row.escalation_package) == ("active", 0, None)


async def test_engineer_notes_of_exactly_10000_characters_are_accepted(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)

    result = await create(api, sam, session.id, notes="n" * 10_000)

    assert result["__typename"] == "CreateHandoffSuccess"
    assert len(result["handoff"]["engineerNotes"]) == 10_000


@pytest.mark.parametrize("priority", ["CRITICAL", "high", ""])
async def test_a_wrong_priority_is_a_graphql_error(api, desk, team, priority):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)

    error = await api.error(CREATE, handoff_input(session.id, priority=priority), token=sam.token)

    assert f"Value '{priority}' does not exist in 'Priority' enum" in error["message"]
    assert await count(desk, Handoff) == 0
    assert (await stored_session(desk, session.id)).status == "active"


async def test_a_wrong_priority_literal_is_a_graphql_error(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)
    query = (
        f'mutation {{ createHandoff(input: {{sessionId: "{session.id}", intent: ESCALATE, '
        "priority: SEVERE}) { __typename } }"
    )

    body = await api.post(query, token=sam.token)

    assert body["data"] is None
    assert "'SEVERE' does not exist in 'Priority' enum" in body["errors"][0]["message"]
    assert await count(desk, Handoff) == 0


async def test_parking_pauses_the_session_privately(api, desk, team):
    sam, kim, dana = team.acme["sam"], team.acme["kim"], team.acme["dana"]
    session = await make_session(desk, sam)

    result = await create(api, sam, session.id, intent="PARK", priority="NORMAL")

    assert result["__typename"] == "CreateHandoffSuccess"
    handoff = result["handoff"]
    assert handoff["intent"] == "PARK"
    assert handoff["session"]["status"] == "PAUSED"
    assert handoff["session"]["handoffCount"] == 1
    assert handoff["session"]["escalationPackage"] is None
    assert handoff["history"] == []
    row = await stored_session(desk, session.id)
    assert (row.status, row.handoff_count) == ("paused", 1)

    # Not in anyone's queue, the parker's included.
    for member in (sam, kim, dana):
        data = await api.data(QUEUE, token=member.token)
        assert data["handoffQueue"] == {"totalCount": 0, "nodes": []}, member.user.name

    # Its creator sees it; a teammate does not.
    data = await api.data(HANDOFF, {"id": handoff["id"]}, token=sam.token)
    assert data["handoff"]["id"] == handoff["id"]
    assert data["handoff"]["intent"] == "PARK"
    data = await api.data(HANDOFF, {"id": handoff["id"]}, token=kim.token)
    assert data["handoff"] is None
    data = await api.data(HANDOFF, {"id": handoff["id"]}, token=dana.token)
    assert data["handoff"] is None

    # The same on the session's list of handoffs.
    data = await api.data(SESSION_HANDOFFS, {"id": str(session.id)}, token=sam.token)
    assert data["session"]["handoffs"] == [{"id": handoff["id"], "intent": "PARK"}]
    data = await api.data(SESSION_HANDOFFS, {"id": str(session.id)}, token=kim.token)
    assert data["session"]["handoffs"] == []


async def test_a_parked_session_can_be_escalated_later(api, desk, team):
    sam = team.acme["sam"]
    parked = await make_escalation(desk, sam, intent=HandoffIntent.PARK)

    result = await create(api, sam, parked.session_id)

    assert result["__typename"] == "CreateHandoffSuccess"
    assert result["handoff"]["snapshot"]["status"] == "PAUSED"
    assert result["handoff"]["snapshot"]["handoffCount"] == 1
    assert result["handoff"]["session"]["status"] == "ESCALATED"
    assert result["handoff"]["session"]["handoffCount"] == 2


async def test_an_escalation_records_one_email_per_teammate_who_works_sessions(api, desk, team):
    acme, globex = team.acme, team.globex
    session = await make_session(desk, acme["sam"], "Mail server rejects logins")

    result = await create(api, acme["sam"], session.id)
    handoff_id = result["handoff"]["id"]

    emails = await stored_emails(desk)
    recipients = sorted(str(e.recipient_id) for e in emails)
    assert recipients == sorted([acme["dana"].id, acme["kim"].id, acme["alex"].id])
    addresses = {e.to_address for e in emails}
    assert addresses == {acme[k].user.email for k in ("dana", "kim", "alex")}
    # Never the escalator, the viewer, or another account's users.
    never = {acme["sam"].id, acme["vic"].id, globex["gail"].id, globex["gus"].id}
    assert not never & set(recipients)
    for email in emails:
        assert str(email.handoff_id) == handoff_id
        assert email.account_id == acme.account.id
        assert "Mail server rejects logins" in email.subject
        assert email.status == "pending"


async def test_a_deactivated_teammate_gets_no_email(api, desk, team):
    acme = team.acme
    deactivated = await api.data(DEACTIVATE, {"id": acme["alex"].id}, token=acme["dana"].token)
    assert deactivated["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
    session = await make_session(desk, acme["kim"], "Disk full")

    await create(api, acme["kim"], session.id)

    recipients = sorted(str(e.recipient_id) for e in await stored_emails(desk))
    assert recipients == sorted([acme["dana"].id, acme["sam"].id])


async def test_parking_records_no_email(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    result = await create(api, team.acme["sam"], session.id, intent="PARK")

    assert result["__typename"] == "CreateHandoffSuccess"
    assert await stored_emails(desk) == []


async def test_a_refused_escalation_records_no_email(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    await create(api, team.acme["vic"], session.id)
    await create(api, team.acme["kim"], session.id)

    assert await stored_emails(desk) == []


RELEASE = """
mutation Release($id: ID!) { releaseHandoff(input: { handoffId: $id }) { __typename } }
"""


async def test_a_handoffs_history_is_read_from_either_end(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    for mutation in (CLAIM, RELEASE, CLAIM):
        answer = await api.data(mutation, {"id": str(escalation.id)}, token=kim.token)
        assert next(iter(answer.values()))["__typename"].endswith("Success")
    query = """query($id: ID!) { handoff(id: $id) {
        history { kind } first: history(first: 2) { kind } latest: history(last: 1) { kind seq }
    } }"""
    data = (await api.data(query, {"id": str(escalation.id)}, token=kim.token))["handoff"]
    assert [e["kind"] for e in data["history"]] == ["ESCALATED", "CLAIMED", "RELEASED", "CLAIMED"]
    assert [e["kind"] for e in data["first"]] == ["ESCALATED", "CLAIMED"]
    assert data["latest"] == [{"kind": "CLAIMED", "seq": max(e.seq for e in await events(desk))}]
    error = await api.error(
        "query($id: ID!) { handoff(id: $id) { history(last: 201) { kind } } }",
        {"id": str(escalation.id)},
        token=kim.token,
    )
    assert "last must be between 1 and 200, got 201" in error["message"]


SNAPSHOTS = """
query Snapshots($id: ID!) {
  session(id: $id) {
    handoffs {
      intent
      snapshot { messages { content } last: messages(last: 1) { position } }
      session { escalationPackage { conversationPath(first: 2) { excerpt } } }
    }
  }
}
"""


async def test_each_handoff_of_a_session_keeps_the_conversation_as_it_stood(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=2)
    parked = await create(api, sam, session.id, intent="PARK")
    assert parked["__typename"] == "CreateHandoffSuccess"
    for content in ("turn 3", "turn 4"):
        answer = await api.data(
            ADD,
            {"input": {"sessionId": str(session.id), "role": "CUSTOMER", "content": content}},
            token=sam.token,
        )
        assert answer["addSessionMessage"]["__typename"] == "AddSessionMessageSuccess"
    escalated = await create(api, sam, session.id)
    assert escalated["__typename"] == "CreateHandoffSuccess"

    data = await api.data(SNAPSHOTS, {"id": str(session.id)}, token=sam.token)
    park, escalation = data["session"]["handoffs"]
    assert (park["intent"], escalation["intent"]) == ("PARK", "ESCALATE")
    assert [m["content"] for m in park["snapshot"]["messages"]] == ["turn 1", "turn 2"]
    assert park["snapshot"]["last"] == [{"position": 2}]
    assert [m["content"] for m in escalation["snapshot"]["messages"]] == [
        "turn 1",
        "turn 2",
        "turn 3",
        "turn 4",
    ]
    assert escalation["snapshot"]["last"] == [{"position": 4}]
    path = escalation["session"]["escalationPackage"]["conversationPath"]
    assert path == [{"excerpt": "turn 1"}, {"excerpt": "turn 2"}]


async def events(desk) -> list[AccountEvent]:
    async with desk.db.read() as db:
        return list((await db.exec(select(AccountEvent))).all())
