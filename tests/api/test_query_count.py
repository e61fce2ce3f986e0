"""A queue page costs the same few SQL statements however many handoffs it holds (no N+1)."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from db.enums import Priority
from tests.factories import make_escalation

pytestmark = [pytest.mark.anyio, pytest.mark.no_query_cache]

QUEUE_SCREEN = """
query Screen($first: Int!) {
  handoffQueue(first: $first) {
    totalCount unreadCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id priority createdAt unread
        session { problemSummary status }
        createdBy { name }
        claimedBy { name }
        assessment { status summary suggestedSteps }
        history { kind actor { name } }
      }
    }
  }
}
"""

CLAIM = """
mutation Claim($id: ID!) { claimHandoff(input: { handoffId: $id }) { __typename } }
"""

SEEN = """
mutation Seen($id: ID!) { markHandoffSeen(input: { handoffId: $id }) { __typename } }
"""


@contextmanager
def counting_statements():
    """Every statement any engine sends while the block runs (the app builds its own engine)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def screen(api, member, first: int) -> tuple[dict, list[str]]:
    with counting_statements() as statements:
        data = await api.data(QUEUE_SCREEN, {"first": first}, token=member.token)
    return data["handoffQueue"], list(statements)


async def make_busy_queue(desk, api, team, size: int) -> None:
    """`size` escalations by three engineers at every priority; some claimed, some opened."""
    acme = team.acme
    escalators = [acme["sam"], acme["kim"], acme["alex"]]
    priorities = list(Priority)
    handoffs = [
        await make_escalation(
            desk, escalators[n % 3], f"Problem {n}", priority=priorities[n % len(priorities)]
        )
        for n in range(size)
    ]
    for n, handoff in enumerate(handoffs):
        if n % 4 == 1:
            claimer = acme["dana"] if n % 8 == 1 else acme["sam"]
            if claimer.user.id == handoff.created_by_id:
                claimer = acme["dana"]
            answer = await api.data(CLAIM, {"id": str(handoff.id)}, token=claimer.token)
            assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
        elif n % 4 == 2:
            await api.data(SEEN, {"id": str(handoff.id)}, token=acme["dana"].token)


async def test_a_queue_page_of_3_costs_as_many_statements_as_a_page_of_25(api, desk, team):
    await make_busy_queue(desk, api, team, 25)
    dana = team.acme["dana"]
    await screen(api, dana, 25)  # warm up: connections, dialect initialisation

    small, small_statements = await screen(api, dana, 3)
    large, large_statements = await screen(api, dana, 25)

    assert len(small["edges"]) == 3
    assert len(large["edges"]) == 25
    # The page really carries what the screen shows, claims and history included.
    nodes = [e["node"] for e in large["edges"]]
    assert {n["createdBy"]["name"] for n in nodes} == {"Sam Senior", "Kim Senior", "Alex Junior"}
    assert {n["claimedBy"]["name"] for n in nodes if n["claimedBy"]} == {
        "Dana Admin",
        "Sam Senior",
    }
    assert any(n["unread"] for n in nodes)
    assert not all(n["unread"] for n in nodes)
    assert {e["kind"] for n in nodes for e in n["history"]} == {"ESCALATED", "CLAIMED"}
    assert all(n["session"]["problemSummary"].startswith("Problem ") for n in nodes)

    print(
        f"\nhandoffQueue statements: {len(small_statements)} for 3 handoffs, "
        f"{len(large_statements)} for 25"
    )
    assert len(small_statements) == len(large_statements), (
        small_statements,
        large_statements,
    )
    # And a handful, not one per handoff.
    assert len(large_statements) < 25


async def test_the_statement_counter_sees_every_request(api, desk, team):
    """The counter itself works: it sees a request's statements, and twice as many for two."""
    await make_escalation(desk, team.acme["sam"])
    kim = team.acme["kim"]
    await screen(api, kim, 1)

    _, one = await screen(api, kim, 1)
    with counting_statements() as two:
        await api.data(QUEUE_SCREEN, {"first": 1}, token=kim.token)
        await api.data(QUEUE_SCREEN, {"first": 1}, token=kim.token)

    assert len(one) > 0
    assert any("handoff" in s.lower() for s in one)
    assert len(two) == 2 * len(one)
