"""The team queue through the API: order, pages, filters and unread marks."""

import base64
import json
import uuid

import pytest
from sqlmodel import select

from db.enums import HandoffIntent, Priority
from db.models import HandoffSeen
from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

QUEUE = """
query Queue($first: Int! = 20, $after: String, $status: QueueStatus! = ALL) {
  handoffQueue(first: $first, after: $after, status: $status) {
    totalCount unreadCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node { id priority unread claimedBy { id } session { problemSummary } }
    }
  }
}
"""

CLAIM = """
mutation Claim($id: ID!) { claimHandoff(input: { handoffId: $id }) { __typename } }
"""

SEEN = """
mutation Seen($id: ID!) {
  markHandoffSeen(input: { handoffId: $id }) {
    __typename
    ... on MarkHandoffSeenSuccess { handoff { id unread } }
    ... on HandoffNotFound { handoffId }
  }
}
"""

HANDOFF = """
query One($id: ID!) { handoff(id: $id) { id unread } }
"""


async def queue(api, member, **variables):
    data = await api.data(QUEUE, variables, token=member.token)
    return data["handoffQueue"]


def summaries(page) -> list[str]:
    return [e["node"]["session"]["problemSummary"] for e in page["edges"]]


async def claim(api, member, handoff_id):
    data = await api.data(CLAIM, {"id": str(handoff_id)}, token=member.token)
    assert data["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"


async def seen_rows(desk) -> set[tuple[str, str]]:
    async with desk.db.read() as db:
        rows = (await db.exec(select(HandoffSeen))).all()
    return {(str(r.user_id), str(r.handoff_id)) for r in rows}


async def make_mixed_queue(desk, api, team) -> list[str]:
    """Eight escalations, three of them claimed; returns the queue's order by summary."""
    sam, kim = team.acme["sam"], team.acme["kim"]
    created = {}
    for name, priority in [
        ("a", Priority.LOW),
        ("b", Priority.URGENT),
        ("c", Priority.NORMAL),
        ("d", Priority.HIGH),
        ("e", Priority.NORMAL),
        ("f", Priority.URGENT),
        ("g", Priority.LOW),
        ("h", Priority.NORMAL),
    ]:
        created[name] = await make_escalation(desk, sam, name, priority=priority)
    for name in ("b", "c", "e"):
        await claim(api, kim, created[name].id)
    # Unclaimed: by priority, newest first; then claimed, the same way.
    return ["f", "d", "h", "g", "a", "b", "e", "c"]


# --- order, pages, filters ------------------------------------------------------------------


async def test_unclaimed_first_then_by_priority_then_newest_first(api, desk, team):
    expected = await make_mixed_queue(desk, api, team)

    page = await queue(api, team.acme["alex"])

    assert summaries(page) == expected
    assert page["totalCount"] == 8
    assert page["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["priority"] for e in page["edges"]] == [
        "URGENT",
        "HIGH",
        "NORMAL",
        "LOW",
        "LOW",
        "URGENT",
        "NORMAL",
        "NORMAL",
    ]
    claimed = [e["node"]["claimedBy"] is not None for e in page["edges"]]
    assert claimed == [False] * 5 + [True] * 3


async def test_pages_walk_every_item_exactly_once(api, desk, team):
    """At each page size, on one queue (made once: walking it only reads)."""
    expected = await make_mixed_queue(desk, api, team)
    alex = team.acme["alex"]

    for size in [1, 2, 3, 7, 8]:
        walked, after, pages = [], None, 0
        while True:
            page = await queue(api, alex, first=size, after=after)
            pages += 1
            assert len(page["edges"]) <= size, size
            assert page["totalCount"] == 8, size
            walked += summaries(page)
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"], size
            assert page["pageInfo"]["hasNextPage"] is (len(walked) < len(expected)), size
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
            assert pages <= len(expected), f"the walk does not end ({size} a page)"

        assert walked == expected, size
        assert pages == -(-len(expected) // size), size


async def test_the_page_after_the_last_is_empty(api, desk, team):
    await make_mixed_queue(desk, api, team)
    alex = team.acme["alex"]
    last = await queue(api, alex, first=8)

    beyond = await queue(api, alex, first=8, after=last["pageInfo"]["endCursor"])

    assert beyond["edges"] == []
    assert beyond["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_an_empty_queue(api, team):
    page = await queue(api, team.acme["kim"])
    assert page == {
        "totalCount": 0,
        "unreadCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_status_filters(api, desk, team):
    await make_mixed_queue(desk, api, team)
    alex = team.acme["alex"]

    unclaimed = await queue(api, alex, status="UNCLAIMED")
    assert summaries(unclaimed) == ["f", "d", "h", "g", "a"]
    assert unclaimed["totalCount"] == 5
    assert all(e["node"]["claimedBy"] is None for e in unclaimed["edges"])

    claimed = await queue(api, alex, status="CLAIMED")
    assert summaries(claimed) == ["b", "e", "c"]
    assert claimed["totalCount"] == 3
    assert all(e["node"]["claimedBy"] == {"id": team.acme["kim"].id} for e in claimed["edges"])

    # Pages of a filtered queue stay within the filter.
    first = await queue(api, alex, status="CLAIMED", first=2)
    rest = await queue(api, alex, status="CLAIMED", first=2, after=first["pageInfo"]["endCursor"])
    assert summaries(first) + summaries(rest) == ["b", "e", "c"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_the_queue_holds_only_the_callers_accounts_escalations(api, desk, team):
    await make_escalation(desk, team.acme["sam"], "Acme issue")
    await make_escalation(desk, team.globex["gus"], "Globex issue")
    await make_escalation(desk, team.acme["kim"], "Acme parked", intent=HandoffIntent.PARK)

    assert summaries(await queue(api, team.acme["alex"])) == ["Acme issue"]
    assert summaries(await queue(api, team.acme["kim"])) == ["Acme issue"]
    assert summaries(await queue(api, team.globex["gail"])) == ["Globex issue"]


async def test_a_viewer_reads_the_queue(api, desk, team):
    await make_escalation(desk, team.acme["sam"], "Visible to all")
    page = await queue(api, team.acme["vic"])
    assert summaries(page) == ["Visible to all"]
    assert page["unreadCount"] == 1


# --- unread marks ---------------------------------------------------------------------------


async def test_unread_for_teammates_not_for_the_escalator(api, desk, team):
    sam = team.acme["sam"]
    await make_escalation(desk, sam, "New problem")

    own = await queue(api, sam)
    assert own["edges"][0]["node"]["unread"] is False
    assert own["unreadCount"] == 0
    for name in ("kim", "alex", "dana"):
        page = await queue(api, team.acme[name])
        assert page["edges"][0]["node"]["unread"] is True, name
        assert page["unreadCount"] == 1, name


async def test_listing_the_queue_never_clears_unread(api, desk, team):
    kim = team.acme["kim"]
    escalation = await make_escalation(desk, team.acme["sam"])
    before = await seen_rows(desk)

    for _ in range(3):
        page = await queue(api, kim)
        assert page["edges"][0]["node"]["unread"] is True
        assert page["unreadCount"] == 1
    data = await api.data(HANDOFF, {"id": str(escalation.id)}, token=kim.token)
    assert data["handoff"]["unread"] is True

    assert await seen_rows(desk) == before
    assert (kim.id, str(escalation.id)) not in before


async def test_mark_seen_clears_unread_for_that_user_only(api, desk, team):
    kim, alex = team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, team.acme["sam"])

    data = await api.data(SEEN, {"id": str(escalation.id)}, token=kim.token)

    assert data["markHandoffSeen"] == {
        "__typename": "MarkHandoffSeenSuccess",
        "handoff": {"id": str(escalation.id), "unread": False},
    }
    kims = await queue(api, kim)
    assert kims["edges"][0]["node"]["unread"] is False
    assert kims["unreadCount"] == 0
    alexs = await queue(api, alex)
    assert alexs["edges"][0]["node"]["unread"] is True
    assert alexs["unreadCount"] == 1
    assert (kim.id, str(escalation.id)) in await seen_rows(desk)
    assert (alex.id, str(escalation.id)) not in await seen_rows(desk)

    # Marking it again is harmless.
    again = await api.data(SEEN, {"id": str(escalation.id)}, token=kim.token)
    assert again["markHandoffSeen"]["handoff"]["unread"] is False


async def test_mark_seen_of_an_invisible_handoff_is_not_found(api, desk, team):
    parked = await make_escalation(desk, team.acme["sam"], intent=HandoffIntent.PARK)
    other = await make_escalation(desk, team.globex["gus"])
    before = await seen_rows(desk)

    for handoff_id in (parked.id, other.id, uuid.uuid4()):
        data = await api.data(SEEN, {"id": str(handoff_id)}, token=team.acme["kim"].token)
        assert data["markHandoffSeen"] == {
            "__typename": "HandoffNotFound",
            "handoffId": str(handoff_id),
        }
    assert await seen_rows(desk) == before


async def test_a_claim_clears_unread_for_the_claimer(api, desk, team):
    kim, alex = team.acme["kim"], team.acme["alex"]
    escalation = await make_escalation(desk, team.acme["sam"])

    await claim(api, kim, escalation.id)

    assert (await queue(api, kim))["edges"][0]["node"]["unread"] is False
    assert (await queue(api, kim))["unreadCount"] == 0
    assert (await queue(api, alex))["edges"][0]["node"]["unread"] is True
    assert (await queue(api, alex))["unreadCount"] == 1


async def test_unread_count_covers_every_page(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalations = [await make_escalation(desk, sam, f"p{n}") for n in range(5)]
    await api.data(SEEN, {"id": str(escalations[0].id)}, token=kim.token)
    await claim(api, kim, escalations[1].id)

    first = await queue(api, kim, first=2)
    everything = await queue(api, kim, first=100)

    unread_nodes = [e for e in everything["edges"] if e["node"]["unread"]]
    assert len(unread_nodes) == 3
    assert first["unreadCount"] == everything["unreadCount"] == 3
    claimed = await queue(api, kim, status="CLAIMED")
    assert claimed["unreadCount"] == 0
    unclaimed = await queue(api, kim, status="UNCLAIMED")
    assert unclaimed["unreadCount"] == 3
    assert unclaimed["totalCount"] == 4


# --- refused input --------------------------------------------------------------------------


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_a_page_size_out_of_range_is_bad_input(api, team, first):
    error = await api.error(QUEUE, {"first": first}, token=team.acme["kim"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]


@pytest.mark.parametrize("first", [1, 100])
async def test_page_sizes_at_the_limits_are_accepted(api, team, first):
    page = await queue(api, team.acme["kim"], first=first)
    assert page["edges"] == []


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


GARBAGE_CURSORS = {
    "plain text": "garbage",
    "empty": "",
    "not json": _b64("hello"),
    "json object": _b64(json.dumps({"a": 1})),
    "json null": _b64("null"),
    "too short": _b64(json.dumps([1, 2])),
    "bad date": _b64(json.dumps([1, 2, "yesterday", str(uuid.uuid4())])),
    "bad id": _b64(json.dumps([1, 2, "2024-05-01T10:00:00+00:00", "nope"])),
    "numeric id": _b64(json.dumps([1, 2, "2024-05-01T10:00:00+00:00", 5])),
    "numeric date": _b64(json.dumps([1, 2, 20240501, str(uuid.uuid4())])),
    "date without zone": _b64(json.dumps([1, 2, "2024-05-01T10:00:00", str(uuid.uuid4())])),
}


@pytest.mark.parametrize("after", GARBAGE_CURSORS.values(), ids=GARBAGE_CURSORS.keys())
async def test_a_garbage_cursor_is_bad_input(api, desk, team, after):
    await make_escalation(desk, team.acme["sam"])

    error = await api.error(QUEUE, {"after": after}, token=team.acme["kim"].token)

    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "after" in error["message"]
