"""Relay's connections: every list that grows pages with first/after (and last/before), its
cursors opaque, its pages together the whole list in order, and the old list fields unchanged."""

import pytest

from db.models import HandoffNote
from resolvers import notes
from tests.factories import make_escalation, make_parked_session, make_session

pytestmark = pytest.mark.anyio

ARGS = "$first: Int, $after: String, $last: Int, $before: String"
PAGE_OF = "(first: $first, after: $after, last: $last, before: $before)"


def page(fields: str) -> str:
    return (
        f"{PAGE_OF} {{ edges {{ cursor node {{ {fields} }} }} "
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }"
    )


async def pages_of(api, token, query, path, variables, first=3):
    """Every page forward, first at a time: the nodes in order, and each page's pageInfo."""
    items, infos, after = [], [], None
    for _ in range(50):
        data = await api.data(query, {**variables, "first": first, "after": after}, token=token)
        for key in path:
            data = data[key]
        items += [edge["node"] for edge in data["edges"]]
        infos.append(data["pageInfo"])
        if not data["pageInfo"]["hasNextPage"]:
            return items, infos
        after = data["pageInfo"]["endCursor"]
    raise AssertionError("never reached the last page")


async def pages_back(api, token, query, path, variables, last=3):
    """Every page backward from the end, last at a time: the nodes in the list's order."""
    items, before = [], None
    for _ in range(50):
        data = await api.data(query, {**variables, "last": last, "before": before}, token=token)
        for key in path:
            data = data[key]
        items = [edge["node"] for edge in data["edges"]] + items
        if not data["pageInfo"]["hasPreviousPage"]:
            return items
        before = data["pageInfo"]["startCursor"]
    raise AssertionError("never reached the first page")


MESSAGES = f"""
query($id: ID!, {ARGS}) {{
  session(id: $id) {{
    messagesConnection{page("position content")}
    messages(first: 500) {{ position content }}
  }}
}}
"""


async def test_a_conversation_pages_forward_and_back_to_the_whole_of_it(api, desk, team):
    sam = team.acme["sam"]
    session = await make_session(desk, sam, "Long talk", turns=8)
    args = (api, sam.token, MESSAGES, ["session", "messagesConnection"], {"id": str(session.id)})

    forward, infos = await pages_of(*args)
    whole = (await api.data(MESSAGES, {"id": str(session.id), "first": 1}, token=sam.token))[
        "session"
    ]["messages"]
    assert [m["position"] for m in forward] == list(range(1, 9))
    assert forward == whole  # the deprecated list still answers, and the same
    assert [(i["hasNextPage"], i["hasPreviousPage"]) for i in infos] == [
        (True, False),
        (True, True),
        (False, True),
    ]
    assert await pages_back(*args) == forward

    # Without first or last: the first page of the default size (100), all 8 here.
    data = await api.data(MESSAGES, {"id": str(session.id)}, token=sam.token)
    page = data["session"]["messagesConnection"]
    assert [e["node"]["position"] for e in page["edges"]] == list(range(1, 9))
    assert page["pageInfo"]["hasNextPage"] is False


HISTORY = (
    f"query($id: ID!, {ARGS}) {{ handoff(id: $id) {{ historyConnection{page('seq kind')} }} }}"
)
NOTES = f"query($id: ID!, {ARGS}) {{ handoff(id: $id) {{ notesConnection{page('id body')} }} }}"


async def test_an_escalations_history_and_notes_page_in_order(api, desk, team):
    acme = team.acme
    escalation = await make_escalation(desk, acme["alex"], "VPN down")
    for n in range(7):
        added = await notes.add_note(desk, acme["sam"].viewer, escalation.id, f"note {n}")
        assert isinstance(added, HandoffNote), added
    variables = {"id": str(escalation.id)}
    kim = acme["kim"].token

    notes_seen, _ = await pages_of(api, kim, NOTES, ["handoff", "notesConnection"], variables)
    assert [n["body"] for n in notes_seen] == [f"note {n}" for n in range(7)]
    history, _ = await pages_of(api, kim, HISTORY, ["handoff", "historyConnection"], variables)
    assert [e["kind"] for e in history] == ["ESCALATED"] + ["NOTE_ADDED"] * 7
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    assert (
        await pages_back(api, kim, NOTES, ["handoff", "notesConnection"], variables) == notes_seen
    )
    assert (
        await pages_back(api, kim, HISTORY, ["handoff", "historyConnection"], variables) == history
    )


USERS = f"query({ARGS}) {{ usersConnection{page('id name')} users {{ id name }} }}"

MY_SESSIONS = f"""
query({ARGS}) {{
  mySessionsConnection{page("id problemSummary")}
  mySessions(first: 100) {{ id problemSummary }}
}}
"""


async def test_the_accounts_users_and_the_callers_sessions_page_like_their_lists(api, desk, team):
    acme = team.acme
    for n in range(5):
        await make_session(desk, acme["sam"], f"Problem {n}", turns=0)
    await make_session(desk, acme["kim"], "Kim's own", turns=0)
    sam = acme["sam"].token

    users, _ = await pages_of(api, sam, USERS, ["usersConnection"], {}, first=2)
    assert users == (await api.data(USERS, {"first": 1}, token=sam))["users"]
    assert len(users) == len(acme.members)
    assert await pages_back(api, sam, USERS, ["usersConnection"], {}, last=2) == users

    mine, _ = await pages_of(api, sam, MY_SESSIONS, ["mySessionsConnection"], {}, first=2)
    listed = (await api.data(MY_SESSIONS, {"first": 1}, token=sam))["mySessions"]
    assert [s["problemSummary"] for s in mine] == [f"Problem {n}" for n in reversed(range(5))]
    assert mine == listed
    assert await pages_back(api, sam, MY_SESSIONS, ["mySessionsConnection"], {}, last=2) == mine


async def test_another_accounts_lists_stay_out_of_its_pages(api, desk, team):
    await make_session(desk, team.acme["sam"], "Acme secret", turns=0)
    gail = team.globex["gail"].token
    users, _ = await pages_of(api, gail, USERS, ["usersConnection"], {}, first=100)
    assert {u["name"] for u in users} == {"Gail Admin", "Gus Engineer"}
    mine, _ = await pages_of(api, gail, MY_SESSIONS, ["mySessionsConnection"], {}, first=100)
    assert mine == []
    # A cursor naming an Acme user pages nothing of Acme's.
    acme_cursor = (await api.data(USERS, {"first": 1}, token=team.acme["sam"].token))[
        "usersConnection"
    ]["pageInfo"]["endCursor"]
    data = await api.data(USERS, {"first": 100, "after": acme_cursor}, token=gail)
    assert data["usersConnection"]["edges"] == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "first must be between 1 and 100, got 0"),
        ({"first": 101}, "first must be between 1 and 100, got 101"),
        ({"last": 101}, "last must be between 1 and 100, got 101"),
        ({"first": 2, "last": 2}, "Give first (and after) or last (and before), not both"),
        ({"first": 2, "before": "x"}, "Give first (and after) or last (and before), not both"),
        ({"after": "not a cursor"}, "after is not a cursor of this list"),
        ({"after": "bm90ZXM6MQ=="}, "after is not a cursor of this list"),  # another list's
        ({"before": "dXNlcnM6eA=="}, "before is not a cursor of this list"),  # users:x
        ({"after": "A" * 400}, "after is not a cursor of this list"),
    ],
)
async def test_a_bad_page_is_the_clients_mistake(api, team, variables, message):
    error = await api.error(USERS, variables, token=team.acme["sam"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == message


SESSION_HANDOFFS = f"""
query($id: ID!, {ARGS}) {{
  session(id: $id) {{ handoffsConnection{page("id engineerNotes")} handoffs(first: 50) {{ id }} }}
}}
"""


async def test_a_sessions_handoffs_page_in_order_and_only_those_the_caller_sees(api, desk, team):
    alex = team.acme["alex"]
    session = await make_parked_session(desk, alex, times=5)  # parks: Alex's alone
    variables = {"id": str(session.id)}
    path = ["session", "handoffsConnection"]

    parks, _ = await pages_of(api, alex.token, SESSION_HANDOFFS, path, variables, first=2)
    assert [h["engineerNotes"] for h in parks] == [f"park {n}" for n in range(5)]
    listed = await api.data(SESSION_HANDOFFS, {**variables, "first": 1}, token=alex.token)
    assert [h["id"] for h in parks] == [h["id"] for h in listed["session"]["handoffs"]]
    back = await pages_back(api, alex.token, SESSION_HANDOFFS, path, variables, last=2)
    assert back == parks

    kim, _ = await pages_of(api, team.acme["kim"].token, SESSION_HANDOFFS, path, variables)
    assert kim == []
