"""Tenant walls: with another account's ids, every query and mutation answers exactly as it does
for an id that does not exist, nothing of that account is read, and nothing of it changes.
(Subscriptions: tests/api/test_live.py shows another account's events are never delivered.)"""

import json
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import select

from db.enums import HandoffIntent
from db.models import EmailMessage
from resolvers import claims
from tests.factories import land_assessment, make_escalation, make_session
from tests.support.tenancy import CASES, NOT_FOUND, TABLES

pytestmark = pytest.mark.anyio


@pytest.fixture
async def acme_rows(desk, team):
    """Acme's session, escalation, park handoff and a user: what Globex must never reach."""
    acme = team.acme
    session = await make_session(desk, acme["alex"], "Acme secret problem")
    escalation = await make_escalation(desk, acme["alex"], "Acme escalated problem")
    parked = await make_escalation(desk, acme["alex"], "Acme parked", intent=HandoffIntent.PARK)
    assessment = await land_assessment(desk, escalation.id, "Acme assessed problem")
    return {
        "session": [str(session.id), str(escalation.session_id)],
        "handoff": [str(escalation.id), str(parked.id)],
        "user": [acme["kim"].id, acme["dana"].id],
        "assessment": [str(assessment.id)],
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


@pytest.mark.parametrize("field", sorted(NOT_FOUND))
async def test_another_accounts_id_gets_the_not_found_answer(field, api, desk, team, acme_rows):
    query, expected = NOT_FOUND[field]
    name = field.split(".")[1]
    gail = team.globex["gail"]  # an admin: no answer can be NotPermitted
    before = await _everything_of(desk, team.acme.account.id)
    for acme_id in acme_rows[CASES[field][2]["id"]]:
        if expected is None:
            # The Acme engineer who made them asks first: the answer is there, maybe cached...
            own = _one(await api.data(query, {"id": acme_id}, token=team.acme["alex"].token), name)
            assert own is not None and own["id"] == acme_id
        with_acme = await api.post(query, {"id": acme_id}, token=gail.token)
        random_id = str(uuid.uuid4())
        with_random = await api.post(query, {"id": random_id}, token=gail.token)
        assert not with_acme.get("errors"), with_acme
        if expected is None:  # ...but never handed to another account's caller
            assert with_acme == with_random
            assert _one(with_acme["data"], name) is None
            continue
        typename, echoed = expected
        answer = with_acme["data"][name]
        assert answer["__typename"] == typename, answer
        assert answer[echoed] == acme_id
        assert answer["message"] == with_random["data"][name]["message"]
        assert {**answer, echoed: "<id>"} == {**with_random["data"][name], echoed: "<id>"}
    assert await _everything_of(desk, team.acme.account.id) == before


def _one(data: dict, name: str):
    """The field's answer; nodes(ids:) asked for one id: its one item."""
    value = data[name]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


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
