"""Tenant walls: with another account's ids, every query and mutation answers exactly as it does
for an id that does not exist, nothing of that account is read, and nothing of it changes.
(Subscriptions: tests/test_live.py shows another account's events are never delivered.)"""

import json
import uuid

import pytest
from sqlalchemy import text

from db.enums import HandoffIntent
from schema.schema import schema
from tests.factories import make_escalation, make_session

pytestmark = pytest.mark.anyio

# How each field is exercised by a Globex admin against Acme. "ids" cases run twice, with an Acme
# id and with a random one, and must answer alike; "own" cases must show nothing of Acme.
CASES = {
    "Query.me": ("own", "{ me { id name email } }", {}),
    "Query.account": ("own", "{ account { id name } }", {}),
    "Query.users": ("own", "{ users { id email } }", {}),
    "Query.mySessions": ("own", "{ mySessions { id problemSummary } }", {}),
    "Query.handoffQueue": ("own", "{ handoffQueue { totalCount edges { node { id } } } }", {}),
    "Query.session": ("ids", "query($id: ID!) { session(id: $id) { id } }", {"id": "session"}),
    "Query.handoff": ("ids", "query($id: ID!) { handoff(id: $id) { id } }", {"id": "handoff"}),
    "Mutation.login": (
        "own",
        'mutation { login(email: "gail.admin@globex.test", password: "correct-horse-42") '
        "{ ... on LoginSuccess { user { id email } } } }",
        {},
    ),
    "Mutation.startSession": (
        "own",
        'mutation { startSession(input: {intakeType: CHAT, intakeContent: "c", '
        'problemSummary: "Globex issue"}) { ... on StartSessionSuccess { session { id } } } }',
        {},
    ),
    "Mutation.addUser": (
        "own",
        'mutation { addUser(input: {name: "N", email: "n@globex.test", role: ENGINEER, '
        'password: "long-enough-1"}) { ... on AddUserSuccess { user { id email } } } }',
        {},
    ),
    "Mutation.addSessionMessage": (
        "ids",
        "mutation($id: ID!) { addSessionMessage(input: "
        '{sessionId: $id, role: CUSTOMER, content: "x"}) '
        "{ __typename ... on SessionNotFound { sessionId message } } }",
        {"id": "session"},
    ),
    "Mutation.resolveSession": (
        "ids",
        "mutation($id: ID!) { resolveSession(sessionId: $id) { __typename } }",
        {"id": "session"},
    ),
    "Mutation.createHandoff": (
        "ids",
        "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: ESCALATE}) "
        "{ __typename } }",
        {"id": "session"},
    ),
    "Mutation.claimHandoff": (
        "ids",
        "mutation($id: ID!) { claimHandoff(handoffId: $id) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.releaseHandoff": (
        "ids",
        "mutation($id: ID!) { releaseHandoff(handoffId: $id) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.markHandoffSeen": (
        "ids",
        "mutation($id: ID!) { markHandoffSeen(handoffId: $id) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.setUserRole": (
        "ids",
        "mutation($id: ID!) { setUserRole(userId: $id, role: VIEWER) { __typename } }",
        {"id": "user"},
    ),
    "Mutation.deactivateUser": (
        "ids",
        "mutation($id: ID!) { deactivateUser(userId: $id) { __typename } }",
        {"id": "user"},
    ),
}


def test_every_query_and_mutation_has_a_tenancy_case():
    fields = {
        f"{kind}.{name}"
        for kind, type_ in (
            ("Query", schema._schema.query_type),
            ("Mutation", schema._schema.mutation_type),
        )
        for name in type_.fields
    }
    assert fields == set(CASES), f"add a tenancy case for: {sorted(fields - set(CASES))}"


@pytest.fixture
async def acme_rows(desk, team):
    """Acme's session, escalation, park handoff and a user: what Globex must never reach."""
    acme = team.acme
    session = await make_session(desk, acme["alex"], "Acme secret problem")
    escalation = await make_escalation(desk, acme["alex"], "Acme escalated problem")
    parked = await make_escalation(desk, acme["alex"], "Acme parked", intent=HandoffIntent.PARK)
    return {
        "session": [str(session.id), str(escalation.session_id)],
        "handoff": [str(escalation.id), str(parked.id)],
        "user": [acme["kim"].id, acme["dana"].id],
    }


TABLES = {
    "account": "id = :a",
    "app_user": "account_id = :a",
    "troubleshooting_session": "account_id = :a",
    "session_message": (
        "session_id IN (SELECT id FROM troubleshooting_session WHERE account_id = :a)"
    ),
    "handoff": "account_id = :a",
    "handoff_seen": "handoff_id IN (SELECT id FROM handoff WHERE account_id = :a)",
    "account_event": "account_id = :a",
    "job": "account_id = :a",
    "email_message": "account_id = :a",
}


async def _everything_of(desk, account_id) -> dict:
    """Every row of the account, as text: compared before and after."""
    rows = {}
    account = account_id.hex if desk.db.is_sqlite else account_id
    async with desk.db.read_rows() as conn:
        for table, where in TABLES.items():
            result = await conn.execute(
                text(f"SELECT * FROM {table} WHERE {where} ORDER BY 1"), {"a": account}
            )
            rows[table] = sorted(repr(tuple(r)) for r in result.all())
    return rows


@pytest.mark.parametrize("field", sorted(CASES))
async def test_another_accounts_data_is_out_of_reach(field, api, desk, team, acme_rows):
    kind, query, variables = CASES[field]
    gail = team.globex["gail"]
    acme_strings = (
        [value for values in acme_rows.values() for value in values]
        + [member.user.email for member in team.acme.members.values()]
        + ["Acme"]
    )
    before = await _everything_of(desk, team.acme.account.id)

    if kind == "own":
        answer = json.dumps(await api.post(query, token=gail.token))
        assert not [s for s in acme_strings if s in answer], answer
    else:
        for acme_id in acme_rows[variables["id"]]:
            random_id = str(uuid.uuid4())
            with_acme = json.dumps(await api.post(query, {"id": acme_id}, token=gail.token))
            with_random = json.dumps(await api.post(query, {"id": random_id}, token=gail.token))
            assert with_acme.replace(acme_id, "<id>") == with_random.replace(random_id, "<id>")

    assert await _everything_of(desk, team.acme.account.id) == before
