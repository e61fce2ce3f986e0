"""Feedback on the AI (issue 15): seniors rate an escalation's assessment (one rating each,
rating again replaces it) and ask for a fresh one (reassessHandoff: a job, the earlier one kept in
history and shown until the new one lands ready), on SQLite and PostgreSQL. What the assessor is
given of the feedback: tests/api/test_assessors.py; the metrics: tests/api/test_metrics.py."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import col, select

from db.enums import HandoffIntent, JobKind, JobState
from db.models import AssessmentVersion, Job
from resolvers import limits
from tests.api.test_tenancy import _everything_of
from tests.api.test_workers import ScriptedAssessor, assess_worker, running
from tests.factories import assessment_of, land_assessment, make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import GraphQLSocket
from workers.assessors import RuleBasedAssessor

pytestmark = pytest.mark.anyio

SHOWN = """number status summary likelyCause assessor requestedBy { name }
  ratings { rating reason ratedBy { name } }"""

HANDOFF = f"""query($id: ID!) {{ handoff(id: $id) {{
  assessment {{ id {SHOWN} myRating {{ rating reason }} }}
  reassessment {{ number status requestedBy {{ name }} }}
  assessments {{ id requestedAt {SHOWN} }}
  history {{ kind actor {{ name }} }} }} }}"""

RATE = """mutation($a: ID!, $r: Rating!, $why: String) {
  rateAssessment(input: { assessmentId: $a, rating: $r, reason: $why }) { __typename
    ... on RateAssessmentSuccess { handoff { id } assessment { id number
      myRating { rating reason } ratings { rating reason ratedBy { name } } } }
    ... on AssessmentNotFound { assessmentId message }
    ... on NotPermitted { message }
    ... on AssessmentUnavailable { status message } } }"""

REASSESS = """mutation($h: ID!) { reassessHandoff(input: { handoffId: $h }) { __typename
  ... on ReassessHandoffSuccess { handoff { assessment { number status }
                                            reassessment { number requestedBy { name } } } }
  ... on HandoffNotFound { handoffId message }
  ... on NotPermitted { message }
  ... on AssessmentUnavailable { status message } } }"""

# The factories' escalations: "Printer offline", the rules point to printing; with a ping that
# works, the network rule matches too (second).
PRINTER_CAUSE = "The print spooler or a printer driver on the print server is failing."
NETWORK_CAUSE = "A local network configuration fault (DNS, DHCP or wireless)."


async def shown(api, member, handoff_id) -> dict:
    return (await api.data(HANDOFF, {"id": str(handoff_id)}, token=member.token))["handoff"]


async def rate(api, member, assessment_id, rating: str, why: str | None = None) -> dict:
    variables = {"a": str(assessment_id), "r": rating, "why": why}
    return (await api.data(RATE, variables, token=member.token))["rateAssessment"]


async def reassess(api, member, handoff_id) -> dict:
    variables = {"h": str(handoff_id)}
    return (await api.data(REASSESS, variables, token=member.token))["reassessHandoff"]


async def assessed_escalation(desk, team, summary: str = "Printer offline"):
    handoff = await make_escalation(desk, team.acme["alex"], summary)
    return handoff, await land_assessment(desk, handoff.id, f"About {summary.lower()}")


async def versions(desk, handoff_id: uuid.UUID) -> list[AssessmentVersion]:
    async with desk.db.read() as db:
        stmt = (
            select(AssessmentVersion)
            .where(AssessmentVersion.handoff_id == handoff_id)
            .order_by(col(AssessmentVersion.number))
        )
        return list((await db.exec(stmt)).all())


async def assess_jobs(desk, handoff_id: uuid.UUID) -> list[Job]:
    async with desk.db.read() as db:
        stmt = select(Job).where(Job.subject_id == handoff_id, Job.kind == JobKind.ASSESS)
        return list((await db.exec(stmt.order_by(col(Job.created_at)))).all())


# --- rating ---


async def test_a_senior_rates_an_assessment_and_rating_again_replaces_theirs(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    handoff, assessment = await assessed_escalation(desk, team)

    first = await rate(api, sam, assessment.id, "NOT_HELPFUL", "  The spooler is fine.  ")
    assert first["__typename"] == "RateAssessmentSuccess", first
    assert first["handoff"]["id"] == str(handoff.id)
    assert first["assessment"]["id"] == str(assessment.id)
    assert first["assessment"]["myRating"] == {
        "rating": "NOT_HELPFUL",
        "reason": "The spooler is fine.",
    }
    # An admin rates too; then Sam thinks again: his rating is replaced, and the reason with it.
    assert (await rate(api, dana, assessment.id, "HELPFUL"))["__typename"] == (
        "RateAssessmentSuccess"
    )
    again = await rate(api, sam, assessment.id, "HELPFUL", "")
    assert again["assessment"]["myRating"] == {"rating": "HELPFUL", "reason": None}

    view = await shown(api, sam, handoff.id)
    assert view["assessment"]["id"] == str(assessment.id)
    assert view["assessment"]["number"] == 1
    assert view["assessment"]["assessor"] == "rules"
    assert view["assessment"]["requestedBy"] is None  # the escalation asked for it
    ratings = view["assessment"]["ratings"]
    assert sorted((r["ratedBy"]["name"], r["rating"], r["reason"]) for r in ratings) == [
        ("Dana Admin", "HELPFUL", None),
        ("Sam Senior", "HELPFUL", None),
    ]
    assert view["assessments"][0]["ratings"] == ratings  # the same assessment, in history
    # Each caller sees their own rating; a colleague who rated nothing sees none.
    kim = await shown(api, team.acme["kim"], handoff.id)
    assert kim["assessment"]["myRating"] is None
    assert kim["assessment"]["ratings"] == ratings


async def test_a_rating_reason_is_bounded(api, desk, team):
    sam = team.acme["sam"]
    _, assessment = await assessed_escalation(desk, team)
    longest = "x" * limits.RATING_REASON_MAX
    assert (await rate(api, sam, assessment.id, "HELPFUL", longest))["__typename"] == (
        "RateAssessmentSuccess"
    )
    variables = {"a": str(assessment.id), "r": "HELPFUL", "why": longest + "x"}
    error = await api.error(RATE, variables, token=sam.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "reason is 501 characters long; the limit is 500" in error["message"]


async def test_a_viewer_may_neither_rate_nor_reassess(api, desk, team):
    vic = team.acme["vic"]
    handoff, assessment = await assessed_escalation(desk, team)
    before = await _everything_of(desk, team.acme.account.id)

    refused = await rate(api, vic, assessment.id, "NOT_HELPFUL", "Wrong")
    assert refused == {
        "__typename": "NotPermitted",
        "message": "Viewers may not rate assessments or ask for new ones.",
    }
    refused = await reassess(api, vic, handoff.id)
    assert refused["__typename"] == "NotPermitted", refused
    assert await _everything_of(desk, team.acme.account.id) == before
    view = await shown(api, vic, handoff.id)  # a viewer reads them all the same
    assert view["assessment"]["ratings"] == [] and view["reassessment"] is None


async def test_another_accounts_assessment_is_not_found_and_stays_as_it_was(api, desk, team):
    gus = team.globex["gus"]  # an engineer: may rate and reassess in his own account
    handoff, assessment = await assessed_escalation(desk, team)
    before = await _everything_of(desk, team.acme.account.id)

    answer = await rate(api, gus, assessment.id, "NOT_HELPFUL", "Acme's is wrong")
    assert answer == {
        "__typename": "AssessmentNotFound",
        "assessmentId": str(assessment.id),
        "message": "No such assessment.",
    }
    answer = await reassess(api, gus, handoff.id)
    assert answer == {
        "__typename": "HandoffNotFound",
        "handoffId": str(handoff.id),
        "message": "No such handoff.",
    }
    assert await _everything_of(desk, team.acme.account.id) == before
    assert (await api.data(HANDOFF, {"id": str(handoff.id)}, token=gus.token)) == {"handoff": None}


async def test_an_assessment_that_has_not_landed_or_failed_cannot_be_rated(api, desk, team):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"])
    pending = await assessment_of(desk, handoff.id)
    answer = await rate(api, sam, pending.id, "HELPFUL")
    assert answer == {
        "__typename": "AssessmentUnavailable",
        "status": "PENDING",
        "message": "This assessment has not landed yet: nothing to rate.",
    }

    async with running(assess_worker(desk, ScriptedAssessor("error"), attempts=1)):
        await wait_for(lambda: _status(desk, handoff.id, 1, "failed"), "the assessment to fail")
    answer = await rate(api, sam, pending.id, "NOT_HELPFUL")
    assert answer["__typename"] == "AssessmentUnavailable", answer
    assert answer["status"] == "FAILED"
    assert (await shown(api, sam, handoff.id))["assessment"]["ratings"] == []
    # Nor an id that names nothing, nor a handoff's id.
    for other in (uuid.uuid4(), handoff.id):
        answer = await rate(api, sam, other, "HELPFUL")
        assert answer["__typename"] == "AssessmentNotFound", answer


async def _status(desk, handoff_id, number: int, status: str) -> bool:
    found = [v for v in await versions(desk, handoff_id) if v.number == number]
    return bool(found) and found[0].status == status


# --- reassessing ---


async def test_a_reassessment_is_a_new_assessment_and_the_old_one_stays_in_history(api, desk, team):
    sam, kim = team.acme["sam"], team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline, ping works")
    worker = assess_worker(desk, RuleBasedAssessor())
    async with running(worker):
        await wait_for(lambda: _status(desk, handoff.id, 1, "ready"), "the first assessment")
    first = (await shown(api, sam, handoff.id))["assessment"]
    assert (first["number"], first["likelyCause"], first["assessor"]) == (1, PRINTER_CAUSE, "rules")
    await rate(api, sam, first["id"], "NOT_HELPFUL", "The print server is fine.")

    asked = await reassess(api, kim, handoff.id)
    assert asked["__typename"] == "ReassessHandoffSuccess", asked
    # The earlier one is still what it shows; the fresh one is on its way, asked by Kim.
    assert asked["handoff"]["assessment"] == {"number": 1, "status": "READY"}
    assert asked["handoff"]["reassessment"] == {"number": 2, "requestedBy": {"name": "Kim Senior"}}
    # Its job and its event, committed together.
    jobs = await assess_jobs(desk, handoff.id)
    assert [job.state for job in jobs] == [JobState.DONE, JobState.PENDING]
    history = (await shown(api, sam, handoff.id))["history"]
    assert history[-1] == {"kind": "REASSESSMENT_REQUESTED", "actor": {"name": "Kim Senior"}}

    # Asked again while it is pending: nothing more is asked (no job, no event).
    again = await reassess(api, sam, handoff.id)
    assert again["__typename"] == "ReassessHandoffSuccess", again
    assert again["handoff"]["reassessment"]["requestedBy"] == {"name": "Kim Senior"}
    assert len(await assess_jobs(desk, handoff.id)) == 2
    assert (await shown(api, sam, handoff.id))["history"] == history

    async with running(assess_worker(desk, RuleBasedAssessor())):
        await wait_for(lambda: _status(desk, handoff.id, 2, "ready"), "the fresh assessment")
    view = await shown(api, sam, handoff.id)
    assert view["reassessment"] is None
    fresh = view["assessment"]
    assert fresh["number"] == 2 and fresh["status"] == "READY"
    # The rules set aside the cause Sam found not helpful: the next one that matches leads.
    assert fresh["likelyCause"] == NETWORK_CAUSE
    assert fresh["requestedBy"] == {"name": "Kim Senior"}
    assert fresh["ratings"] == [] and fresh["id"] != first["id"]
    earlier, latest = view["assessments"]
    kept = ("id", "number", "status", "summary", "likelyCause", "assessor", "requestedBy")
    assert {k: earlier[k] for k in kept} == {k: first[k] for k in kept}
    assert earlier["ratings"] == [
        {
            "rating": "NOT_HELPFUL",
            "reason": "The print server is fine.",
            "ratedBy": {"name": "Sam Senior"},
        }
    ]
    assert latest["id"] == fresh["id"] and latest["requestedAt"] > earlier["requestedAt"]
    assert [e["kind"] for e in view["history"]] == [
        "ESCALATED",
        "ASSESSMENT_READY",
        "REASSESSMENT_REQUESTED",
        "ASSESSMENT_READY",
    ]
    # The earlier one may still be rated (and the fresh one too).
    assert (await rate(api, kim, earlier["id"], "HELPFUL"))["__typename"] == "RateAssessmentSuccess"


async def test_a_failing_assessor_on_reassessment_leaves_the_earlier_assessment_shown(
    api, desk, team
):
    sam = team.acme["sam"]
    handoff, assessment = await assessed_escalation(desk, team)
    await rate(api, sam, assessment.id, "NOT_HELPFUL")
    before = (await shown(api, sam, handoff.id))["assessment"]
    assert (await reassess(api, sam, handoff.id))["__typename"] == "ReassessHandoffSuccess"

    failing = ScriptedAssessor("error", "error")
    async with running(assess_worker(desk, failing, attempts=2)):
        await wait_for(lambda: _status(desk, handoff.id, 2, "failed"), "the reassessment to fail")
    assert len(failing.calls) == 2  # both attempts, then failed for good

    view = await shown(api, sam, handoff.id)
    assert view["assessment"] == before  # still the earlier one, ready, with its rating
    assert view["reassessment"] is None
    assert [(a["number"], a["status"]) for a in view["assessments"]] == [
        (1, "READY"),
        (2, "FAILED"),
    ]
    assert view["assessments"][1]["summary"] is None
    assert view["assessments"][1]["requestedBy"] == {"name": "Sam Senior"}
    assert [e["kind"] for e in view["history"]][-2:] == [
        "REASSESSMENT_REQUESTED",
        "ASSESSMENT_FAILED",
    ]
    # And one may ask again.
    assert (await reassess(api, sam, handoff.id))["handoff"]["reassessment"]["number"] == 3


async def test_two_seniors_asking_at_once_make_one_reassessment(api, desk, team):
    handoff, _ = await assessed_escalation(desk, team)
    answers = await asyncio.gather(
        reassess(api, team.acme["sam"], handoff.id), reassess(api, team.acme["kim"], handoff.id)
    )
    assert {a["__typename"] for a in answers} == {"ReassessHandoffSuccess"}
    assert [(v.number, v.status) for v in await versions(desk, handoff.id)] == [
        (1, "ready"),
        (2, "pending"),
    ]
    history = (await shown(api, team.acme["sam"], handoff.id))["history"]
    assert [e["kind"] for e in history].count("REASSESSMENT_REQUESTED") == 1
    assert len(await assess_jobs(desk, handoff.id)) == 2


async def test_a_park_is_not_reassessed_and_an_escalation_is_at_most_so_often(api, desk, team):
    alex = team.acme["alex"]
    parked = await make_escalation(desk, alex, "Parked", intent=HandoffIntent.PARK)
    answer = await reassess(api, alex, parked.id)
    assert answer == {
        "__typename": "AssessmentUnavailable",
        "status": None,
        "message": "A park is not assessed: escalate the session for one.",
    }
    assert (await shown(api, alex, parked.id))["assessments"] == []

    handoff, _ = await assessed_escalation(desk, team)
    for _ in range(limits.ASSESSMENTS_MAX - 1):
        assert (await reassess(api, alex, handoff.id))["__typename"] == "ReassessHandoffSuccess"
        await land_assessment(desk, handoff.id)
    answer = await reassess(api, alex, handoff.id)
    assert answer == {
        "__typename": "AssessmentUnavailable",
        "status": "READY",
        "message": "This escalation was assessed 20 times: no more.",
    }
    view = await shown(api, alex, handoff.id)
    assert len(view["assessments"]) == limits.ASSESSMENTS_MAX
    assert view["assessment"]["number"] == limits.ASSESSMENTS_MAX


# --- live ---

ASSESSED = """subscription($id: ID) { assessmentSettled(handoffId: $id, after: 0) {
  seq handoff { id assessment { number status likelyCause } reassessment { number } } } }"""
UPDATED = """subscription($id: ID) { handoffUpdated(handoffId: $id, after: 0) {
  seq kind actor { name } handoff { id assessment { number } reassessment { number } } } }"""


async def test_a_reassessment_is_heard_of_when_asked_and_when_it_lands(in_process, desk, team):
    """Clients hear of a fresh assessment as they do of the first: on assessmentSettled, when it
    lands (the server's own worker assesses it); the asking itself on handoffUpdated. (From
    the log's start: the first may land before the subscriptions are open.)"""
    server = await in_process(run_workers=True)
    session = await make_session(desk, team.acme["alex"], "Printer offline, ping works")
    sam, kim = team.acme["sam"], team.acme["kim"]
    async with GraphQLSocket(server.url) as ws, GraphQLClient(server.url) as http:
        handoff_id = await http.escalate(team.acme["alex"].token, session.id)
        await ws.connect(sam.token)
        await ws.subscribe(ASSESSED, {"id": handoff_id})
        await ws.subscribe(UPDATED, {"id": handoff_id})
        await server.until_streams(2)
        first = (await ws.next_data(15))["assessmentSettled"]["handoff"]
        assert first["assessment"] == {"number": 1, "status": "READY", "likelyCause": PRINTER_CAUSE}
        query = "query($h: ID!) { handoff(id: $h) { assessment { id } } }"
        assessment_id = (await http.data(query, {"h": handoff_id}, sam.token))["handoff"]
        rated = await http.data(
            RATE, {"a": assessment_id["assessment"]["id"], "r": "NOT_HELPFUL"}, sam.token
        )
        assert rated["rateAssessment"]["__typename"] == "RateAssessmentSuccess"

        asked = await http.data(REASSESS, {"h": handoff_id}, kim.token)
        assert asked["reassessHandoff"]["__typename"] == "ReassessHandoffSuccess"
        events = [await ws.next_data(15) for _ in range(2)]
        updated = next(e["handoffUpdated"] for e in events if "handoffUpdated" in e)
        landed = next(e["assessmentSettled"] for e in events if "assessmentSettled" in e)
        assert updated["kind"] == "REASSESSMENT_REQUESTED"
        assert updated["actor"] == {"name": "Kim Senior"}
        assert landed["seq"] > updated["seq"]
        assert landed["handoff"]["assessment"] == {
            "number": 2,
            "status": "READY",
            "likelyCause": NETWORK_CAUSE,
        }
        assert landed["handoff"]["reassessment"] is None
