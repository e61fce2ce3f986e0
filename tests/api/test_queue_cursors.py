"""Queue cursors keep their wire format: base64 of the JSON sort key. Clients hold cursors across
a deploy, so a cursor made the way earlier releases made it must still page."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from db.models import Handoff
from tests.api.test_queue import QUEUE, make_mixed_queue, queue, summaries

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


# --- Crafted cursors: the client's mistake, said as one -----------------------------------------

_ID = "00000000-0000-0000-0000-000000000001"
_WHEN = "2026-01-01T00:00:00+00:00"


def _crafted(key) -> str:
    text = key if isinstance(key, str) else json.dumps(key)
    return base64.urlsafe_b64encode(text.encode()).decode()


CRAFTED = {
    "rank beyond 64 bits": _crafted([1, 10**30, _WHEN, _ID]),
    "rank beyond 32 bits": _crafted([1, 2**31, _WHEN, _ID]),
    "rank below 32 bits": _crafted([1, -(2**31) - 1, _WHEN, _ID]),
    "rank Infinity": _crafted(f'[1, Infinity, "{_WHEN}", "{_ID}"]'),
    "rank a fraction": _crafted([1, 1.5, _WHEN, _ID]),
    "unclaimed 10**30": _crafted([10**30, 1, _WHEN, _ID]),
    "unclaimed true": _crafted([True, 1, _WHEN, _ID]),
    "after year 9999 in UTC": _crafted([1, 1, "9999-12-31T23:59:59-14:00", _ID]),
    "before year 1 in UTC": _crafted([1, 1, "0001-01-01T00:00:00+14:00", _ID]),
    "no zone": _crafted([1, 1, "2026-01-01T00:00:00", _ID]),
    "nested deep": _crafted("[" * 50_000 + "]" * 50_000),
    "too long": _crafted([1, 1, _WHEN, _ID, "x" * 300]),
    "three parts": _crafted([1, 1, _WHEN]),
    "not base64": "////",
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
async def test_a_crafted_cursor_is_bad_input(api, team, name):
    error = await api.error(QUEUE, {"after": CRAFTED[name]}, token=team.acme["alex"].token)

    assert error["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert error["message"] == "after is not a cursor from this queue"


_parts = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2**31 - 1, -(2**31), 2**31, True, False, None, 1.0, 1e308]),
    st.floats(),
    st.text(max_size=40),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "+14:00"),
    st.datetimes().map(lambda d: d.isoformat() + "-14:00"),
    st.uuids().map(str),
)
_keys = st.one_of(
    st.lists(_parts, min_size=4, max_size=4),
    st.lists(_parts, max_size=6),
    st.tuples(
        st.sampled_from([0, 1]),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.uuids().map(str),
    ).map(list),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(key=_keys)
async def test_any_cursor_gets_a_page_or_bad_input(api, team, key):
    """Whatever a cursor holds (JSON's floats, Infinity, huge integers, any zone's timestamps),
    the queue answers with a page or BAD_USER_INPUT, never an internal error."""
    cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()

    body = await api.post(QUEUE, {"after": cursor}, token=team.acme["alex"].token)

    if body.get("errors"):
        assert [e["extensions"] for e in body["errors"]] == [{"code": "BAD_USER_INPUT"}], body
    else:
        assert body["data"]["handoffQueue"]["edges"] == []  # the account has no escalations
