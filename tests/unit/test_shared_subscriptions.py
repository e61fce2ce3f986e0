"""Subscribers who ask the same thing share one resolution per event: its unit-tier tests (the
whole story: tests/api/test_shared_subscriptions.py)."""

import pytest
from graphql import GraphQLNamedType, GraphQLObjectType, get_named_type

from handoff_desk.live.queues import FellBehind
from handoff_desk.live.shared_subscriptions import _DONE, Member
from schema.sharing import declared
from tests.inprocess import (
    in_process_fixture,  # noqa: F401  (the in_process fixture)
)
from tests.support.shared_subscriptions import SCHEMA

pytestmark = pytest.mark.anyio


def test_every_field_a_subscription_can_reach_declares_whether_it_depends_on_the_viewer():
    """A new field must be decided: shared (same for every caller of the account and role) or
    per viewer. Undeclared, it would quietly make documents per user (or, worse, be guessed)."""
    undeclared, seen = [], set()
    pending: list[GraphQLNamedType] = [SCHEMA.subscription_type]
    while pending:
        parent = pending.pop()
        if parent.name in seen or not isinstance(parent, GraphQLObjectType):
            continue
        seen.add(parent.name)
        for name, field in parent.fields.items():
            if declared(field) not in ("independent", "dependent"):
                undeclared.append(f"{parent.name}.{name}")
            pending.append(get_named_type(field.type))
    assert not undeclared, f"declare these with schema.sharing: {sorted(undeclared)}"


async def test_a_member_that_falls_behind_is_told_to_go_without_growing():
    member = Member(limit=3, viewer=None)
    for frame in range(10):
        member.offer(str(frame))
    assert len(member) == 0  # what it had not sent is dropped, nothing more is kept
    for _ in range(2):  # and it stays told
        with pytest.raises(FellBehind):
            await member.take()


async def test_the_end_of_a_group_reaches_a_member_that_is_full():
    member = Member(limit=3, viewer=None)
    for frame in range(3):
        member.offer(str(frame))
    member.offer(_DONE, always=True)
    assert [await member.take() for _ in range(4)] == ["0", "1", "2", _DONE]
