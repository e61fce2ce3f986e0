"""Tenant walls: with another account's ids, every query and mutation answers exactly as it does
for an id that does not exist, nothing of that account is read, and nothing of it changes.
(Subscriptions: tests/test_live.py shows another account's events are never delivered.)"""

import json
import uuid

import pytest
from graphql import parse
from sqlalchemy import text
from sqlmodel import SQLModel, select

from db.enums import HandoffIntent
from db.models import EmailMessage
from resolvers import claims
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
    # Failed logins are counted by keyed digests of the email and the address, not by account:
    # no row says which account it concerns, so none is the account's.
    "login_attempt": "1 = 0",
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


# --- The table above is complete, and exercises what it names -----------------------------------


def test_each_case_calls_the_field_it_is_named_after():
    for name, (kind, query, _) in CASES.items():
        operation_type, field = name.split(".")
        document = parse(query)
        (operation,) = document.definitions
        assert operation.operation.value == operation_type.lower(), name
        called = {selection.name.value for selection in operation.selection_set.selections}
        assert called == {field}, f"the case for {name} calls {sorted(called)}"
        assert kind in ("own", "ids"), name


def test_the_before_and_after_comparison_covers_every_table():
    tables = {table.name for table in SQLModel.metadata.sorted_tables}
    assert set(TABLES) == tables, (
        f"say which rows of these tables belong to an account: {sorted(tables - set(TABLES))}"
    )


# --- With another account's id, the answer is exactly the unknown-id answer ----------------------

# What each "ids" case must answer: None for a query (the field is null), else the NotFound member
# and the argument it echoes back.
NOT_FOUND = {
    "Query.session": ("query($id: ID!) { session(id: $id) { id problemSummary } }", None),
    "Query.handoff": ("query($id: ID!) { handoff(id: $id) { id engineerNotes } }", None),
    "Mutation.addSessionMessage": (
        "mutation($id: ID!) { addSessionMessage(input: "
        '{sessionId: $id, role: CUSTOMER, content: "x"})'
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.resolveSession": (
        "mutation($id: ID!) { resolveSession(sessionId: $id)"
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.createHandoff": (
        "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: ESCALATE})"
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.claimHandoff": (
        "mutation($id: ID!) { claimHandoff(handoffId: $id)"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.releaseHandoff": (
        "mutation($id: ID!) { releaseHandoff(handoffId: $id)"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.markHandoffSeen": (
        "mutation($id: ID!) { markHandoffSeen(handoffId: $id)"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.setUserRole": (
        "mutation($id: ID!) { setUserRole(userId: $id, role: VIEWER)"
        " { __typename ... on UserNotFound { userId message } } }",
        ("UserNotFound", "userId"),
    ),
    "Mutation.deactivateUser": (
        "mutation($id: ID!) { deactivateUser(userId: $id)"
        " { __typename ... on UserNotFound { userId message } } }",
        ("UserNotFound", "userId"),
    ),
}


def test_every_id_case_says_what_it_must_answer():
    ids_cases = {name for name, (kind, _, _) in CASES.items() if kind == "ids"}
    assert set(NOT_FOUND) == ids_cases
    for name, (query, _) in NOT_FOUND.items():
        assert CASES[name][2]["id"] in ("session", "handoff", "user"), name
        assert (
            parse(query).definitions[0].selection_set.selections[0].name.value
            == (name.split(".")[1])
        )


@pytest.mark.parametrize("field", sorted(NOT_FOUND))
async def test_another_accounts_id_gets_the_not_found_answer(field, api, desk, team, acme_rows):
    query, expected = NOT_FOUND[field]
    name = field.split(".")[1]
    gail = team.globex["gail"]  # an admin: no answer can be NotPermitted
    before = await _everything_of(desk, team.acme.account.id)
    for acme_id in acme_rows[CASES[field][2]["id"]]:
        if expected is None:
            # The Acme engineer who made them asks first: the answer is there, maybe cached...
            own = await api.data(query, {"id": acme_id}, token=team.acme["alex"].token)
            assert own[name] is not None and own[name]["id"] == acme_id
        with_acme = await api.post(query, {"id": acme_id}, token=gail.token)
        random_id = str(uuid.uuid4())
        with_random = await api.post(query, {"id": random_id}, token=gail.token)
        assert not with_acme.get("errors"), with_acme
        if expected is None:  # ...but never handed to another account's caller
            assert with_acme == {"data": {name: None}} == with_random
            continue
        typename, echoed = expected
        answer = with_acme["data"][name]
        assert answer["__typename"] == typename, answer
        assert answer[echoed] == acme_id
        assert answer["message"] == with_random["data"][name]["message"]
        assert {**answer, echoed: "<id>"} == {**with_random["data"][name], echoed: "<id>"}
    assert await _everything_of(desk, team.acme.account.id) == before


@pytest.mark.parametrize("field", sorted(NOT_FOUND))
async def test_an_engineer_of_another_account_learns_nothing_either(
    field, api, desk, team, acme_rows
):
    query, _ = NOT_FOUND[field]
    gus = team.globex["gus"]
    before = await _everything_of(desk, team.acme.account.id)
    for acme_id in acme_rows[CASES[field][2]["id"]]:
        random_id = str(uuid.uuid4())
        with_acme = json.dumps(await api.post(query, {"id": acme_id}, token=gus.token))
        with_random = json.dumps(await api.post(query, {"id": random_id}, token=gus.token))
        assert with_acme.replace(acme_id, "<id>") == with_random.replace(random_id, "<id>")
        assert "Acme" not in with_acme
    assert await _everything_of(desk, team.acme.account.id) == before


# --- Lists and the caller show the caller's account, whole, and nothing else -------------------


@pytest.fixture
async def two_desks(desk, team, acme_rows):
    """Both accounts busy: sessions, escalations (one claimed), a park handoff each."""
    gus, gail = team.globex["gus"], team.globex["gail"]
    g_session = await make_session(desk, gus, "Globex own problem")
    g_open = await make_escalation(desk, gus, "Globex escalated problem")
    g_claimed = await make_escalation(desk, gus, "Globex claimed problem")
    await claims.claim_handoff(desk, gail.viewer, g_claimed.id)
    g_parked = await make_escalation(desk, gus, "Globex parked", intent=HandoffIntent.PARK)
    a_claimed = await make_escalation(desk, team.acme["alex"], "Acme claimed problem")
    await claims.claim_handoff(desk, team.acme["sam"].viewer, a_claimed.id)
    return {
        "globex_escalations": {str(g_open.id), str(g_claimed.id)},
        "globex_claimed": {str(g_claimed.id)},
        "gus_sessions": {
            str(g_session.id),
            str(g_open.session_id),
            str(g_claimed.session_id),
            str(g_parked.session_id),
        },
        "acme_escalations": {acme_rows["handoff"][0], str(a_claimed.id)},
    }


QUEUE = """query($status: QueueStatus!, $after: String) {
  handoffQueue(first: 50, status: $status, after: $after) {
    totalCount unreadCount pageInfo { endCursor }
    nodes { id engineerNotes session { id problemSummary owner { email } assignee { email } }
            createdBy { email } claimedBy { email } history { actor { email } }
            snapshot { problemSummary messages { content } } } } }"""


def _acme_strings(team) -> list[str]:
    return ["Acme", "acme.test", str(team.acme.account.id)]


@pytest.mark.parametrize("status", ["ALL", "UNCLAIMED", "CLAIMED"])
@pytest.mark.parametrize("who", ["gail", "gus"])
async def test_the_queue_holds_the_callers_escalations_only(api, team, two_desks, status, who):
    answer = await api.data(QUEUE, {"status": status}, token=team.globex[who].token)
    queue = answer["handoffQueue"]
    expected = {
        "ALL": two_desks["globex_escalations"],
        "CLAIMED": two_desks["globex_claimed"],
        "UNCLAIMED": two_desks["globex_escalations"] - two_desks["globex_claimed"],
    }[status]
    assert {node["id"] for node in queue["nodes"]} == expected
    assert queue["totalCount"] == len(expected)
    assert 0 <= queue["unreadCount"] <= len(expected)
    text_of_answer = json.dumps(answer)
    assert not [s for s in _acme_strings(team) if s in text_of_answer], text_of_answer


async def test_another_accounts_cursor_pages_only_the_callers_queue(api, team, two_desks):
    acme_page = await api.data(
        QUEUE.replace("first: 50", "first: 1"), {"status": "ALL"}, token=team.acme["dana"].token
    )
    acme_cursor = acme_page["handoffQueue"]["pageInfo"]["endCursor"]
    assert acme_cursor
    body = await api.post(
        QUEUE, {"status": "ALL", "after": acme_cursor}, token=team.globex["gus"].token
    )
    text_of_answer = json.dumps(body)
    assert not [s for s in _acme_strings(team) if s in text_of_answer], text_of_answer
    if not body.get("errors"):
        ids = {node["id"] for node in body["data"]["handoffQueue"]["nodes"]}
        assert ids <= two_desks["globex_escalations"]
        assert body["data"]["handoffQueue"]["totalCount"] == len(two_desks["globex_escalations"])


async def test_acmes_queue_holds_none_of_globex(api, team, two_desks):
    answer = await api.data(QUEUE, {"status": "ALL"}, token=team.acme["vic"].token)
    assert {n["id"] for n in answer["handoffQueue"]["nodes"]} == two_desks["acme_escalations"]
    assert "Globex" not in json.dumps(answer) and "globex.test" not in json.dumps(answer)


async def test_my_sessions_are_the_callers_own(api, team, two_desks):
    query = """{ mySessions(first: 100) { id problemSummary owner { email } messages { content }
      handoffs { id } } }"""
    gus = await api.data(query, token=team.globex["gus"].token)
    assert {s["id"] for s in gus["mySessions"]} == two_desks["gus_sessions"]
    assert not [s for s in _acme_strings(team) if s in json.dumps(gus)]
    gail = await api.data(query, token=team.globex["gail"].token)  # works the claimed one
    assert {s["id"] for s in gail["mySessions"]} <= two_desks["gus_sessions"]
    assert not [s for s in _acme_strings(team) if s in json.dumps(gail)]
    for status in ("ACTIVE", "PAUSED", "ESCALATED", "RESOLVED"):
        filtered = await api.data(
            "query($s: SessionStatus) { mySessions(status: $s, first: 100) { id } }",
            {"s": status},
            token=team.globex["gus"].token,
        )
        assert {s["id"] for s in filtered["mySessions"]} <= two_desks["gus_sessions"]


async def test_users_me_and_account_are_the_callers(api, team, two_desks):
    for tenant, other in ((team.globex, team.acme), (team.acme, team.globex)):
        for member in tenant.members.values():
            answer = await api.data(
                "{ me { id email } account { id name } users { id email } }", token=member.token
            )
            assert answer["me"] == {"id": member.id, "email": member.user.email}
            assert answer["account"] == {
                "id": str(tenant.account.id),
                "name": tenant.account.name,
            }
            assert {u["id"] for u in answer["users"]} == {m.id for m in tenant.members.values()}
            assert other.account.name not in json.dumps(answer)


async def test_an_escalation_emails_only_its_own_account(desk, team, two_desks):
    async with desk.db.read() as db:
        emails = (await db.exec(select(EmailMessage))).all()
    assert emails, "escalations record emails to teammates"
    acme = {m.user.id for m in team.acme.members.values()}
    for email in emails:
        own = email.account_id == team.acme.account.id
        assert (email.recipient_id in acme) == own, email
        assert email.to_address.endswith("@acme.test" if own else "@globex.test"), email
