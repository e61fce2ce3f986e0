"""Queue cursors keep their wire format: base64 of the JSON sort key. Clients hold cursors across
a deploy, so a cursor made the way earlier releases made it must still page."""

import base64
import json

import pytest
from sqlmodel import select

from db.models import Handoff
from tests.test_queue import make_mixed_queue, queue, summaries

pytestmark = pytest.mark.anyio


def _cursor_as_before(handoff: Handoff) -> str:
    """What releases before the written-out encoding handed out."""
    key = [
        1 if handoff.claimed_by_id is None else 0,
        handoff.priority_rank,
        handoff.created_at.isoformat(),
        str(handoff.id),
    ]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


async def test_cursors_are_the_json_sort_key_and_ones_made_before_still_page(api, desk, team):
    expected = await make_mixed_queue(desk, api, team)
    alex = team.acme["alex"]
    async with desk.db.read() as db:
        handoffs = {str(h.id): h for h in (await db.exec(select(Handoff))).all()}

    page = await queue(api, alex, first=8)

    before = [_cursor_as_before(handoffs[e["node"]["id"]]) for e in page["edges"]]
    assert [e["cursor"] for e in page["edges"]] == before
    for position in (0, 4, 6):  # unclaimed, the last unclaimed, claimed
        rest = await queue(api, alex, first=8, after=before[position])
        assert summaries(rest) == expected[position + 1 :]
