"""The conversation live (issue 15, point 2): `sessionMessages` delivers a session's new messages
to whoever may see the session, with catch-up by position (`after`), through real websockets
against a server in the test's process, on SQLite and PostgreSQL. A parked session is its
engineer's alone, an escalated one the team's; another account's session is an error, never
data; a deactivated subscriber is closed with 4403."""

import pytest

from db.enums import HandoffIntent, Priority
from db.models import Handoff
from resolvers import handoffs
from tests.factories import make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

MESSAGES = """subscription($s: ID!, $after: Int) { sessionMessages(sessionId: $s, after: $after) {
  position role content } }"""
SEND = """mutation($s: ID!, $c: String!) { addSessionMessage(input: {sessionId: $s, role: ENGINEER,
  content: $c}) { __typename ... on AddSessionMessageSuccess { message { position } } } }"""
WITHDRAW = "mutation($h: ID!) { withdrawHandoff(input: { handoffId: $h }) { __typename } }"
DEACTIVATE = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }"


async def send(http: GraphQLClient, member, session_id, content: str) -> int:
    answer = (await http.data(SEND, {"s": str(session_id), "c": content}, member.token))[
        "addSessionMessage"
    ]
    assert answer["__typename"] == "AddSessionMessageSuccess", answer
    return answer["message"]["position"]


async def message(ws: GraphQLSocket) -> dict:
    return (await ws.next_data())["sessionMessages"]


async def messages(ws: GraphQLSocket, count: int) -> list[tuple[int, str]]:
    return [(m["position"], m["content"]) for m in [await message(ws) for _ in range(count)]]


async def refusal(ws: GraphQLSocket, op_id: str) -> list[dict]:
    """The errors the subscription ended with (its first answer), having delivered nothing."""
    answer = await ws.receive()
    assert answer.get("id") == op_id, answer
    if answer["type"] == "error":
        return answer["payload"]
    assert answer["type"] == "next" and answer["payload"].get("data") is None, answer
    assert (await ws.receive())["type"] == "complete"
    return answer["payload"]["errors"]


def codes(errors: list[dict]) -> list[str]:
    return [(e.get("extensions") or {}).get("code") for e in errors]


async def claimed_escalation(desk, http, team):
    """Alex's escalation (two messages), claimed by Sam, who works its session now."""
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    assert await http.claim(team.acme["sam"].token, str(handoff.id)) == "ClaimHandoffSuccess"
    return handoff


async def test_a_second_socket_hears_a_message_added_by_another_user(in_process, desk, team):
    server = await in_process()
    acme = team.acme
    async with (
        GraphQLClient(server.url) as http,
        GraphQLSocket(server.url) as kims,
        GraphQLSocket(server.url) as sams,
        GraphQLSocket(server.url) as vics,
    ):
        handoff = await claimed_escalation(desk, http, team)
        session = str(handoff.session_id)
        for ws, who in ((kims, "kim"), (sams, "sam"), (vics, "vic")):
            await ws.connect(acme[who].token)
            await ws.subscribe(MESSAGES, {"s": session})
        await server.until_streams(3)

        # Sam, who works it, writes; his teammates (a viewer too) hear it, and so does his own
        # other socket: live, from now (nothing of the two messages before).
        assert await send(http, acme["sam"], session, "Power-cycle the printer.") == 3
        expected = [(3, "Power-cycle the printer.")]
        assert await messages(kims, 1) == expected
        assert await messages(sams, 1) == expected
        assert await messages(vics, 1) == expected
        assert await send(http, acme["sam"], session, "Did it come back?") == 4
        for ws in (kims, sams, vics):
            assert await messages(ws, 1) == [(4, "Did it come back?")]
            assert await ws.barrier() == []  # each once


async def test_catch_up_with_after_gives_exactly_the_missed_messages_once_in_order(
    in_process, desk, team
):
    server = await in_process()
    acme = team.acme
    async with GraphQLClient(server.url) as http:
        handoff = await claimed_escalation(desk, http, team)
        session = str(handoff.session_id)
        async with GraphQLSocket(server.url) as kims:
            await kims.connect(acme["kim"].token)
            await kims.subscribe(MESSAGES, {"s": session, "after": 1})
            # The one after position 1 at once, then live ones: none twice, none missing,
            # whether added while the catch-up is read or after it.
            added = [await send(http, acme["sam"], session, f"step {n}") for n in range(3, 6)]
            assert added == [3, 4, 5]
            heard = await messages(kims, 4)
            assert heard == [(2, "turn 2"), (3, "step 3"), (4, "step 4"), (5, "step 5")]
            assert await kims.barrier() == []
        # Kim's console is closed while Sam goes on; it comes back with the last it had.
        for n in (6, 7):
            await send(http, acme["sam"], session, f"while away {n}")
        async with GraphQLSocket(server.url) as kims:
            await kims.connect(acme["kim"].token)
            await kims.subscribe(MESSAGES, {"s": session, "after": 5})
            assert await messages(kims, 2) == [(6, "while away 6"), (7, "while away 7")]
            await server.until_streams(1)
            assert await send(http, acme["sam"], session, "back live") == 8
            assert await messages(kims, 1) == [(8, "back live")]
            assert await kims.barrier() == []
            # The whole conversation again, from the start: every message once, in order.
            await kims.subscribe(MESSAGES, {"s": session, "after": 0})
            assert [p for p, _ in await messages(kims, 8)] == list(range(1, 9))
            assert await kims.barrier() == []


async def test_after_must_name_a_position_the_session_has(in_process, desk, team):
    server = await in_process()
    session = await make_session(desk, team.acme["alex"])  # two messages
    async with GraphQLSocket(server.url) as ws:
        await ws.connect(team.acme["alex"].token)
        beyond = await ws.subscribe(MESSAGES, {"s": str(session.id), "after": 3})
        assert codes(await refusal(ws, beyond)) == ["BAD_USER_INPUT"]
        negative = await ws.subscribe(MESSAGES, {"s": str(session.id), "after": -1})
        assert codes(await refusal(ws, negative)) == ["BAD_USER_INPUT"]
        # All it has is fine: nothing to replay, then live.
        await ws.subscribe(MESSAGES, {"s": str(session.id), "after": 2})
        assert await ws.barrier() == []


async def test_a_parked_session_is_its_engineers_alone(in_process, desk, team):
    server = await in_process()
    acme = team.acme
    alex, kim, dana = acme["alex"], acme["kim"], acme["dana"]
    parked = await make_escalation(desk, alex, "Waiting on the customer", intent=HandoffIntent.PARK)
    session = str(parked.session_id)
    async with (
        GraphQLClient(server.url) as http,
        GraphQLSocket(server.url) as alexs,
        GraphQLSocket(server.url) as kims,
        GraphQLSocket(server.url) as danas,
    ):
        await alexs.connect(alex.token)
        await kims.connect(kim.token)
        await danas.connect(dana.token)
        # A teammate, even an admin, is refused it, live or from the start: nothing of it.
        for ws in (kims, danas):
            for after in (None, 0):
                op = await ws.subscribe(MESSAGES, {"s": session, "after": after})
                assert codes(await refusal(ws, op)) == ["NOT_FOUND"]
        # Its engineer has it all, and what comes next (the customer's reply resumes it).
        await alexs.subscribe(MESSAGES, {"s": session, "after": 0})
        assert await messages(alexs, 2) == [(1, "turn 1"), (2, "turn 2")]
        await server.until_streams(1)
        assert await send(http, alex, session, "The customer is back.") == 3
        assert await messages(alexs, 1) == [(3, "The customer is back.")]
        for ws in (kims, danas):
            assert await ws.barrier() == []


async def test_a_session_that_stops_being_visible_stops_delivering(in_process, desk, team):
    server = await in_process()
    acme = team.acme
    alex, kim = acme["alex"], acme["kim"]
    escalation = await make_escalation(desk, alex, "VPN drops")
    session = str(escalation.session_id)
    async with (
        GraphQLClient(server.url) as http,
        GraphQLSocket(server.url) as alexs,
        GraphQLSocket(server.url) as kims,
    ):
        await kims.connect(kim.token)
        await alexs.connect(alex.token)
        kims_op = await kims.subscribe(MESSAGES, {"s": session})
        await alexs.subscribe(MESSAGES, {"s": session})
        await server.until_streams(2)
        # Alex takes the escalation back: the session is his again, not the team's.
        withdrawn = await http.data(WITHDRAW, {"h": str(escalation.id)}, alex.token)
        assert withdrawn["withdrawHandoff"]["__typename"] == "WithdrawHandoffSuccess"
        assert codes(await refusal(kims, kims_op)) == ["NOT_FOUND"]
        assert await send(http, alex, session, "Handled it myself.") == 3
        assert await messages(alexs, 1) == [(3, "Handled it myself.")]
        assert await kims.barrier() == []
        # Escalated again, it is the team's again.
        again = await handoffs.create_handoff(
            desk,
            alex.viewer,
            escalation.session_id,
            intent=HandoffIntent.ESCALATE,
            engineer_notes="",
            priority=Priority.NORMAL,
        )
        assert isinstance(again, Handoff), again
        await kims.subscribe(MESSAGES, {"s": session, "after": 2})
        assert await messages(kims, 1) == [(3, "Handled it myself.")]


async def test_another_accounts_socket_gets_an_error_and_nothing(in_process, desk, team):
    server = await in_process()
    acme, globex = team.acme, team.globex
    async with GraphQLClient(server.url) as http:
        handoff = await claimed_escalation(desk, http, team)
        session = str(handoff.session_id)
        async with GraphQLSocket(server.url) as gails, GraphQLSocket(server.url) as kims:
            await gails.connect(globex["gail"].token)
            await kims.connect(acme["kim"].token)
            await kims.subscribe(MESSAGES, {"s": session})
            await server.until_streams(1)
            for after in (None, 0):
                answers = []
                for session_id in (session, "6f1c1f6e-1d9c-4c0e-9a77-2f8d2a0c0b51"):
                    op = await gails.subscribe(MESSAGES, {"s": session_id, "after": after})
                    errors = await refusal(gails, op)
                    assert codes(errors) == ["NOT_FOUND"], errors
                    answers.append([e["message"] for e in errors])
                # Acme's session answers as a session that does not exist does.
                assert answers[0] == answers[1], answers
            assert await send(http, acme["sam"], session, "Acme only") == 3
            assert await messages(kims, 1) == [(3, "Acme only")]
            assert await gails.barrier() == []


async def test_a_deactivated_subscriber_is_closed_with_4403(in_process, desk, team):
    server = await in_process()
    acme = team.acme
    async with GraphQLClient(server.url) as http:
        handoff = await claimed_escalation(desk, http, team)
        async with GraphQLSocket(server.url) as kims:
            await kims.connect(acme["kim"].token)
            await kims.subscribe(MESSAGES, {"s": str(handoff.session_id)})
            await server.until_streams(1)
            answer = await http.data(DEACTIVATE, {"u": acme["kim"].id}, acme["dana"].token)
            assert answer["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
            closed = await kims.wait_closed()
            assert closed.code == 4403, closed
