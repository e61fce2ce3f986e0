"""Every query and mutation of the schema, for each role: allowed, or refused by the role rules
(`resolvers/permissions.py`) with NotPermitted and nothing written.

The table below must have a row for every operation the schema has: a new operation without
one fails `test_every_operation_has_a_row`.
"""

from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from db.enums import HandoffIntent
from resolvers import claims
from resolvers.permissions import Capability, denial
from schema.schema import schema
from tests.factories import PASSWORD, land_assessment, make_escalation, make_session
from tests.support.roles import ROLES, TABLE, WORKERS

pytestmark = pytest.mark.anyio


@dataclass
class Call:
    document: str
    variables: dict
    token: str | None


async def _call(name: str, role: str, desk, team) -> Call:
    """The operation, run by a member of Acme with the role, on what that member could work if
    the role allowed it (so that only the role decides)."""
    acme = team.acme
    actor = acme[{"admin": "dana", "engineer": "alex", "viewer": "vic"}[role]]
    token = actor.token
    kim = acme["kim"]  # an engineer whose sessions the admin steps into
    owner = actor if role == "engineer" else kim
    if name == "me":
        return Call("{ me { id } }", {}, token)
    if name == "account":
        return Call("{ account { id } }", {}, token)
    if name == "users":
        return Call("{ users { id } }", {}, token)
    if name in ("usersConnection", "mySessionsConnection"):
        return Call(f"{{ {name} {{ edges {{ node {{ id }} }} }} }}", {}, token)
    if name in ("node", "nodes"):
        handoff = await make_escalation(desk, kim)
        document = "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }"
        return Call(document, {"id": str(handoff.id)}, token)
    if name == "session":
        session = await make_session(desk, kim)
        return Call("query($id: ID!) { session(id: $id) { id } }", {"id": str(session.id)}, token)
    if name == "mySessions":
        return Call("{ mySessions { id } }", {}, token)
    if name == "handoff":
        handoff = await make_escalation(desk, kim)
        return Call("query($id: ID!) { handoff(id: $id) { id } }", {"id": str(handoff.id)}, token)
    if name == "handoffQueue":
        return Call("{ handoffQueue { totalCount } }", {}, token)
    if name in ("handoffs", "myEscalations", "myParkedSessions"):
        return Call(f"{{ {name} {{ totalCount }} }}", {}, token)
    if name == "login":
        document = (
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: "
            "$p }) { %s } }"
        )
        return Call(document % _result(name), {"e": actor.user.email, "p": PASSWORD}, None)
    if name == "startSession":
        document = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "c",
                        problemSummary: "New"}) { %s } }"""
        return Call(document % _result(name), {}, token)
    if name == "addSessionMessage":
        session = await make_session(desk, owner)
        document = """mutation($s: ID!) { addSessionMessage(input: {sessionId: $s,
                        role: CUSTOMER, content: "more"}) { %s } }"""
        return Call(document % _result(name), {"s": str(session.id)}, token)
    if name == "resolveSession":
        session = await make_session(desk, owner)
        document = "mutation($s: ID!) { resolveSession(input: { sessionId: $s }) { %s } }"
        return Call(document % _result(name), {"s": str(session.id)}, token)
    if name == "createHandoff":
        session = await make_session(desk, owner)
        document = """mutation($s: ID!) { createHandoff(input: {sessionId: $s,
                        intent: ESCALATE}) { %s } }"""
        return Call(document % _result(name), {"s": str(session.id)}, token)
    if name in ("claimHandoff", "releaseHandoff", "markHandoffSeen"):
        handoff = await make_escalation(desk, kim)
        if name == "releaseHandoff":
            # Claimed by the actor if the role may claim; else by a senior.
            claimer = actor if role in WORKERS else acme["sam"]
            assert (await claims.claim_handoff(desk, claimer.viewer, handoff.id)).id == handoff.id
        document = f"mutation($h: ID!) {{ {name}(handoffId: $h) {{ %s }} }}"
        return Call(document % _result(name), {"h": str(handoff.id)}, token)
    if name == "resumeParkedHandoff":
        # A park is its creator's alone: the actor's own if the role may park; else kim's.
        parker = actor if role in WORKERS else kim
        parked = await make_escalation(desk, parker, intent=HandoffIntent.PARK)
        document = "mutation($h: ID!) { resumeParkedHandoff(input: { handoffId: $h }) { %s } }"
        return Call(document % _result(name), {"h": str(parked.id)}, token)
    if name == "addUser":
        document = """mutation { addUser(input: {name: "New Person", email: "new@acme.test",
                        role: ENGINEER, password: "long-enough-1"}) { %s } }"""
        return Call(document % _result(name), {}, token)
    if name == "setUserRole":
        document = "mutation($u: ID!) { setUserRole(input: { userId: $u, role: VIEWER }) { %s } }"
        return Call(document % _result(name), {"u": acme["sam"].id}, token)
    if name == "deactivateUser":
        document = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { %s } }"
        return Call(document % _result(name), {"u": acme["sam"].id}, token)
    if name in ("withdrawHandoff", "setHandoffPriority"):
        handoff = await make_escalation(desk, owner)  # the actor's own (an admin's: Kim's)
        argument = ", priority: URGENT" if name == "setHandoffPriority" else ""
        document = f"mutation($h: ID!) {{ {name}(handoffId: $h{argument}) {{ %s }} }}"
        return Call(document % _result(name), {"h": str(handoff.id)}, token)
    if name == "transferHandoff":
        handoff = await make_escalation(desk, kim)
        claimer = actor if role in WORKERS else acme["sam"]
        assert (await claims.claim_handoff(desk, claimer.viewer, handoff.id)).id == handoff.id
        document = (
            "mutation($h: ID!, $to: ID!) { transferHandoff(input: { handoffId: $h, to: "
            "$to }) { %s } }"
        )
        variables = {"h": str(handoff.id), "to": acme["sam"].id}
        return Call(document % _result(name), variables, token)
    if name == "setSelfClaimAllowed":
        document = "mutation { setSelfClaimAllowed(input: { allowed: true }) { %s } }"
        return Call(document % _result(name), {}, token)
    if name == "addHandoffNote":
        handoff = await make_escalation(desk, kim)
        document = """mutation($h: ID!) { addHandoffNote(input: {handoffId: $h,
                        body: "Checked the logs: nothing."}) { %s } }"""
        return Call(document % _result(name), {"h": str(handoff.id)}, token)
    if name == "setNotesVisibleToViewers":
        document = "mutation { setNotesVisibleToViewers(input: { visible: false }) { %s } }"
        return Call(document % _result(name), {}, token)
    if name == "timerSettings":
        return Call("{ timerSettings { nudgeAfterMinutes } }", {}, token)
    if name == "setTimerSettings":
        document = "mutation { setTimerSettings(input: {nudgeAfterMinutes: 45}) { %s } }"
        return Call(document % _result(name), {}, token)
    if name in ("rateAssessment", "reassessHandoff"):
        handoff = await make_escalation(desk, kim)
        assessment = await land_assessment(desk, handoff.id)
        if name == "rateAssessment":
            rate = "rateAssessment(input: { assessmentId: $a, rating: HELPFUL })"
            document = f"mutation($a: ID!) {{ {rate} {{ %s }} }}"
            return Call(document % _result(name), {"a": str(assessment.id)}, token)
        document = "mutation($h: ID!) { reassessHandoff(input: { handoffId: $h }) { %s } }"
        return Call(document % _result(name), {"h": str(handoff.id)}, token)
    if name == "myNotificationPreferences":
        return Call("{ myNotificationPreferences { effective { newEscalations } } }", {}, token)
    if name == "notificationDefaults":
        return Call("{ notificationDefaults { newEscalations } }", {}, token)
    if name == "notifications":
        return Call("{ notifications { unreadCount } }", {}, token)
    if name == "setMyNotificationPreferences":
        document = "mutation { setMyNotificationPreferences(input: {newEscalations: NONE}) { %s } }"
        return Call(document % "__typename", {}, token)
    if name == "setNotificationDefaults":
        document = "mutation { setNotificationDefaults(input: {inAppOnly: true}) { %s } }"
        return Call(document % _result(name), {}, token)
    if name == "markNotificationsRead":
        return Call(
            "mutation { markNotificationsRead(input: { all: true }) { __typename } }", {}, token
        )
    raise KeyError(name)


def _result(mutation: str) -> str:
    """The selection of a mutation's result: its type, and NotPermitted's message if it may be."""
    members = {t.name for t in schema._schema.mutation_type.fields[mutation].type.of_type.types}
    if "NotPermitted" not in members:
        return "__typename"
    return "__typename ... on NotPermitted { message }"


_ROLE_DENIALS = {denial(capability) for capability in Capability}


async def _everything(desk) -> dict:
    """Every row of every table: what "nothing was written" is checked against."""
    async with desk.db.read_rows() as conn:
        return {
            table.name: sorted(
                map(repr, (await conn.execute(text(f"SELECT * FROM {table.name}"))).all())
            )
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(TABLE))
async def test_each_role_may_run_what_its_rules_allow(name, role, api, desk, team):
    kind, allowed = TABLE[name]
    call = await _call(name, role, desk, team)
    before = await _everything(desk)
    body = await api.post(call.document, call.variables, call.token)
    if kind == "query":  # refused, a query is an error (it has no union to answer with)
        if role in allowed:
            assert not body.get("errors") and body["data"][name] is not None, body
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
            assert await _everything(desk) == before
        return
    assert not body.get("errors"), body
    answer = body["data"][name]
    if role in allowed:
        assert answer["__typename"].endswith("Success"), answer
        return
    assert answer["__typename"] == "NotPermitted", answer
    assert answer["message"] in _ROLE_DENIALS, answer  # refused for the role, not the subject
    assert await _everything(desk) == before, "a refused mutation must write nothing"
