"""Claims as a session's list shows them: found missing by mutation testing (scripts/mutants),
each test here is behaviour a mutant of resolvers/claims.py changed while every test passed."""

import pytest

from tests.factories import make_escalation

pytestmark = pytest.mark.anyio

CLAIM = """
mutation($h: ID!) {
  claimHandoff(input: { handoffId: $h }) {
    __typename
    ... on ClaimHandoffSuccess { handoff { claimedAt session { updatedAt } } }
  }
}
"""
RELEASE = """
mutation($h: ID!) {
  releaseHandoff(input: { handoffId: $h }) {
    __typename
    ... on ReleaseHandoffSuccess { handoff { session { updatedAt } } }
  }
}
"""


async def test_a_claim_and_a_release_each_move_the_sessions_last_change(api, desk, team):
    """The session list sorts and shows by last change: claiming is one, giving back another."""
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    kim = team.acme["kim"]

    claimed = (await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token))["claimHandoff"]
    assert claimed["__typename"] == "ClaimHandoffSuccess"
    assert claimed["handoff"]["session"]["updatedAt"] == claimed["handoff"]["claimedAt"]

    released = (await api.data(RELEASE, {"h": str(handoff.id)}, token=kim.token))["releaseHandoff"]
    assert released["__typename"] == "ReleaseHandoffSuccess"
    assert released["handoff"]["session"]["updatedAt"] > claimed["handoff"]["claimedAt"]
