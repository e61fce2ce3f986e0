"""Every mutation takes one `input` (issue 16); the loose arguments of before are deprecated and
still accepted, never together with `input`. handoffClaimed and assessmentReady, named for half of
what they carry, are deprecated aliases of handoffClaimChanged and assessmentSettled."""

import uuid

import pytest
from sqlmodel import col, update

from db.enums import JobKind, JobState
from db.models import Job
from resolvers.assessments import fail_assessment, pending_handoff
from resolvers.desk import transaction
from tests.factories import PASSWORD, make_escalation
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

UNKNOWN = str(uuid.uuid4())
NOT_FOUND = "... on HandoffNotFound { code field }"
CLAIM_NEW = f"""mutation($h: ID!) {{ claimHandoff(input: {{ handoffId: $h }}) {{ __typename
  {NOT_FOUND} }} }}"""
CLAIM_OLD = f"""mutation($h: ID!) {{ claimHandoff(handoffId: $h) {{ __typename {NOT_FOUND} }} }}"""
HOLDER = "query($h: ID!) { handoff(id: $h) { priority claimedBy { name } } }"


async def _holder(api, handoff, token) -> dict:
    return (await api.data(HOLDER, {"h": str(handoff.id)}, token))["handoff"]


async def test_the_deprecated_loose_arguments_still_work(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    handoff = await make_escalation(desk, team.acme["alex"])
    claimed = await api.data(CLAIM_OLD, {"h": str(handoff.id)}, sam.token)
    assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"

    raised = await api.data(
        "mutation($h: ID!) { setHandoffPriority(handoffId: $h, priority: URGENT) { __typename } }",
        {"h": str(handoff.id)},
        dana.token,
    )
    assert raised["setHandoffPriority"]["__typename"] == "SetHandoffPrioritySuccess"
    assert await _holder(api, handoff, sam.token) == {
        "priority": "URGENT",
        "claimedBy": {"name": "Sam Senior"},
    }

    logged_in = await api.data(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }",
        {"e": sam.user.email, "p": PASSWORD},
    )
    assert logged_in["login"]["__typename"] == "LoginSuccess"
    marked = await api.data(
        "mutation { markNotificationsRead(all: true) { unreadCount } }", None, sam.token
    )
    assert marked["markNotificationsRead"] == {"unreadCount": 0}


async def test_a_failure_names_the_argument_as_the_caller_gave_it(api, desk, team):
    sam = team.acme["sam"]
    by_input = await api.data(CLAIM_NEW, {"h": UNKNOWN}, sam.token)
    assert by_input["claimHandoff"]["field"] == ["input", "handoffId"]
    by_argument = await api.data(CLAIM_OLD, {"h": UNKNOWN}, sam.token)
    assert by_argument["claimHandoff"]["field"] == ["handoffId"]

    handoff = await make_escalation(desk, team.acme["alex"])
    await api.data(CLAIM_NEW, {"h": str(handoff.id)}, sam.token)
    transfer = """mutation($h: ID!, $to: ID!) {
      transferHandoff(input: { handoffId: $h, to: $to }) { ... on UserNotFound { code field } } }"""
    nobody = await api.data(transfer, {"h": str(handoff.id), "to": UNKNOWN}, sam.token)
    assert nobody["transferHandoff"] == {"code": "USER_NOT_FOUND", "field": ["input", "to"]}

    malformed = await api.error(CLAIM_NEW, {"h": "not-an-id"}, sam.token)
    assert malformed["extensions"]["code"] == "BAD_USER_INPUT"
    assert "input.handoffId" in malformed["message"]


BOTH = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }, handoffId: $h) { __typename } }"
NEITHER = "mutation { claimHandoff { __typename } }"
SHORT = "mutation($u: ID!) { setUserRole(userId: $u) { __typename } }"  # no role


@pytest.mark.parametrize(
    "document, said",
    [
        (BOTH, "claimHandoff: give input alone; the deprecated arguments (handoffId)"),
        (NEITHER, "claimHandoff needs input: ClaimHandoffInput"),
        (SHORT, "setUserRole: role missing (better: give input: SetUserRoleInput)"),
    ],
    ids=["both", "neither", "short"],
)
async def test_both_forms_neither_or_too_few_arguments_are_bad_input(
    api, desk, team, document, said
):
    handoff = await make_escalation(desk, team.acme["alex"])
    dana, kim = team.acme["dana"], team.acme["kim"]
    variables = {"h": str(handoff.id), "u": str(kim.id)}
    used = {name: value for name, value in variables.items() if f"${name}" in document}
    error = await api.error(document, used or None, dana.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert said in error["message"]
    # Nothing changed.
    assert (await _holder(api, handoff, dana.token))["claimedBy"] is None
    users = (await api.data("{ users { id role } }", None, dana.token))["users"]
    assert {"id": str(kim.id), "role": "ENGINEER"} in users


async def test_mark_notifications_read_with_no_arguments_answers_the_count_as_before(api, team):
    marked = await api.data(
        "mutation { markNotificationsRead { unreadCount } }", None, team.acme["sam"].token
    )
    assert marked["markNotificationsRead"] == {"unreadCount": 0}


CLAIM_CHANGED = "subscription { %s { seq kind actor { name } handoff { id claimedBy { name } } } }"


async def test_handoff_claimed_is_handoff_claim_changed_under_its_old_name(in_process, desk, team):
    server = await in_process()
    handoff = await make_escalation(desk, team.acme["alex"])
    sam = team.acme["sam"]
    async with (
        GraphQLSocket(server.url) as new,
        GraphQLSocket(server.url) as old,
        GraphQLClient(server.url) as http,
    ):
        await new.connect(team.acme["kim"].token)
        await old.connect(team.acme["kim"].token)
        await new.subscribe(CLAIM_CHANGED % "handoffClaimChanged")
        await old.subscribe(CLAIM_CHANGED % "handoffClaimed")
        await server.until_streams(2)
        assert await http.claim(sam.token, str(handoff.id)) == "ClaimHandoffSuccess"
        released = await http.data(
            "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }",
            {"h": str(handoff.id)},
            sam.token,
        )
        assert released["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess"
        heard = [(await new.next_data())["handoffClaimChanged"] for _ in range(2)]
        heard_old = [(await old.next_data())["handoffClaimed"] for _ in range(2)]
    assert [e["kind"] for e in heard] == ["CLAIMED", "RELEASED"]
    assert heard_old == heard


SETTLED = "subscription($h: ID) { %s(handoffId: $h) { seq handoff { id assessment { status } } } }"


async def _fail_assessment(desk, handoff_id) -> None:
    """The escalation's pending assessment fails for good now, as a worker's last attempt
    would leave it (its job done: no worker assesses it again)."""
    async with transaction(desk) as tx:
        handoff = await pending_handoff(tx.session, handoff_id)
        assert handoff is not None and await fail_assessment(tx, handoff)
        await tx.session.exec(
            update(Job)
            .where(col(Job.subject_id) == handoff_id, col(Job.kind) == JobKind.ASSESS)
            .values(state=JobState.DONE)
        )


async def test_assessment_settled_hears_a_failure_and_so_does_assessment_ready(
    in_process, desk, team
):
    server = await in_process()
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url) as new, GraphQLSocket(server.url) as old:
        await new.connect(team.acme["sam"].token)
        await old.connect(team.acme["sam"].token)
        await new.subscribe(SETTLED % "assessmentSettled", {"h": str(handoff.id)})
        await old.subscribe(SETTLED % "assessmentReady", {"h": str(handoff.id)})
        await server.until_streams(2)
        await _fail_assessment(desk, handoff.id)
        settled = (await new.next_data(timeout=15))["assessmentSettled"]
        ready = (await old.next_data(timeout=15))["assessmentReady"]
    assert settled["handoff"] == {"id": str(handoff.id), "assessment": {"status": "FAILED"}}
    assert ready == settled
