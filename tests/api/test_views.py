"""The desk's views through the API: `handoffs` with its filters and search, the escalator's own
view (`myEscalations`, `myParkedSessions`), their pages and counts, and resuming a park."""

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from db.enums import Confidence, HandoffIntent, MessageRole, Priority
from db.models import Account, Handoff, SessionMessage, TroubleshootingSession, User
from resolvers import claims, handoffs, sessions
from resolvers.assessments import AssessmentResult, pending_handoff, store_assessment
from resolvers.desk import Desk, transaction
from tests.api.test_query_count import counting_statements, make_busy_queue
from tests.conftest import Api
from tests.factories import Member, Team, make_session

pytestmark = pytest.mark.anyio

NODE = """
  id intent priority unread engineerNotes claimedAt
  claimedBy { id name } createdBy { id }
  session { problemSummary status }
  assessment { status summary likelyCause suggestedSteps }
"""


def page_query(field: str, arguments: dict[str, str], node: str = NODE) -> str:
    """A query of one page of a view, and its counts; `arguments` are the view's own (name:
    type), given as variables of the same names."""
    declared = "".join(f", ${name}: {type_}" for name, type_ in arguments.items())
    passed = "".join(f", {name}: ${name}" for name in arguments)
    return f"""
query Page($first: Int! = 20, $after: String{declared}) {{
  {field}(first: $first, after: $after{passed}) {{
    totalCount unreadCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {node} }} }}
  }}
}}
"""


HANDOFFS = page_query("handoffs", {"filter": "HandoffFilter"})
MINE = page_query("myEscalations", {"status": "HandoffStatus"})
PARKED = page_query("myParkedSessions", {})

QUEUE = """
query Queue($first: Int! = 20, $after: String) {
  handoffQueue(first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""


async def hand_off(
    desk,
    member: Member,
    summary: str,
    notes: str,
    priority: Priority = Priority.NORMAL,
    intent: HandoffIntent = HandoffIntent.ESCALATE,
) -> Handoff:
    session = await make_session(desk, member, summary)
    handoff = await handoffs.create_handoff(
        desk, member.viewer, session.id, intent=intent, engineer_notes=notes, priority=priority
    )
    assert isinstance(handoff, Handoff), handoff
    return handoff


async def park(desk, member: Member, summary: str = "Waits on the customer") -> Handoff:
    return await hand_off(desk, member, summary, "will call back", intent=HandoffIntent.PARK)


async def claim(desk, member: Member, handoff: Handoff) -> Handoff:
    won = await claims.claim_handoff(desk, member.viewer, handoff.id)
    assert isinstance(won, Handoff) and won.claimed_by_id == member.user.id, won
    return won


async def customer_replies(desk, member: Member, park: Handoff) -> None:
    """A customer's message in the parked session (`member` adds it): the session resumes."""
    message = await sessions.add_message(
        desk,
        member.viewer,
        park.session_id,
        role=MessageRole.CUSTOMER,
        content="It works now",
        confidence_tier=None,
    )
    assert isinstance(message, SessionMessage), message


async def assess(desk, handoff: Handoff, result: AssessmentResult) -> None:
    async with transaction(desk) as tx:
        pending = await pending_handoff(tx.session, handoff.id)
        assert await store_assessment(tx, pending, result, assessor="rules")


@dataclass
class BusyDesk:
    handoffs: dict[str, Handoff]  # by name
    ids: dict[str, str]  # name -> handoff id
    names: dict[str, str]  # handoff id -> name

    def named(self, page) -> list[str]:
        return [self.names[e["node"]["id"]] for e in page["edges"]]


async def make_busy_desk(desk, team) -> BusyDesk:
    """Acme: five escalations (two unclaimed, one claimed by each of sam, kim and alex, kim's
    resolved) and a park each for alex and kim; Globex: an escalation and a park. Created in
    this order, so the newest are last."""
    acme, globex = team.acme, team.globex
    made = {
        "printer": await hand_off(
            desk, acme["alex"], "Printer offline on floor 3", "Replaced the toner cartridge"
        ),
        "vpn": await hand_off(
            desk, acme["alex"], "VPN drops every hour", "Reinstalled the client", Priority.URGENT
        ),
        "mailbox": await hand_off(
            desk, acme["alex"], "Mailbox full", "Archived old mail", Priority.LOW
        ),
        "disk": await hand_off(
            desk, acme["sam"], "Disk failing on the file server", "SMART errors", Priority.HIGH
        ),
        "wifi": await hand_off(
            desk, acme["kim"], "Wifi slow in the warehouse", "Moved the access point", Priority.HIGH
        ),
        "backup": await hand_off(
            desk,
            acme["alex"],
            "Backup job waits on the customer",
            "Customer calls back about the toner order",
            intent=HandoffIntent.PARK,
        ),
        "kimpark": await hand_off(
            desk,
            acme["kim"],
            "Kim's own printer problem",
            "Waiting on a toner delivery",
            intent=HandoffIntent.PARK,
        ),
        "globex_printer": await hand_off(
            desk, globex["gus"], "Printer offline in the lobby", "Replaced the toner cartridge"
        ),
        "globex_park": await hand_off(
            desk, globex["gus"], "Printer offline, parked", "toner", intent=HandoffIntent.PARK
        ),
    }
    await claim(desk, acme["sam"], made["vpn"])
    await claim(desk, acme["kim"], made["mailbox"])
    await claim(desk, acme["alex"], made["disk"])
    resolved = await sessions.resolve_session(desk, acme["kim"].viewer, made["mailbox"].session_id)
    assert isinstance(resolved, TroubleshootingSession), resolved
    await assess(
        desk,
        made["printer"],
        AssessmentResult(
            "Looks like a spooler crash",
            "Spooler service stopped",
            ["Restart the spooler service", "Flush the print queue"],
            Confidence.MEDIUM,
        ),
    )
    ids = {name: str(h.id) for name, h in made.items()}
    return BusyDesk(handoffs=made, ids=ids, names={i: n for n, i in ids.items()})


# --- one busy desk per database, shared by the tests that only read it ---------------------------


async def fingerprint(desk) -> tuple:
    """What any write would move: every table's row count, each account's version (every write
    that changes an answer moves it) and each user's read marks."""
    tables = SQLModel.metadata.sorted_tables
    counts = select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])
    async with desk.db.read() as db:
        return (
            tuple((await db.exec(counts)).one()),
            sorted((await db.exec(select(Account.id, Account.version))).all()),
            sorted((await db.exec(select(User.id, User.read_marks))).all()),
        )


@dataclass
class Shared:
    """The module's busy desk (`make_busy_desk`, made once per database) and the module's app on
    it (`module_api`). A test given it only reads: listing a view marks nothing read, and the
    desk is checked unchanged after each test."""

    api: Api
    desk: Desk
    team: Team
    busy: BusyDesk


@pytest.fixture(scope="module")
async def shared_desk(module_desk, module_team) -> tuple[BusyDesk, tuple]:
    busy = await make_busy_desk(module_desk, module_team)
    return busy, await fingerprint(module_desk)


@pytest.fixture
async def shared(module_api, module_desk, module_team, shared_desk) -> AsyncIterator[Shared]:
    busy, before = shared_desk
    yield Shared(api=module_api, desk=module_desk, team=module_team, busy=busy)
    assert await fingerprint(module_desk) == before, "a test of the shared busy desk wrote to it"


# Each caller's whole view, in the queue's order: unclaimed first, by priority, newest first.
EVERYTHING = {
    "alex": ["wifi", "backup", "printer", "vpn", "disk", "mailbox"],
    "kim": ["wifi", "kimpark", "printer", "vpn", "disk", "mailbox"],
    "gus": ["globex_park", "globex_printer"],
}
# What a search for "toner" finds, of everything (notes: the printers and every park).
TONER = {"printer", "backup", "kimpark", "globex_printer", "globex_park"}


async def view(api, member: Member, query: str = HANDOFFS, **variables) -> dict:
    data = await api.data(query, variables, token=member.token)
    (page,) = data.values()
    return page


# --- the whole view, and each filter alone -------------------------------------------------------


async def test_handoffs_without_filters_are_the_escalations_and_the_callers_own_parks(shared):
    api, team, busy = shared.api, shared.team, shared.busy
    for key, expected in EVERYTHING.items():
        member = team.acme[key] if key in team.acme.members else team.globex[key]
        page = await view(api, member)
        assert busy.named(page) == expected, key
        assert page["totalCount"] == len(expected)
        assert page["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": page["edges"][0]["cursor"],
            "endCursor": page["edges"][-1]["cursor"],
        }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"claim": "ANY"}, EVERYTHING["alex"]),
        ({"claim": "UNCLAIMED"}, ["wifi", "backup", "printer"]),
        ({"claim": "MINE"}, ["disk"]),
        ({"claim": "OTHERS"}, ["vpn", "mailbox"]),
        ({"createdByMe": True}, ["backup", "printer", "vpn", "mailbox"]),
        ({"createdByMe": False}, EVERYTHING["alex"]),
        ({"priorities": ["URGENT", "HIGH"]}, ["wifi", "vpn", "disk"]),
        ({"priorities": ["LOW"]}, ["mailbox"]),
        ({"priorities": []}, []),
        ({"intent": "ESCALATE"}, ["wifi", "printer", "vpn", "disk", "mailbox"]),
        ({"intent": "PARK"}, ["backup"]),
        ({"status": "OPEN"}, ["wifi", "backup", "printer", "vpn", "disk"]),
        ({"status": "RESOLVED"}, ["mailbox"]),
        ({"search": "toner"}, ["backup", "printer"]),
        ({"search": "   "}, EVERYTHING["alex"]),
    ],
)
async def test_each_filter_alone(shared, filters, expected):
    busy = shared.busy

    page = await view(shared.api, shared.team.acme["alex"], filter=filters)

    assert busy.named(page) == expected
    assert page["totalCount"] == len(expected)
    assert page["unreadCount"] == sum(e["node"]["unread"] for e in page["edges"])


async def test_a_claim_filter_shows_who_holds_each_and_since_when(shared):
    busy = shared.busy
    async with shared.desk.db.read() as db:
        rows = {str(h.id): h for h in (await db.exec(select(Handoff))).all()}

    page = await view(shared.api, shared.team.acme["alex"], filter={"claim": "OTHERS"})

    for edge in page["edges"]:
        node, row = edge["node"], rows[edge["node"]["id"]]
        assert node["claimedBy"]["id"] == str(row.claimed_by_id)
        assert node["claimedAt"] == row.claimed_at.isoformat()
    assert [e["node"]["claimedBy"]["name"] for e in page["edges"]] == ["Sam Senior", "Kim Senior"]
    assert busy.named(page) == ["vpn", "mailbox"]


# --- filters combined, for every caller: exactly what the filters say, nothing of anyone else ---

CLAIMS = ["ANY", "UNCLAIMED", "MINE", "OTHERS"]
PRIORITY_SETS = [None, ["URGENT", "HIGH"], ["NORMAL", "LOW"]]
INTENTS = [None, "ESCALATE", "PARK"]
STATUSES = [None, "OPEN", "RESOLVED"]
SEARCHES = [None, "toner"]


def _combinations() -> list[dict]:
    """Every claim, creator, intent and status filter together (72), each with one of the
    priority sets and searches in turn."""
    combos = []
    for n, (claim_, mine, intent, status) in enumerate(
        itertools.product(CLAIMS, [False, True], INTENTS, STATUSES)
    ):
        combo = {"claim": claim_, "createdByMe": mine, "intent": intent, "status": status}
        combo["priorities"] = PRIORITY_SETS[n % 3]
        combo["search"] = SEARCHES[(n // 3) % 2]
        combos.append(combo)
    return combos


def _matches(node: dict, name: str, me: str, filters: dict) -> bool:
    claimer = (node["claimedBy"] or {}).get("id")
    claim_ok = {
        "ANY": True,
        "UNCLAIMED": claimer is None,
        "MINE": claimer == me,
        "OTHERS": claimer is not None and claimer != me,
    }[filters["claim"]]
    status = "RESOLVED" if node["session"]["status"] == "RESOLVED" else "OPEN"
    return (
        claim_ok
        and (not filters["createdByMe"] or node["createdBy"]["id"] == me)
        and (filters["priorities"] is None or node["priority"] in filters["priorities"])
        and (filters["intent"] is None or node["intent"] == filters["intent"])
        and (filters["status"] is None or status == filters["status"])
        and (filters["search"] is None or name in TONER)
    )


# The combinations asked a batch at a time, each page under an alias of its own (the app's limit
# is 20 aliases a document): what each page lists is the same as asked alone.
BATCH = 18


def batch_query(count: int) -> str:
    declared = ", ".join(f"$filter{n}: HandoffFilter" for n in range(count))
    pages = "".join(
        f"""
  page{n}: handoffs(first: 100, filter: $filter{n}) {{
    totalCount unreadCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {NODE} }} }}
  }}"""
        for n in range(count)
    )
    return f"query Batch({declared}) {{{pages}\n}}"


@pytest.mark.parametrize("key", ["alex", "kim", "gus"])
async def test_filters_combined_list_exactly_what_they_say_and_only_the_callers(shared, key):
    api, team, busy = shared.api, shared.team, shared.busy
    member = team.acme[key] if key in team.acme.members else team.globex[key]
    everything = await view(api, member, first=100)
    assert busy.named(everything) == EVERYTHING[key]
    nodes = [(e["node"], busy.names[e["node"]["id"]]) for e in everything["edges"]]
    combinations = _combinations()
    pages = []
    for start in range(0, len(combinations), BATCH):
        batch = combinations[start : start + BATCH]
        variables = {f"filter{n}": filters for n, filters in enumerate(batch)}
        data = await api.data(batch_query(len(batch)), variables, token=member.token)
        pages += [data[f"page{n}"] for n in range(len(batch))]
    assert len(pages) == len(combinations) == 72

    for filters, page in zip(combinations, pages, strict=True):
        expected = [name for node, name in nodes if _matches(node, name, member.id, filters)]
        assert busy.named(page) == expected, filters
        assert page["totalCount"] == len(expected), filters
        unread = sum(node["unread"] for node, name in nodes if name in expected)
        assert page["unreadCount"] == unread, filters


async def test_parks_are_their_creators_alone_whatever_the_filters(shared):
    api, team, busy = shared.api, shared.team, shared.busy
    parks = {"backup": "alex", "kimpark": "kim", "globex_park": "gus"}
    callers = {**team.acme.members, **team.globex.members}

    for key, member in callers.items():
        for filters in [{}, {"intent": "PARK"}, {"search": "toner"}, {"claim": "UNCLAIMED"}]:
            seen = set(busy.named(await view(api, member, filter=filters)))
            assert {p for p in parks if p in seen} <= {p for p, o in parks.items() if o == key}
        parked = set(busy.named(await view(api, member, PARKED)))
        assert parked == {p for p, owner in parks.items() if owner == key}


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("printer", ["printer"]),  # the problem summary
        ("PRINTER", ["printer"]),  # any case
        ("toner", ["backup", "printer"]),  # the engineer's notes
        ("toner cartridge", ["printer"]),  # every word
        ("spooler", ["printer"]),  # the assessment's summary
        ("stopped", ["printer"]),  # its likely cause
        ("flush", ["printer"]),  # its suggested steps
        ("warehouse", ["wifi"]),
        ("kangaroo", []),
    ],
)
async def test_search_finds_words_in_the_summary_the_notes_and_the_assessment(
    shared, search, expected
):
    busy = shared.busy

    page = await view(shared.api, shared.team.acme["alex"], filter={"search": search})

    assert busy.named(page) == expected
    assert page["totalCount"] == len(expected)


async def test_search_combines_with_the_other_filters(shared):
    api, busy = shared.api, shared.busy
    alex = shared.team.acme["alex"]

    escalations = await view(api, alex, filter={"search": "toner", "intent": "ESCALATE"})
    parks = await view(api, alex, filter={"search": "toner", "intent": "PARK"})
    claimed = await view(api, alex, filter={"search": "toner", "claim": "OTHERS"})

    assert busy.named(escalations) == ["printer"]
    assert busy.named(parks) == ["backup"]
    assert busy.named(claimed) == []


async def test_odd_search_text_is_searched_not_parsed(shared):
    for search in ['"', "%", "_", "\\", "a & b | !c:*", "(((", "-", "'; drop table"]:
        page = await view(shared.api, shared.team.acme["alex"], filter={"search": search})
        assert page["edges"] == [], search


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("x" * 201, "search is 201 characters long; the limit is 200"),
        (" ".join(["word"] * 21), "search has 21 words; the limit is 20"),
        ("nul\x00byte", "search contains a character that cannot be stored (NUL, lone surrogate)"),
    ],
)
async def test_a_search_beyond_the_limits_is_bad_input(shared, search, message):
    alex = shared.team.acme["alex"]
    error = await shared.api.error(HANDOFFS, {"filter": {"search": search}}, token=alex.token)

    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == message


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 4, 6])
async def test_pages_walk_a_view_to_its_end(shared, size):
    api, busy = shared.api, shared.busy
    alex = shared.team.acme["alex"]

    walked, after, pages = [], None, 0
    while True:
        page = await view(api, alex, first=size, after=after)
        pages += 1
        info = page["pageInfo"]
        assert page["totalCount"] == 6
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        walked += busy.named(page)
        assert info["hasNextPage"] is (len(walked) < 6)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        assert pages <= 6, "the walk does not end"

    assert walked == EVERYTHING["alex"]
    assert pages == -(-6 // size)
    beyond = await view(api, alex, first=size, after=after if size < 6 else info["endCursor"])
    if size == 6:
        assert beyond["edges"] == []
        assert beyond["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": True,
            "startCursor": None,
            "endCursor": None,
        }


async def test_a_cursor_names_the_same_place_under_any_filters(shared):
    api, busy = shared.api, shared.busy
    alex = shared.team.acme["alex"]
    everything = await view(api, alex)
    order = busy.named(everything)
    cursors = {busy.names[e["node"]["id"]]: e["cursor"] for e in everything["edges"]}

    unclaimed = await view(api, alex, first=2, filter={"claim": "UNCLAIMED"})
    assert busy.named(unclaimed) == ["wifi", "backup"]
    assert unclaimed["pageInfo"]["endCursor"] == cursors["backup"]

    for filters in [{}, {"claim": "OTHERS"}, {"intent": "ESCALATE"}, {"claim": "MINE"}]:
        all_of_them = busy.named(await view(api, alex, filter=filters))
        rest = await view(api, alex, after=cursors["backup"], filter=filters)
        later = order[order.index("backup") + 1 :]
        assert busy.named(rest) == [name for name in all_of_them if name in later], filters
        before = [name for name in all_of_them if name not in later]
        assert rest["pageInfo"]["hasPreviousPage"] is bool(before), filters

    # The queue's cursors and the views' are the same: each pages the other.
    queue = (await api.data(QUEUE, {"first": 1}, token=alex.token))["handoffQueue"]
    rest = await view(api, alex, after=queue["pageInfo"]["endCursor"])
    assert busy.named(rest) == order[1:]
    queue_rest = await api.data(QUEUE, {"after": cursors["wifi"]}, token=alex.token)
    assert [busy.names[e["node"]["id"]] for e in queue_rest["handoffQueue"]["edges"]] == [
        "printer",
        "vpn",
        "disk",
        "mailbox",
    ]
    assert queue_rest["handoffQueue"]["pageInfo"]["hasPreviousPage"] is True


async def test_the_queue_says_whether_a_page_has_handoffs_before_it(shared):
    api = shared.api
    alex = shared.team.acme["alex"]

    first = (await api.data(QUEUE, {"first": 2}, token=alex.token))["handoffQueue"]
    second = await api.data(
        QUEUE, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token=alex.token
    )

    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    info = second["handoffQueue"]["pageInfo"]
    assert info["hasPreviousPage"] is True
    assert info["startCursor"] == second["handoffQueue"]["edges"][0]["cursor"]


@pytest.mark.parametrize("query", [HANDOFFS, MINE, PARKED])
async def test_a_crafted_cursor_is_bad_input_in_every_view(shared, query):
    alex = shared.team.acme["alex"]
    error = await shared.api.error(query, {"after": "bm90IGEgY3Vyc29y"}, token=alex.token)

    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == "after is not a cursor from this queue"


@pytest.mark.parametrize("query", [HANDOFFS, MINE, PARKED])
@pytest.mark.parametrize("first", [0, 101])
async def test_a_page_size_out_of_range_is_bad_input_in_every_view(shared, query, first):
    error = await shared.api.error(query, {"first": first}, token=shared.team.acme["alex"].token)

    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


# --- the escalator's view -----------------------------------------------------------------------


async def test_my_escalations_show_who_holds_each_since_when_and_the_assessment(shared):
    api, busy = shared.api, shared.busy
    alex = shared.team.acme["alex"]
    async with shared.desk.db.read() as db:
        rows = {str(h.id): h for h in (await db.exec(select(Handoff))).all()}

    page = await view(api, alex, MINE)

    assert busy.named(page) == ["printer", "vpn", "mailbox"]
    assert page["totalCount"] == 3
    nodes = {busy.names[e["node"]["id"]]: e["node"] for e in page["edges"]}
    assert nodes["printer"]["claimedBy"] is None
    assert nodes["printer"]["claimedAt"] is None
    assert nodes["printer"]["assessment"] == {
        "status": "READY",
        "summary": "Looks like a spooler crash",
        "likelyCause": "Spooler service stopped",
        "suggestedSteps": ["Restart the spooler service", "Flush the print queue"],
    }
    for name, holder in [("vpn", "Sam Senior"), ("mailbox", "Kim Senior")]:
        assert nodes[name]["claimedBy"]["name"] == holder
        assert nodes[name]["claimedAt"] == rows[busy.ids[name]].claimed_at.isoformat()
        assert nodes[name]["assessment"]["status"] == "PENDING"

    open_ = await view(api, alex, MINE, status="OPEN")
    resolved = await view(api, alex, MINE, status="RESOLVED")
    assert busy.named(open_) == ["printer", "vpn"]
    assert busy.named(resolved) == ["mailbox"]


async def test_my_escalations_are_each_callers_own(shared):
    api, team, busy = shared.api, shared.team, shared.busy

    assert busy.named(await view(api, team.acme["sam"], MINE)) == ["disk"]
    assert busy.named(await view(api, team.acme["kim"], MINE)) == ["wifi"]
    assert busy.named(await view(api, team.acme["vic"], MINE)) == []
    assert busy.named(await view(api, team.globex["gus"], MINE)) == ["globex_printer"]


async def test_my_escalations_page_to_the_end(shared):
    api, busy = shared.api, shared.busy
    alex = shared.team.acme["alex"]

    walked, after = [], None
    while True:
        page = await view(api, alex, MINE, first=1, after=after)
        assert page["totalCount"] == 3
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        walked += busy.named(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert walked == ["printer", "vpn", "mailbox"]


async def test_my_parked_sessions_are_the_parks_still_holding_their_session(api, desk, team):
    busy = await make_busy_desk(desk, team)
    alex, kim = team.acme["alex"], team.acme["kim"]

    page = await view(api, alex, PARKED)

    assert busy.named(page) == ["backup"]
    (node,) = [e["node"] for e in page["edges"]]
    assert node["intent"] == "PARK"
    assert node["session"] == {
        "problemSummary": "Backup job waits on the customer",
        "status": "PAUSED",
    }
    assert node["engineerNotes"] == "Customer calls back about the toner order"
    assert node["createdBy"] == {"id": alex.id}
    assert busy.named(await view(api, kim, PARKED)) == ["kimpark"]
    assert busy.named(await view(api, team.acme["sam"], PARKED)) == []

    # A customer's message resumes a parked session: its park no longer holds it.
    await customer_replies(desk, alex, busy.handoffs["backup"])
    assert busy.named(await view(api, alex, PARKED)) == []


async def test_the_still_parked_filter_lists_what_my_parked_sessions_lists_and_narrows_it(
    api, desk, team
):
    busy = await make_busy_desk(desk, team)
    alex = team.acme["alex"]
    still = {"intent": "PARK", "stillParked": True}
    assert busy.named(await view(api, alex, filter=still)) == ["backup"]
    assert busy.named(await view(api, alex, filter={**still, "search": "toner"})) == ["backup"]
    assert busy.named(await view(api, alex, filter={**still, "search": "printer"})) == []
    another = await park(desk, alex, "Printer jams on tray 2")

    # Its session resumed by a customer's message, the park is history: out of the filter,
    # as out of myParkedSessions, while the plain PARK filter still lists it.
    await customer_replies(desk, alex, busy.handoffs["backup"])
    page = await view(api, alex, filter=still)
    assert [e["node"]["id"] for e in page["edges"]] == [str(another.id)]
    assert page["totalCount"] == 1
    mine = await view(api, alex, PARKED)
    assert [e["node"]["id"] for e in mine["edges"]] == [str(another.id)]
    every_park = await view(api, alex, filter={"intent": "PARK"})
    assert str(busy.handoffs["backup"].id) in [e["node"]["id"] for e in every_park["edges"]]


# --- counts and statements ----------------------------------------------------------------------

SCREEN_FILTER = {
    "claim": "ANY",
    "createdByMe": False,
    "priorities": ["LOW", "NORMAL", "HIGH", "URGENT"],
    "intent": "ESCALATE",
    "status": "OPEN",
    "search": "problem",
}

SCREEN_NODE = """
  id priority createdAt unread claimedAt
  session { problemSummary status }
  createdBy { name }
  claimedBy { name }
  assessment { status summary suggestedSteps }
  history { kind actor { name } }
"""


async def statements_of(api, member: Member, query: str, variables: dict) -> tuple[dict, int]:
    with counting_statements() as statements:
        data = await api.data(query, variables, token=member.token)
    (page,) = data.values()
    return page, len(statements)


# Each view, its page sizes (small, large).
SCREEN_SIZES = [("handoffs", 3, 25), ("myEscalations", 2, 8), ("myParkedSessions", 2, 6)]


@pytest.mark.no_query_cache
async def test_a_page_and_its_counts_cost_the_same_statements_whatever_its_size(api, desk, team):
    """Every view on one desk (made once: the views only read it)."""
    await make_busy_queue(desk, api, team, 25)  # 25 escalations; alex made 8 of them
    alex = team.acme["alex"]
    for n in range(6):
        await park(desk, alex, f"Problem parked {n}")

    for field, small, large in SCREEN_SIZES:
        arguments = {"filter": "HandoffFilter"} if field == "handoffs" else {}
        query = page_query(field, arguments, SCREEN_NODE)
        variables = {"filter": SCREEN_FILTER} if field == "handoffs" else {}
        await statements_of(api, alex, query, {**variables, "first": small})  # warm up

        few, few_statements = await statements_of(api, alex, query, {**variables, "first": small})
        many, many_statements = await statements_of(api, alex, query, {**variables, "first": large})
        after = {**variables, "first": small, "after": few["pageInfo"]["endCursor"]}
        later, later_statements = await statements_of(api, alex, query, after)

        assert len(few["edges"]) == small, field
        assert len(many["edges"]) == large, field
        assert few["totalCount"] == many["totalCount"] == later["totalCount"] >= large, field
        assert later["pageInfo"]["hasPreviousPage"] is True, field
        print(f"\n{field}: {few_statements} statements for {small}, {many_statements} for {large}")
        assert few_statements == many_statements == later_statements, field


async def test_counts_are_the_whole_views_not_the_pages(shared):
    api = shared.api
    sam = shared.team.acme["sam"]

    whole = await view(api, sam, first=100, filter={"intent": "ESCALATE"})
    page = await view(api, sam, first=1, filter={"intent": "ESCALATE"})

    assert whole["totalCount"] == page["totalCount"] == 5
    unread = sum(e["node"]["unread"] for e in whole["edges"])
    assert 0 < unread < 5  # sam made one, claimed one: read; the others are not
    assert page["unreadCount"] == whole["unreadCount"] == unread


async def test_a_withdrawn_escalation_is_in_no_view(api, desk, team):
    """Withdrawn, an escalation is history (readable by id), as out of every view as of the
    queue; its escalator's own view included."""
    from resolvers import lifecycle

    busy = await make_busy_desk(desk, team)
    alex = team.acme["alex"]
    printer = busy.handoffs["printer"]  # alex's, unclaimed
    before = await view(api, alex)
    mine_before = await view(api, alex, MINE)
    assert "printer" in busy.named(before) and "printer" in busy.named(mine_before)

    withdrawn = await lifecycle.withdraw_handoff(desk, alex.viewer, printer.id)
    assert isinstance(withdrawn, Handoff), withdrawn

    for member in (alex, team.acme["sam"]):
        page = await view(api, member)
        assert "printer" not in busy.named(page)
        assert page["totalCount"] == len(page["edges"])
    mine = await view(api, alex, MINE)
    assert busy.named(mine) == [n for n in busy.named(mine_before) if n != "printer"]
    assert mine["totalCount"] == mine_before["totalCount"] - 1
