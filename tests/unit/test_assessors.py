"""The assessors: its unit-tier tests (the whole story: tests/api/test_assessors.py)."""

import dataclasses
import json

import pytest

from db.enums import Confidence
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.assessors import VPN_REQUEST
from workers.assessors import (
    RuleBasedAssessor,
)

pytestmark = pytest.mark.anyio


async def test_the_rule_based_assessor_is_deterministic_low_and_says_so():
    first = await RuleBasedAssessor().assess(VPN_REQUEST)
    again = await RuleBasedAssessor().assess(dataclasses.replace(VPN_REQUEST))
    assert first == again
    assert json.dumps(dataclasses.asdict(first)) == json.dumps(dataclasses.asdict(again))
    assert first.confidence == Confidence.LOW
    assert first.summary.startswith("Rule-based")
    assert "no AI model" in first.summary


async def test_a_vpn_conversation_gets_vpn_steps():
    result = await RuleBasedAssessor().assess(VPN_REQUEST)
    assert "VPN" in result.likely_cause
    assert "Lower the VPN client's MTU and test again" in result.suggested_steps
    assert not any("print" in step.lower() for step in result.suggested_steps)


async def test_a_printer_conversation_gets_printer_steps_not_vpn_steps():
    printer = dataclasses.replace(
        VPN_REQUEST,
        problem_summary="Office printer shows offline",
        intake="Printing fails for the whole floor.",
        conversation=[("customer", "Nothing prints since this morning.")],
        engineer_notes="Spooler service restarted once.",
    )
    result = await RuleBasedAssessor().assess(printer)
    assert "spooler" in result.likely_cause.lower()
    assert not any("VPN" in step for step in result.suggested_steps)
    assert result.confidence == Confidence.LOW


async def test_a_conversation_matching_no_rule_gets_generic_low_confidence_steps():
    vague = dataclasses.replace(
        VPN_REQUEST,
        problem_summary="Something is odd",
        intake="The customer is unhappy.",
        conversation=[("customer", "It just does not work right.")],
        engineer_notes="",
    )
    result = await RuleBasedAssessor().assess(vague)
    assert result.summary.startswith("Rule-based")
    assert "no known pattern matched" in result.summary
    assert result.confidence == Confidence.LOW
    assert len(result.suggested_steps) >= 2
