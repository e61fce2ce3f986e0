"""The assessors: the OpenAI-compatible one against a real local chat-completions server (good,
slow, failing and malformed replies), end to end through the app served on real sockets (its
workers included), and the embedded rule-based one."""

import asyncio
import time

import pytest

from db.enums import Confidence
from handoff_desk.settings import Settings
from tests.factories import make_session
from tests.fake_llm import GOOD_ANSWER, FakeChatCompletions
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.assessors import VPN_REQUEST
from tests.waiting import wait_for
from workers.assessors import (
    AssessmentError,
    OpenAICompatibleAssessor,
    RuleBasedAssessor,
    create_assessor,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def chat_completions():
    with FakeChatCompletions() as fake:
        yield fake


@pytest.fixture
def llm(chat_completions):
    """The module's chat-completions server, as new for each test."""
    chat_completions.reset()
    return chat_completions


def openai_assessor(llm: FakeChatCompletions, timeout: float = 5.0, api_key: str = "sk-test"):
    return OpenAICompatibleAssessor(llm.base_url, "test-model", api_key, timeout)


async def test_the_request_carries_model_messages_json_mode_and_the_api_key(llm):
    result = await openai_assessor(llm).assess(VPN_REQUEST)

    assert result.summary == GOOD_ANSWER["summary"]
    assert len(llm.requests) == 1
    sent = llm.requests[0]
    body = sent["body"]
    assert body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    system, user = (m["content"] for m in body["messages"])
    assert "JSON" in system
    assert "VPN drops every ten minutes at home" in user
    assert "Reinstalled the VPN client; no change." in user
    assert "My VPN disconnects about every ten minutes." in user
    assert sent["headers"]["authorization"] == "Bearer sk-test"


async def test_without_an_api_key_no_authorization_header_is_sent(llm):
    await openai_assessor(llm, api_key="").assess(VPN_REQUEST)
    assert "authorization" not in llm.requests[0]["headers"]


async def test_a_good_reply_parses_into_the_result(llm):
    llm.set(
        "ok",
        answer={
            "summary": "  Spooler crashes on the print server.  ",
            "likely_cause": "A faulty driver.",
            "suggested_steps": ["Restart the spooler", "  ", "Roll back the driver"],
            "confidence": "HIGH",
        },
    )
    result = await openai_assessor(llm).assess(VPN_REQUEST)
    assert result.summary == "Spooler crashes on the print server."
    assert result.likely_cause == "A faulty driver."
    assert result.suggested_steps == ["Restart the spooler", "Roll back the driver"]
    assert result.confidence == Confidence.HIGH


async def test_a_reply_slower_than_the_timeout_is_an_assessment_error(llm):
    llm.set("slow", delay=3)
    began = time.monotonic()
    with pytest.raises(AssessmentError, match="assessor endpoint failed"):
        await openai_assessor(llm, timeout=0.3).assess(VPN_REQUEST)
    assert time.monotonic() - began < 2.5  # gave up at the timeout, not when the reply came


async def test_create_assessor_applies_the_configured_timeout_to_a_hanging_endpoint(llm):
    llm.set("hang")
    settings = Settings(
        assessor="openai",
        openai_base_url=llm.base_url,
        openai_model="test-model",
        assessment_timeout_seconds=0.3,
    )
    assessor = create_assessor(settings)
    began = time.monotonic()
    with pytest.raises(AssessmentError):
        await assessor.assess(VPN_REQUEST)
    assert time.monotonic() - began < 2.5
    assert llm.requests[0]["body"]["model"] == "test-model"
    assert isinstance(
        create_assessor(settings.model_copy(update=dict(assessor="rules"))), RuleBasedAssessor
    )


async def test_an_http_503_is_an_assessment_error(llm):
    llm.set("error")
    with pytest.raises(AssessmentError, match="503"):
        await openai_assessor(llm).assess(VPN_REQUEST)


async def test_a_reply_that_is_not_json_is_an_assessment_error(llm):
    llm.set("not_json")
    with pytest.raises(AssessmentError, match="not a chat-completions reply"):
        await openai_assessor(llm).assess(VPN_REQUEST)


def _without(key: str) -> dict:
    return {k: v for k, v in GOOD_ANSWER.items() if k != key}


@pytest.mark.parametrize(
    ("mode", "answer"),
    [
        pytest.param("malformed", None, id="content-is-prose"),
        pytest.param("ok", _without("summary"), id="missing-summary"),
        pytest.param("ok", _without("likely_cause"), id="missing-likely-cause"),
        pytest.param("ok", _without("suggested_steps"), id="missing-steps"),
        pytest.param("ok", _without("confidence"), id="missing-confidence"),
        pytest.param("ok", {**GOOD_ANSWER, "confidence": "certain"}, id="confidence-certain"),
        pytest.param("ok", {**GOOD_ANSWER, "suggested_steps": []}, id="no-steps"),
        pytest.param("ok", {**GOOD_ANSWER, "suggested_steps": ["", "  "]}, id="blank-steps"),
        pytest.param("ok", {**GOOD_ANSWER, "suggested_steps": "Reboot"}, id="steps-a-string"),
        pytest.param("ok", {**GOOD_ANSWER, "summary": "   "}, id="blank-summary"),
    ],
)
async def test_malformed_content_is_an_assessment_error(llm, mode, answer):
    llm.set(mode, answer=answer)
    with pytest.raises(AssessmentError, match="malformed assessment"):
        await openai_assessor(llm).assess(VPN_REQUEST)


HANDOFF = """
query One($id: ID!) {
  handoff(id: $id) {
    history { kind }
    assessment { status summary likelyCause suggestedSteps confidence }
    session { status }
  }
}
"""


UNCLAIMED = """
query { handoffQueue(status: UNCLAIMED) { nodes { id } } }
"""


async def wait_assessed(http: GraphQLClient, token: str, handoff_id: str) -> dict:
    deadline = time.monotonic() + 15
    while True:
        data = await http.data(HANDOFF, {"id": handoff_id}, token)
        if data["handoff"]["assessment"]["status"] != "PENDING":
            return data["handoff"]
        if time.monotonic() > deadline:
            pytest.fail("the assessment did not land within 15 s")
        await asyncio.sleep(0.05)


def openai_settings(llm: FakeChatCompletions, **extra) -> dict:
    """Settings of a server whose workers assess with the model (jobs retry after 0.1 s)."""
    return {
        "run_workers": True,
        "assessor": "openai",
        "openai_base_url": llm.base_url,
        "openai_model": "test-model",
        "retry_base_seconds": 0.1,
        **extra,
    }


async def test_a_served_escalation_gets_the_models_assessment(llm, in_process, desk, team):
    server = await in_process(**openai_settings(llm))
    session = await make_session(desk, team.acme["alex"], "VPN drops at home")
    async with GraphQLClient(server.url) as http:
        handoff_id = await http.escalate(team.acme["alex"].token, session.id, "HIGH")
        shown = await wait_assessed(http, team.acme["sam"].token, handoff_id)

    assessment = shown["assessment"]
    assert assessment["status"] == "READY"
    assert assessment["summary"] == GOOD_ANSWER["summary"]
    assert assessment["likelyCause"] == GOOD_ANSWER["likely_cause"]
    assert assessment["suggestedSteps"] == GOOD_ANSWER["suggested_steps"]
    assert assessment["confidence"] == "MEDIUM"
    assert [e["kind"] for e in shown["history"]] == ["ESCALATED", "ASSESSMENT_READY"]
    assert len(llm.requests) == 1
    body = llm.requests[0]["body"]
    assert body["model"] == "test-model"
    user = body["messages"][1]["content"]
    assert "VPN drops at home" in user and "stuck" in user


async def test_a_served_escalation_whose_model_answers_garbage_fails_but_stays_queued(
    llm, in_process, desk, team
):
    llm.set("malformed")
    server = await in_process(**openai_settings(llm, assessment_attempts=2))
    # The retry is due 0.1 s after the first failure; an idle worker looks for due jobs every
    # poll_seconds (2 s as create_worker makes it): looking every 50 ms, it finds it sooner.
    server.app.state.worker.poll_seconds = 0.05
    session = await make_session(desk, team.acme["alex"], "Outlook keeps prompting")
    async with GraphQLClient(server.url) as http:
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        shown = await wait_assessed(http, team.acme["sam"].token, handoff_id)
        assert shown["assessment"]["status"] == "FAILED"
        assert shown["assessment"]["summary"] is None
        assert shown["assessment"]["suggestedSteps"] == []
        assert [e["kind"] for e in shown["history"]] == ["ESCALATED", "ASSESSMENT_FAILED"]
        assert shown["session"]["status"] == "ESCALATED"
        assert len(llm.requests) == 2  # HANDOFF_ASSESSMENT_ATTEMPTS tries, no more

        queue = await http.data(UNCLAIMED, None, team.acme["kim"].token)
        assert handoff_id in [node["id"] for node in queue["handoffQueue"]["nodes"]]
        assert await http.claim(team.acme["kim"].token, handoff_id) == "ClaimHandoffSuccess"


ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  engineerNotes: "Reinstalled the VPN client twice; the router was rebooted."}) {
  ... on CreateHandoffSuccess { handoff { id } } } }"""
SHOWN = "query($h: ID!) { handoff(id: $h) { assessment { id number status } } }"
RATE = """mutation($a: ID!, $why: String) {
  rateAssessment(input: { assessmentId: $a, rating: NOT_HELPFUL, reason: $why }) { __typename } }"""
REASSESS = "mutation($h: ID!) { reassessHandoff(input: { handoffId: $h }) { __typename } }"


NOTE = """mutation($h: ID!, $b: String!) { addHandoffNote(input: {handoffId: $h, body: $b}) {
  __typename } }"""


async def test_a_reassessment_gives_the_model_the_notes_and_the_seniors_feedback(
    llm, in_process, desk, team
):
    server = await in_process(**openai_settings(llm))
    session = await make_session(desk, team.acme["alex"], "VPN drops at home")
    sam, kim = team.acme["sam"].token, team.acme["kim"].token
    async with GraphQLClient(server.url) as http:
        created = await http.data(ESCALATE, {"s": str(session.id)}, team.acme["alex"].token)
        handoff_id = created["createHandoff"]["handoff"]["id"]

        async def landed(number: int):
            shown = (await http.data(SHOWN, {"h": handoff_id}, sam))["handoff"]["assessment"]
            return shown if (shown["number"], shown["status"]) == (number, "READY") else None

        first = await wait_for(lambda: landed(1), "the first assessment")
        why = "The router's NAT timeout is 2 hours; it is not the keepalive."
        rated = await http.data(RATE, {"a": first["id"], "why": why}, sam)
        assert rated["rateAssessment"]["__typename"] == "RateAssessmentSuccess"
        await http.data(RATE, {"a": first["id"], "why": None}, kim)
        noted = await http.data(NOTE, {"h": handoff_id, "b": "Wired at home: no drops."}, kim)
        assert noted["addHandoffNote"]["__typename"] == "AddHandoffNoteSuccess"
        llm.set("ok", answer={**GOOD_ANSWER, "likely_cause": "The ISP drops idle UDP flows."})
        asked = await http.data(REASSESS, {"h": handoff_id}, kim)
        assert asked["reassessHandoff"]["__typename"] == "ReassessHandoffSuccess"
        await wait_for(lambda: landed(2), "the fresh assessment")

    first_asked, fresh_asked = (r["body"]["messages"][1]["content"] for r in llm.requests)
    notes = "Engineer notes: Reinstalled the VPN client twice; the router was rebooted."
    assert notes in first_asked and notes in fresh_asked
    assert "rated" not in first_asked  # a first assessment has no feedback to give
    assert "The team's notes:" not in first_asked  # nor notes: none were written yet
    assert "The team's notes:\n- Wired at home: no drops." in fresh_asked
    assert "Earlier assessments of this escalation, as the seniors rated them:" in fresh_asked
    assert f"Assessment 1: {GOOD_ANSWER['summary']}" in fresh_asked
    assert f"Likely cause: {GOOD_ANSWER['likely_cause']}" in fresh_asked
    assert f"- rated not helpful: {why}" in fresh_asked
    assert "- rated not helpful\n" in fresh_asked + "\n"  # Kim's, without a reason
    system = llm.requests[1]["body"]["messages"][0]["content"]
    assert "rated not helpful" in system
