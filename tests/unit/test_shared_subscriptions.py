"""Subscribers who ask the same thing share one resolution per event: its unit-tier tests (the
whole story: tests/api/test_shared_subscriptions.py)."""

import pytest
from graphql import GraphQLNamedType, GraphQLObjectType, get_named_type

from handoff_desk.live.shared_subscriptions import _DONE, _TOO_SLOW, Member
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
    assert await member.take() is _TOO_SLOW
    member.offer(_DONE)
    assert await member.take() is _DONE
