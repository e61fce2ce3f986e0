"""The assessors: its unit-tier tests (the whole story: tests/api/test_assessors.py)."""

import dataclasses
import json

import pytest

from db.enums import Confidence, Rating
from resolvers.assessments import Feedback
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


def _rated(cause: str, *ratings: Rating, reason: str | None = None) -> Feedback:
    return Feedback(
        number=1,
        summary="An earlier summary.",
        likely_cause=cause,
        ratings=tuple((rating, reason) for rating in ratings),
    )


async def test_asked_again_the_rules_set_aside_a_cause_the_seniors_found_not_helpful():
    first = await RuleBasedAssessor().assess(VPN_REQUEST)
    # The VPN conversation says "home" and "working": the network rule does not match; the VPN
    # rule's cause, rated down, leaves nothing but the generic steps.
    rated_down = dataclasses.replace(
        VPN_REQUEST,
        feedback=(
            _rated(first.likely_cause, Rating.NOT_HELPFUL, reason="It is not the VPN: ping fails"),
        ),
    )
    again = await RuleBasedAssessor().assess(rated_down)
    assert again.likely_cause != first.likely_cause
    assert "1 cause(s) the seniors rated not helpful set aside" in again.summary
    # The reason's words ("ping") are feedback, not symptoms: no network rule from them.
    assert "no known pattern matched" in again.summary


async def test_a_cause_rated_more_helpful_than_not_stays():
    first = await RuleBasedAssessor().assess(VPN_REQUEST)
    split = dataclasses.replace(
        VPN_REQUEST,
        feedback=(_rated(first.likely_cause, Rating.HELPFUL, Rating.HELPFUL, Rating.NOT_HELPFUL),),
    )
    assert (await RuleBasedAssessor().assess(split)).likely_cause == first.likely_cause


def test_the_feedback_is_written_after_the_case_for_a_model():
    text = dataclasses.replace(
        VPN_REQUEST,
        feedback=(
            _rated("Router NAT", Rating.NOT_HELPFUL, reason="NAT timeout is 2 hours"),
            dataclasses.replace(_rated("Wi-Fi", Rating.HELPFUL), number=2),
        ),
    ).text()
    assert text.startswith(VPN_REQUEST.text())
    assert text.endswith(
        "Earlier assessments of this escalation, as the seniors rated them:\n"
        "Assessment 1: An earlier summary. Likely cause: Router NAT\n"
        "- rated not helpful: NAT timeout is 2 hours\n"
        "Assessment 2: An earlier summary. Likely cause: Wi-Fi\n"
        "- rated helpful"
    )
