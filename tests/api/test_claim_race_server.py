"""The headline guarantee, end to end: concurrent claims against a running server (served in the
test's process, over real sockets, with its workers running: what is checked is the claims'
answers and the database, not a process)."""

import asyncio

import httpx
import pytest
from sqlmodel import select

from db.enums import Role
from db.models import Handoff
from tests.factories import make_escalation, make_tenant
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)

pytestmark = pytest.mark.anyio

CLAIM = """
mutation Claim($id: ID!) {
  claimHandoff(input: { handoffId: $id }) {
    __typename
    ... on ClaimHandoffSuccess { handoff { claimedBy { id name } claimedAt } }
    ... on AlreadyClaimed { handoffId claimedBy { id name } claimedAt message }
  }
}
"""


@pytest.fixture
async def server(in_process):
    return await in_process(run_workers=True)  # as `handoff-desk serve` runs by default


async def test_25_concurrent_claims_have_exactly_one_winner(desk, server):
    people = [("Esme Escalator", Role.ENGINEER)]  # who may not claim her own
    people += [(f"Racer{n:02d} Senior", Role.ENGINEER) for n in range(25)]
    tenant = await make_tenant(desk, "Racers", people)
    handoff = await make_escalation(desk, tenant["esme"])
    seniors = [m for key, m in tenant.members.items() if key != "esme"]

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def claim(member):
            response = await client.post(
                "/graphql",
                json={"query": CLAIM, "variables": {"id": str(handoff.id)}},
                headers={"authorization": f"Bearer {member.token}"},
            )
            body = response.json()
            assert "errors" not in body, body
            return member, body["data"]["claimHandoff"]

        answers = await asyncio.gather(*(claim(m) for m in seniors))

    winners = [(m, a) for m, a in answers if a["__typename"] == "ClaimHandoffSuccess"]
    losers = [a for _, a in answers if a["__typename"] == "AlreadyClaimed"]
    assert len(winners) == 1 and len(losers) == 24
    winner, won = winners[0]
    assert won["handoff"]["claimedBy"]["id"] == winner.id
    assert {(a["claimedBy"]["id"], a["claimedBy"]["name"]) for a in losers} == {
        (winner.id, winner.user.name)
    }
    assert {a["claimedAt"] for a in losers} == {won["handoff"]["claimedAt"]}
    assert all(a["handoffId"] == str(handoff.id) for a in losers)

    async with desk.db.read() as db:
        row = (await db.exec(select(Handoff).where(Handoff.id == handoff.id))).one()
    assert str(row.claimed_by_id) == winner.id
