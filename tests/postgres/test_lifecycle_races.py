"""An escalation's lifecycle races on PostgreSQL, through the API with real concurrent
connections: a withdrawal and a claim, a transfer and a release, two transfers. Exactly one of
each pair wins; the other gets the typed answer naming what happened.

To make them truly concurrent, a transaction of the test's own holds the handoff's row lock while
the two requests start: each runs until it must wait for that row (seen waiting in
pg_stat_activity), the first in line before the second. Released, the first wins in the
database; the second waits for its commit, finds the row changed, and answers with what it
found. The same races run sequentially, in both orders and on both databases, in
tests/api/test_lifecycle.py."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text

from resolvers.desk import Desk
from tests.api.test_lifecycle import (
    CLAIM,
    RELEASE,
    TRANSFER,
    WITHDRAW,
    kinds_of,
    stored,
)
from tests.factories import make_escalation
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(postgres_emptier) -> str:
    """PostgreSQL only (the suite's fixture gives each test both databases)."""
    postgres_emptier.empty()
    return postgres_emptier.url


@contextlib.asynccontextmanager
async def row_held(desk: Desk, handoff_id: uuid.UUID) -> AsyncIterator[None]:
    """The handoff's row locked by a transaction of the test's own, until the block ends."""
    async with desk.db.engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(
            text("SELECT id FROM handoff WHERE id = :h FOR UPDATE"), {"h": handoff_id}
        )
        try:
            yield
        finally:
            await transaction.rollback()


async def waiting_for_locks(desk: Desk) -> int:
    async with desk.db.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        ).scalar_one()


async def in_line(
    desk: Desk,
    handoff_id: uuid.UUID,
    first: Callable[[], Awaitable],
    second: Callable[[], Awaitable],
) -> tuple[dict, dict]:
    """Both requests at once, `first` first in line for the handoff's row: their answers."""
    async with row_held(desk, handoff_id):
        one = asyncio.ensure_future(first())
        await wait_for(lambda: _waiting(desk, 1), "the first request to wait for the row")
        two = asyncio.ensure_future(second())
        await wait_for(lambda: _waiting(desk, 2), "the second request to wait behind it")
    return await one, await two


async def _waiting(desk: Desk, count: int) -> bool:
    return await waiting_for_locks(desk) == count


async def answer(api, document: str, variables: dict, member, name: str) -> dict:
    body = await api.post(document, variables, member.token)
    assert not body.get("errors"), body
    return body["data"][name]


@pytest.mark.parametrize("first", ["withdraw", "claim"])
async def test_a_withdrawal_and_a_claim_at_once_one_wins(api, desk, team, first):
    sam, kim = team.acme["sam"], team.acme["kim"]
    escalation = await make_escalation(desk, sam)
    h = {"h": str(escalation.id)}

    def withdraw():
        return answer(api, WITHDRAW, h, sam, "withdrawHandoff")

    def claim():
        return answer(api, CLAIM, h, kim, "claimHandoff")

    if first == "withdraw":
        withdrawn, claimed = await in_line(desk, escalation.id, withdraw, claim)
    else:
        claimed, withdrawn = await in_line(desk, escalation.id, claim, withdraw)

    row, session = await stored(desk, escalation.id)
    if first == "withdraw":
        assert withdrawn["__typename"] == "WithdrawHandoffSuccess"
        assert claimed["__typename"] == "HandoffWithdrawn"
        assert claimed["withdrawnBy"] == {"id": sam.id, "name": "Sam Senior"}
        assert claimed["withdrawnAt"] == withdrawn["handoff"]["withdrawnAt"]
        assert (row.withdrawn_by_id, row.claimed_by_id) == (sam.user.id, None)
        assert (session.status, session.assignee_id) == ("active", sam.user.id)
        assert await kinds_of(desk, escalation.id) == ["escalated", "withdrawn"]
    else:
        assert claimed["__typename"] == "ClaimHandoffSuccess"
        assert withdrawn["__typename"] == "AlreadyClaimed"
        assert withdrawn["claimedBy"] == {"id": kim.id, "name": "Kim Senior"}
        assert withdrawn["claimedAt"] == claimed["handoff"]["claimedAt"]
        assert (row.withdrawn_at, row.claimed_by_id) == (None, kim.user.id)
        assert (session.status, session.assignee_id) == ("active", kim.user.id)
        assert await kinds_of(desk, escalation.id) == ["escalated", "claimed"]


@pytest.mark.parametrize("first", ["transfer", "release"])
async def test_a_transfer_and_a_release_at_once_one_wins(api, desk, team, first):
    """Dana (an admin) hands Kim's claim to Alex while Kim gives it back to the queue."""
    kim, dana, alex = team.acme["kim"], team.acme["dana"], team.acme["alex"]
    escalation = await make_escalation(desk, team.acme["sam"])
    assert (await answer(api, CLAIM, {"h": str(escalation.id)}, kim, "claimHandoff"))[
        "__typename"
    ] == "ClaimHandoffSuccess"

    def transfer():
        variables = {"h": str(escalation.id), "to": alex.id}
        return answer(api, TRANSFER, variables, dana, "transferHandoff")

    def release():
        return answer(api, RELEASE, {"h": str(escalation.id)}, kim, "releaseHandoff")

    if first == "transfer":
        moved, released = await in_line(desk, escalation.id, transfer, release)
    else:
        released, moved = await in_line(desk, escalation.id, release, transfer)

    row, session = await stored(desk, escalation.id)
    if first == "transfer":
        assert moved["__typename"] == "TransferHandoffSuccess"
        assert released["__typename"] == "NotPermitted"
        assert "Alex Junior holds it now" in released["message"]
        assert (row.claimed_by_id, session.assignee_id) == (alex.user.id, alex.user.id)
        assert await kinds_of(desk, escalation.id) == ["escalated", "claimed", "transferred"]
    else:
        assert released["__typename"] == "ReleaseHandoffSuccess"
        assert moved["__typename"] == "NotClaimedByYou"
        assert row.claimed_by_id is None
        assert session.status == "escalated"
        assert await kinds_of(desk, escalation.id) == ["escalated", "claimed", "released"]


async def test_two_transfers_at_once_one_wins_and_the_other_is_told_who_holds_it(api, desk, team):
    kim, dana, alex, sam = (team.acme[k] for k in ("kim", "dana", "alex", "sam"))
    escalation = await make_escalation(desk, sam)
    h = str(escalation.id)
    assert (await answer(api, CLAIM, {"h": h}, kim, "claimHandoff"))[
        "__typename"
    ] == "ClaimHandoffSuccess"

    def kims():
        return answer(api, TRANSFER, {"h": h, "to": alex.id}, kim, "transferHandoff")

    def danas():
        return answer(api, TRANSFER, {"h": h, "to": dana.id}, dana, "transferHandoff")

    won, lost = await in_line(desk, escalation.id, kims, danas)

    assert won["__typename"] == "TransferHandoffSuccess"
    assert lost["__typename"] == "AlreadyClaimed"
    assert lost["claimedBy"] == {"id": alex.id, "name": "Alex Junior"}
    assert lost["claimedAt"] == won["handoff"]["claimedAt"]
    row, session = await stored(desk, escalation.id)
    assert (row.claimed_by_id, session.assignee_id) == (alex.user.id, alex.user.id)
    assert await kinds_of(desk, escalation.id) == ["escalated", "claimed", "transferred"]


async def test_withdrawals_and_claims_let_loose_always_have_one_winner(api, desk, team):
    """No lock held: each round the escalator withdraws while two seniors claim, all at once."""
    sam, kim, alex = team.acme["sam"], team.acme["kim"], team.acme["alex"]
    for round_ in range(8):
        escalation = await make_escalation(desk, sam, f"Round {round_}")
        h = {"h": str(escalation.id)}
        withdrawn, *claims = await asyncio.gather(
            answer(api, WITHDRAW, h, sam, "withdrawHandoff"),
            answer(api, CLAIM, h, kim, "claimHandoff"),
            answer(api, CLAIM, h, alex, "claimHandoff"),
        )
        names = [withdrawn["__typename"], *(c["__typename"] for c in claims)]
        winners = [n for n in names if n.endswith("Success")]
        assert len(winners) == 1, (round_, names)
        if winners == ["WithdrawHandoffSuccess"]:
            assert {c["__typename"] for c in claims} == {"HandoffWithdrawn"}
            expected = ["escalated", "withdrawn"]
        else:
            assert withdrawn["__typename"] == "AlreadyClaimed"
            assert sorted(c["__typename"] for c in claims) == [
                "AlreadyClaimed",
                "ClaimHandoffSuccess",
            ]
            expected = ["escalated", "claimed"]
        assert await kinds_of(desk, escalation.id) == expected
