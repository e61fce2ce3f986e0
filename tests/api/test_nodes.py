"""Relay's Node: node(id:) and nodes(ids:) fetch handoffs, sessions and users by their ids, each as
the type's own query shows it (null where that query answers null: another account's, a park of
someone else's), and a nodes list of any length costs one statement per type."""

import uuid

import pytest

from db.enums import HandoffIntent
from resolvers import limits
from tests.api.test_query_count import counting_statements
from tests.factories import make_escalation, make_session

pytestmark = pytest.mark.anyio

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Handoff { intent session { id } }
    ... on Session { problemSummary }
    ... on User { name }
  }
}
"""

NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Handoff { intent createdBy { name } }
    ... on Session { problemSummary }
    ... on User { name }
  }
}
"""


async def test_node_fetches_each_type_by_the_id_its_own_query_takes(api, desk, team):
    acme = team.acme
    escalation = await make_escalation(desk, acme["alex"], "VPN down")
    session = await make_session(desk, acme["sam"], "Printer offline")
    token = acme["kim"].token

    handoff = (await api.data(NODE, {"id": str(escalation.id)}, token=token))["node"]
    assert handoff == {
        "__typename": "Handoff",
        "id": str(escalation.id),
        "intent": "ESCALATE",
        "session": {"id": str(escalation.session_id)},
    }
    # The same id the type's own query and the mutations take.
    same = await api.data(
        "query($id: ID!) { handoff(id: $id) { id } }", {"id": handoff["id"]}, token=token
    )
    assert same["handoff"]["id"] == handoff["id"]

    found = (await api.data(NODE, {"id": str(session.id)}, token=token))["node"]
    assert found == {
        "__typename": "Session",
        "id": str(session.id),
        "problemSummary": "Printer offline",
    }

    user = (await api.data(NODE, {"id": acme["dana"].id}, token=token))["node"]
    assert user == {"__typename": "User", "id": acme["dana"].id, "name": "Dana Admin"}


async def test_nodes_answers_in_the_ids_order_with_null_for_what_the_caller_cannot_see(
    api, desk, team
):
    acme, globex = team.acme, team.globex
    escalation = await make_escalation(desk, acme["alex"], "VPN down")
    alexs_park = await make_escalation(desk, acme["alex"], "Mine alone", intent=HandoffIntent.PARK)
    session = await make_session(desk, acme["sam"], "Printer offline")
    globex_session = await make_session(desk, globex["gus"], "Globex secret")
    unknown = str(uuid.uuid4())
    ids = [
        acme["dana"].id,
        str(session.id),
        unknown,
        str(escalation.id),
        str(alexs_park.id),  # a park: its creator's alone, as handoff(id:) says
        str(globex_session.id),  # another account's: null, as if it did not exist
        globex["gail"].id,
        str(escalation.id),  # twice: answered twice
    ]

    answer = (await api.data(NODES, {"ids": ids}, token=acme["kim"].token))["nodes"]

    assert [n and (n["__typename"], n["id"]) for n in answer] == [
        ("User", acme["dana"].id),
        ("Session", str(session.id)),
        None,
        ("Handoff", str(escalation.id)),
        None,
        None,
        None,
        ("Handoff", str(escalation.id)),
    ]
    assert answer[3]["createdBy"] == {"name": "Alex Junior"}
    # The park is there for its creator, through both ways in.
    mine = await api.data(NODES, {"ids": [str(alexs_park.id)]}, token=acme["alex"].token)
    assert mine["nodes"] == [
        {
            "__typename": "Handoff",
            "id": str(alexs_park.id),
            "intent": "PARK",
            "createdBy": {"name": "Alex Junior"},
        }
    ]


async def test_another_accounts_ids_answer_exactly_as_unknown_ids(api, desk, team):
    acme, gail = team.acme, team.globex["gail"]  # an admin of another account
    escalation = await make_escalation(desk, acme["alex"], "Acme secret")
    for acme_id in (str(escalation.id), str(escalation.session_id), acme["dana"].id):
        unknown = str(uuid.uuid4())
        with_acme = await api.post(NODE, {"id": acme_id}, token=gail.token)
        with_unknown = await api.post(NODE, {"id": unknown}, token=gail.token)
        assert with_acme == with_unknown == {"data": {"node": None}}
        listed = await api.post(NODES, {"ids": [acme_id, unknown]}, token=gail.token)
        assert listed == {"data": {"nodes": [None, None]}}


@pytest.mark.no_query_cache
async def test_nodes_costs_one_statement_per_type_however_many_ids(api, desk, team):
    acme = team.acme
    escalations = [await make_escalation(desk, acme["sam"], f"Problem {n}") for n in range(12)]
    few = [str(h.id) for h in escalations[:2]] + [acme["dana"].id]
    many = (
        [str(h.id) for h in escalations]
        + [str(h.session_id) for h in escalations]
        + [m.id for m in acme.members.values()]
    )
    token = acme["kim"].token
    await api.data(NODES, {"ids": few}, token=token)  # warm up: connections, dialect

    with counting_statements() as small:
        await api.data(NODES, {"ids": few}, token=token)
    with counting_statements() as large:
        answer = await api.data(NODES, {"ids": many}, token=token)

    assert all(n is not None for n in answer["nodes"])
    print(f"\nnodes statements: {len(small)} for {len(few)} ids, {len(large)} for {len(many)}")
    assert len(small) == len(large)
    # One per type, not one per id: handoffs, sessions, users (and the caller's authentication).
    assert sum(s.lstrip().startswith("SELECT") for s in large) < len(many)


async def test_more_ids_than_the_bound_is_refused_plainly(api, team):
    ids = [str(uuid.uuid4()) for _ in range(limits.NODES_MAX + 1)]
    error = await api.error(NODES, {"ids": ids}, token=team.acme["kim"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (
        error["message"]
        == f"nodes takes at most {limits.NODES_MAX} ids, got {limits.NODES_MAX + 1}"
    )
    at_bound = await api.data(NODES, {"ids": ids[:-1]}, token=team.acme["kim"].token)
    assert at_bound["nodes"] == [None] * limits.NODES_MAX


@pytest.mark.parametrize("bad", ["not-an-id", "", "SGFuZG9mZjox", "1" * 300])
async def test_a_malformed_id_is_the_clients_mistake(api, team, bad):
    token = team.acme["kim"].token
    error = await api.error(NODE, {"id": bad}, token=token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not a valid id" in error["message"]
    error = await api.error(NODES, {"ids": [str(uuid.uuid4()), bad]}, token=token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("ids[1] ")


async def test_node_asks_who_the_caller_is(api):
    error = await api.error(NODE, {"id": str(uuid.uuid4())})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
