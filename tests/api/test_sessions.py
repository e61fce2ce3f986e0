"""Troubleshooting sessions through the API: start, converse, resolve, list."""

import asyncio

import pytest
from sqlmodel import col, select

from db.enums import HandoffIntent
from db.models import SessionMessage, TroubleshootingSession
from tests.api.test_query_count import counting_statements
from tests.factories import make_escalation, make_parked_session, make_session

pytestmark = pytest.mark.anyio

START = """
mutation Start($input: StartSessionInput!) {
  startSession(input: $input) {
    __typename
    ... on StartSessionSuccess {
      session {
        id problemSummary intakeType intakeContent status confidenceTier handoffCount
        owner { id } assignee { id } messages { position }
      }
    }
    ... on NotPermitted { message }
  }
}
"""

ADD = """
mutation Add($input: AddSessionMessageInput!) {
  addSessionMessage(input: $input) {
    __typename
    ... on AddSessionMessageSuccess {
      message { position role content }
      session { id status confidenceTier messages { position role content } }
    }
    ... on InvalidSessionState { status reason: message }
    ... on NotPermitted { reason: message }
    ... on SessionNotFound { sessionId reason: message }
  }
}
"""

RESOLVE = """
mutation Resolve($id: ID!) {
  resolveSession(input: { sessionId: $id }) {
    __typename
    ... on ResolveSessionSuccess { session { id status } }
    ... on InvalidSessionState { status message }
    ... on NotPermitted { message }
    ... on SessionNotFound { sessionId }
  }
}
"""

CLAIM = """
mutation Claim($id: ID!) {
  claimHandoff(input: { handoffId: $id }) { __typename }
}
"""

MY_SESSIONS = """
query Mine($status: SessionStatus, $first: Int! = 20) {
  mySessions(status: $status, first: $first) { id problemSummary status }
}
"""

SESSION = """
query One($id: ID!) { session(id: $id) { id status confidenceTier messages { position } } }
"""


def start_input(summary="VPN drops every hour"):
    return {
        "intakeType": "CHAT",
        "intakeContent": "The customer's VPN disconnects.",
        "problemSummary": summary,
    }


async def add(api, member, session_id, content, role="CUSTOMER", tier=None):
    variables = {"input": {"sessionId": str(session_id), "role": role, "content": content}}
    if tier is not None:
        variables["input"]["confidenceTier"] = tier
    data = await api.data(ADD, variables, token=member.token)
    return data["addSessionMessage"]


async def stored_session(desk, session_id) -> TroubleshootingSession:
    async with desk.db.read() as db:
        return await db.get(TroubleshootingSession, session_id)


async def stored_messages(desk, session_id) -> list[SessionMessage]:
    async with desk.db.read() as db:
        stmt = (
            select(SessionMessage)
            .where(SessionMessage.session_id == session_id)
            .order_by(col(SessionMessage.position))
        )
        return list((await db.exec(stmt)).all())


# --- startSession ---------------------------------------------------------------------------


async def test_an_engineer_starts_a_session_they_own_and_work(api, desk, team):
    sam = team.acme["sam"]
    data = await api.data(START, {"input": start_input()}, token=sam.token)
    result = data["startSession"]
    assert result["__typename"] == "StartSessionSuccess"
    session = result["session"]
    assert session["problemSummary"] == "VPN drops every hour"
    assert session["intakeType"] == "CHAT"
    assert session["status"] == "ACTIVE"
    assert session["confidenceTier"] is None
    assert session["handoffCount"] == 0
    assert session["owner"]["id"] == sam.id
    assert session["assignee"]["id"] == sam.id
    assert session["messages"] == []

    async with desk.db.read() as db:
        rows = (await db.exec(select(TroubleshootingSession))).all()
    assert [str(r.id) for r in rows] == [session["id"]]


async def test_a_viewer_may_not_start_a_session(api, desk, team):
    data = await api.data(START, {"input": start_input()}, token=team.acme["vic"].token)
    assert data["startSession"]["__typename"] == "NotPermitted"
    assert data["startSession"]["message"]

    async with desk.db.read() as db:
        assert (await db.exec(select(TroubleshootingSession))).all() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("problemSummary", "   "), ("problemSummary", "p" * 501), ("intakeContent", "")],
)
async def test_empty_or_overlong_input_is_refused_and_nothing_is_stored(
    api, desk, team, field, value
):
    variables = {"input": {**start_input(), field: value}}

    error = await api.error(START, variables, token=team.acme["sam"].token)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["message"]
    async with desk.db.read() as db:
        assert (await db.exec(select(TroubleshootingSession))).all() == []


# --- addSessionMessage ----------------------------------------------------------------------


async def test_messages_take_positions_1_2_3_in_order(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=0)

    answers = [
        await add(api, sam, session.id, "It drops at 10:00", role="CUSTOMER"),
        await add(api, sam, session.id, "Check the DHCP lease", role="ASSISTANT"),
        await add(api, sam, session.id, "Lease renewed manually", role="ENGINEER"),
    ]

    assert [a["__typename"] for a in answers] == ["AddSessionMessageSuccess"] * 3
    assert [a["message"]["position"] for a in answers] == [1, 2, 3]
    assert answers[-1]["session"]["messages"] == [
        {"position": 1, "role": "CUSTOMER", "content": "It drops at 10:00"},
        {"position": 2, "role": "ASSISTANT", "content": "Check the DHCP lease"},
        {"position": 3, "role": "ENGINEER", "content": "Lease renewed manually"},
    ]
    rows = await stored_messages(desk, session.id)
    assert [(m.position, m.content) for m in rows] == [
        (1, "It drops at 10:00"),
        (2, "Check the DHCP lease"),
        (3, "Lease renewed manually"),
    ]


async def test_concurrent_messages_never_share_a_position(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=0)

    answers = await asyncio.gather(*(add(api, sam, session.id, f"message {n}") for n in range(8)))

    assert [a["__typename"] for a in answers] == ["AddSessionMessageSuccess"] * 8
    assert sorted(a["message"]["position"] for a in answers) == list(range(1, 9))
    rows = await stored_messages(desk, session.id)
    assert [m.position for m in rows] == list(range(1, 9))
    assert sorted(m.content for m in rows) == sorted(f"message {n}" for n in range(8))


async def test_an_empty_message_is_refused(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=1)
    variables = {"input": {"sessionId": str(session.id), "role": "CUSTOMER", "content": "  "}}

    error = await api.error(ADD, variables, token=sam.token)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(await stored_messages(desk, session.id)) == 1


async def test_confidence_tier_of_a_message_updates_the_session(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=0)

    first = await add(api, sam, session.id, "Probably DNS", role="ASSISTANT", tier="LOW")
    assert first["session"]["confidenceTier"] == "LOW"

    second = await add(api, sam, session.id, "Confirmed: DNS", role="ASSISTANT", tier="HIGH")
    assert second["session"]["confidenceTier"] == "HIGH"

    # A message without a tier leaves the session's tier as it was.
    third = await add(api, sam, session.id, "Thanks!", role="CUSTOMER")
    assert third["session"]["confidenceTier"] == "HIGH"

    data = await api.data(SESSION, {"id": str(session.id)}, token=sam.token)
    assert data["session"]["confidenceTier"] == "HIGH"
    assert (await stored_session(desk, session.id)).confidence_tier == "high"


async def test_a_message_resumes_a_parked_session(api, desk, team):
    sam = team.acme["sam"]
    parked = await make_escalation(desk, sam, intent=HandoffIntent.PARK)
    assert (await stored_session(desk, parked.session_id)).status == "paused"

    answer = await add(api, sam, parked.session_id, "Customer is back")

    assert answer["__typename"] == "AddSessionMessageSuccess"
    assert answer["session"]["status"] == "ACTIVE"
    assert answer["message"]["position"] == 3  # after the two turns make_session added
    assert (await stored_session(desk, parked.session_id)).status == "active"


async def test_an_escalated_session_takes_no_messages(api, desk, team):
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam)
    before = await stored_messages(desk, escalation.session_id)

    answer = await add(api, sam, escalation.session_id, "One more thing")

    assert answer["__typename"] == "InvalidSessionState"
    assert answer["status"] == "ESCALATED"
    assert answer["reason"]
    after = await stored_messages(desk, escalation.session_id)
    assert [m.id for m in after] == [m.id for m in before]
    assert (await stored_session(desk, escalation.session_id)).status == "escalated"


async def test_only_the_assignee_adds_messages(api, desk, team):
    session = await make_session(desk, team.acme["sam"], turns=1)

    answer = await add(api, team.acme["kim"], session.id, "Let me try")

    assert answer["__typename"] == "NotPermitted"
    assert [m.content for m in await stored_messages(desk, session.id)] == ["turn 1"]


async def test_a_viewer_may_not_add_messages(api, desk, team):
    session = await make_session(desk, team.acme["sam"], turns=1)

    answer = await add(api, team.acme["vic"], session.id, "Hello?")

    assert answer["__typename"] == "NotPermitted"
    assert len(await stored_messages(desk, session.id)) == 1


async def test_another_accounts_session_is_not_found(api, desk, team):
    session = await make_session(desk, team.acme["sam"], turns=1)

    answer = await add(api, team.globex["gus"], session.id, "Hello?")

    assert answer["__typename"] == "SessionNotFound"
    assert answer["sessionId"] == str(session.id)
    assert len(await stored_messages(desk, session.id)) == 1


async def test_the_claimer_works_the_session_after_a_claim(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    claimed = await api.data(CLAIM, {"id": str(escalation.id)}, token=kim.token)
    assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"

    by_kim = await add(api, kim, escalation.session_id, "Kim here, taking over", role="ENGINEER")
    by_sam = await add(api, sam, escalation.session_id, "Sam again", role="ENGINEER")

    assert by_kim["__typename"] == "AddSessionMessageSuccess"
    assert by_kim["message"]["position"] == 3
    assert by_sam["__typename"] == "NotPermitted"


# --- resolveSession -------------------------------------------------------------------------


async def test_the_assignee_resolves_a_session(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)

    data = await api.data(RESOLVE, {"id": str(session.id)}, token=sam.token)

    assert data["resolveSession"] == {
        "__typename": "ResolveSessionSuccess",
        "session": {"id": str(session.id), "status": "RESOLVED"},
    }
    assert (await stored_session(desk, session.id)).status == "resolved"

    # A resolved session is closed: no more messages.
    answer = await add(api, sam, session.id, "Reopen?")
    assert answer["__typename"] == "InvalidSessionState"
    assert answer["status"] == "RESOLVED"


async def test_an_escalated_unclaimed_session_cannot_be_resolved(api, desk, team):
    sam = team.acme["sam"]
    escalation = await make_escalation(desk, sam)

    data = await api.data(RESOLVE, {"id": str(escalation.session_id)}, token=sam.token)

    assert data["resolveSession"]["__typename"] == "InvalidSessionState"
    assert data["resolveSession"]["status"] == "ESCALATED"
    assert (await stored_session(desk, escalation.session_id)).status == "escalated"


async def test_a_teammate_who_does_not_work_the_session_may_not_resolve_it(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    data = await api.data(RESOLVE, {"id": str(session.id)}, token=team.acme["kim"].token)

    assert data["resolveSession"]["__typename"] == "NotPermitted"
    assert (await stored_session(desk, session.id)).status == "active"


async def test_a_viewer_may_not_resolve_a_session(api, desk, team):
    session = await make_session(desk, team.acme["sam"])

    data = await api.data(RESOLVE, {"id": str(session.id)}, token=team.acme["vic"].token)

    assert data["resolveSession"]["__typename"] == "NotPermitted"
    assert (await stored_session(desk, session.id)).status == "active"


# --- mySessions -----------------------------------------------------------------------------


async def test_my_sessions_lists_the_callers_sessions_most_recently_changed_first(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    older = await make_session(desk, sam, "Older problem")
    newer = await make_session(desk, sam, "Newer problem")
    await make_session(desk, kim, "Kim's own problem")
    await make_session(desk, team.globex["gus"], "Globex problem")

    data = await api.data(MY_SESSIONS, token=sam.token)
    assert [s["problemSummary"] for s in data["mySessions"]] == ["Newer problem", "Older problem"]

    # A change moves the older session to the top.
    await add(api, sam, older.id, "Any news?")
    data = await api.data(MY_SESSIONS, token=sam.token)
    assert [s["id"] for s in data["mySessions"]] == [str(older.id), str(newer.id)]


async def test_my_sessions_filters_by_status_and_limits_the_count(api, desk, team):
    sam = team.acme["sam"]
    active = await make_session(desk, sam, "Still open")
    done = await make_session(desk, sam, "Done")
    await api.data(RESOLVE, {"id": str(done.id)}, token=sam.token)

    data = await api.data(MY_SESSIONS, {"status": "RESOLVED"}, token=sam.token)
    assert [s["id"] for s in data["mySessions"]] == [str(done.id)]
    data = await api.data(MY_SESSIONS, {"status": "ACTIVE"}, token=sam.token)
    assert [s["id"] for s in data["mySessions"]] == [str(active.id)]
    data = await api.data(MY_SESSIONS, {"first": 1}, token=sam.token)
    assert [s["id"] for s in data["mySessions"]] == [str(done.id)]


async def test_my_sessions_includes_sessions_the_caller_claimed(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam, "Escalated problem")

    data = await api.data(MY_SESSIONS, token=kim.token)
    assert data["mySessions"] == []

    await api.data(CLAIM, {"id": str(escalation.id)}, token=kim.token)
    data = await api.data(MY_SESSIONS, token=kim.token)
    assert data["mySessions"] == [
        {
            "id": str(escalation.session_id),
            "problemSummary": "Escalated problem",
            "status": "ACTIVE",
        }
    ]
    # The owner still sees it too.
    data = await api.data(MY_SESSIONS, token=sam.token)
    assert [s["id"] for s in data["mySessions"]] == [str(escalation.session_id)]


async def test_my_sessions_refuses_a_page_size_out_of_range(api, team):
    for first in (0, 101):
        error = await api.error(MY_SESSIONS, {"first": first}, token=team.acme["sam"].token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


# --- list caps ------------------------------------------------------------------------------

WINDOWS = """
query Windows($id: ID!) {
  session(id: $id) {
    all: messages { position }
    first3: messages(first: 3) { position }
    last2: messages(last: 2) { position }
  }
}
"""


async def test_a_conversation_is_read_from_either_end(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=7)
    data = await api.data(WINDOWS, {"id": str(session.id)}, token=sam.token)
    positions = {k: [m["position"] for m in v] for k, v in data["session"].items()}
    assert positions == {"all": [1, 2, 3, 4, 5, 6, 7], "first3": [1, 2, 3], "last2": [6, 7]}


async def test_a_long_conversation_answers_its_first_100_unless_asked(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, turns=102)
    query = """query($id: ID!) { session(id: $id) {
        messages { position } latest: messages(last: 1) { position content }
        most: messages(first: 500) { position } } }"""
    data = (await api.data(query, {"id": str(session.id)}, token=sam.token))["session"]
    assert [m["position"] for m in data["messages"]] == list(range(1, 101))
    assert data["latest"] == [{"position": 102, "content": "turn 102"}]
    assert len(data["most"]) == 102


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ("first: 0", "first must be between 1 and 500, got 0"),
        ("first: 501", "first must be between 1 and 500, got 501"),
        ("last: -1", "last must be between 1 and 500, got -1"),
        ("first: 1, last: 1", "first or last, not both"),
    ],
)
async def test_a_window_out_of_range_is_refused(api, desk, team, arguments, says):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)
    query = f"query($id: ID!) {{ session(id: $id) {{ messages({arguments}) {{ position }} }} }}"
    error = await api.error(query, {"id": str(session.id)}, token=sam.token)
    assert says in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_sessions_handoffs_come_20_at_a_time_oldest_first(api, desk, team):
    sam = team.acme["sam"]
    session = await make_parked_session(desk, sam, 21)
    query = """query($id: ID!) { session(id: $id) {
        handoffs { engineerNotes } two: handoffs(first: 2) { engineerNotes }
        all: handoffs(first: 50) { engineerNotes } } }"""
    data = (await api.data(query, {"id": str(session.id)}, token=sam.token))["session"]
    notes = [f"park {n}" for n in range(21)]
    assert [h["engineerNotes"] for h in data["handoffs"]] == notes[:20]
    assert [h["engineerNotes"] for h in data["two"]] == notes[:2]
    assert [h["engineerNotes"] for h in data["all"]] == notes
    error = await api.error(
        "query($id: ID!) { session(id: $id) { handoffs(first: 51) { id } } }",
        {"id": str(session.id)},
        token=sam.token,
    )
    assert "first must be between 1 and 50, got 51" in error["message"]


NESTED = """
query Nested($first: Int!) {
  mySessions(first: $first) {
    problemSummary
    messages(last: 2) { content }
    handoffs(first: 1) {
      history(last: 1) { kind }
      snapshot { messages(first: 1) { content } }
    }
  }
}
"""


@pytest.mark.no_query_cache
async def test_nested_lists_cost_one_statement_each_however_many_sessions(api, desk, team):
    sam = team.acme["sam"]
    for n in range(6):
        await make_escalation(desk, sam, f"Problem {n}")
    await api.data(NESTED, {"first": 1}, token=sam.token)  # warm up

    with counting_statements() as few:
        small = await api.data(NESTED, {"first": 2}, token=sam.token)
    with counting_statements() as many:
        large = await api.data(NESTED, {"first": 6}, token=sam.token)

    assert len(small["mySessions"]) == 2
    assert len(large["mySessions"]) == 6
    for session in large["mySessions"]:
        assert [m["content"] for m in session["messages"]] == ["turn 1", "turn 2"]
        [handoff] = session["handoffs"]
        assert handoff["history"] == [{"kind": "ESCALATED"}]
        assert handoff["snapshot"]["messages"] == [{"content": "turn 1"}]
    assert len(few) == len(many), (few, many)
