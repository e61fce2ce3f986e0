"""A cached answer is never served after a change that affects it.

For every mutation of the schema: prime the cache with a query that shows the mutation's effect,
run the mutation, ask again. The cached app must answer exactly what an uncached app over the
same database answers, and the answer must have changed.
"""

import pytest

from db.enums import HandoffIntent
from resolvers.assessments import AssessmentResult, pending_handoff, store_assessment
from resolvers.desk import transaction
from tests.factories import land_assessment, make_escalation, make_session
from tests.support.query_cache import SCENARIOS

pytestmark = pytest.mark.anyio


QUEUE = (
    "{ handoffQueue(first: 50) { unreadCount edges { node { id unread claimedBy { name } } } } }"
)


USERS = "{ users { email role active } }"


def session_query(session_id) -> str:
    return f'{{ session(id: "{session_id}") {{ status messages {{ content }} }} }}'


async def _scenario(name, desk, api, team):
    """(who watches, the query they watch, the mutation, its variables, who runs it)."""
    acme = team.acme
    if name == "login":
        return (
            acme["sam"],
            USERS,
            'mutation { login(input: { email: "x@y.z", password: "nope" }) { __typename } }',
            None,
        )
    if name == "startSession":
        return (
            acme["alex"],
            "{ mySessions { problemSummary } }",
            """mutation { startSession(input: {intakeType: CHAT, intakeContent: "c",
                 problemSummary: "Brand new"}) { __typename } }""",
            acme["alex"],
        )
    if name == "addSessionMessage":
        session = await make_session(desk, acme["alex"])
        return (
            acme["sam"],
            session_query(session.id),
            f"""mutation {{ addSessionMessage(input: {{sessionId: "{session.id}", role: CUSTOMER,
                 content: "new turn"}}) {{ __typename }} }}""",
            acme["alex"],
        )
    if name == "resolveSession":
        session = await make_session(desk, acme["alex"])
        return (
            acme["sam"],
            session_query(session.id),
            f'mutation {{ resolveSession(input: {{ sessionId: "{session.id}" }}) {{ '
            f"__typename }} }}",
            acme["alex"],
        )
    if name == "createHandoff":
        session = await make_session(desk, acme["alex"])
        return (
            acme["sam"],
            QUEUE,
            f"""mutation {{ createHandoff(input: {{sessionId: "{session.id}", intent: ESCALATE}})
                 {{ __typename }} }}""",
            acme["alex"],
        )
    if name in ("claimHandoff", "releaseHandoff", "markHandoffSeen"):
        handoff = await make_escalation(desk, acme["alex"])
        if name == "releaseHandoff":
            claim = (
                f'mutation {{ claimHandoff(input: {{ handoffId: "{handoff.id}" }}) {{ '
                f"__typename }} }}"
            )
            await api.data(claim, token=acme["sam"].token)
        runner = acme["kim"] if name == "markHandoffSeen" else acme["sam"]
        watcher = runner if name == "markHandoffSeen" else acme["kim"]  # own marks count too
        return (
            watcher,
            QUEUE,
            f'mutation {{ {name}(handoffId: "{handoff.id}") {{ __typename }} }}',
            runner,
        )
    if name == "resumeParkedHandoff":
        park = await make_escalation(desk, acme["alex"], intent=HandoffIntent.PARK)
        return (
            acme["alex"],
            "{ myParkedSessions { totalCount nodes { id session { status } } } }",
            f'mutation {{ resumeParkedHandoff(input: {{ handoffId: "{park.id}" }}) {{ '
            f"__typename }} }}",
            acme["alex"],
        )
    if name == "addUser":
        return (
            acme["sam"],
            USERS,
            """mutation { addUser(input: {name: "New Person", email: "new@acme.test",
                 role: ENGINEER, password: "long-enough-1"}) { __typename } }""",
            acme["dana"],
        )
    if name == "setUserRole":
        return (
            acme["sam"],
            USERS,
            f'mutation {{ setUserRole(input: {{ userId: "{acme["kim"].id}", role: VIEWER }}) '
            "{ __typename } }",
            acme["dana"],
        )
    if name == "deactivateUser":
        return (
            acme["sam"],
            USERS,
            f'mutation {{ deactivateUser(input: {{ userId: "{acme["kim"].id}" }}) {{ '
            f"__typename }} }}",
            acme["dana"],
        )
    if name in ("withdrawHandoff", "setHandoffPriority"):
        handoff = await make_escalation(desk, acme["alex"])
        argument = ", priority: URGENT" if name == "setHandoffPriority" else ""
        return (
            acme["kim"],
            "{ handoffQueue(first: 50) { totalCount edges { node { id priority } } } }",
            f'mutation {{ {name}(handoffId: "{handoff.id}"{argument}) {{ __typename }} }}',
            acme["alex"],
        )
    if name == "transferHandoff":
        handoff = await make_escalation(desk, acme["alex"])
        claim = (
            f'mutation {{ claimHandoff(input: {{ handoffId: "{handoff.id}" }}) {{ __typename }} }}'
        )
        await api.data(claim, token=acme["sam"].token)
        return (
            acme["dana"],
            QUEUE,
            f'mutation {{ transferHandoff(input: {{ handoffId: "{handoff.id}", to: '
            f'"{acme["kim"].id}" }}) '
            "{ __typename } }",
            acme["sam"],
        )
    if name == "setSelfClaimAllowed":
        return (
            acme["sam"],
            "{ account { allowSelfClaim } }",
            "mutation { setSelfClaimAllowed(input: { allowed: true }) { __typename } }",
            acme["dana"],
        )
    if name == "setTimerSettings":
        return (
            acme["sam"],
            "{ timerSettings { nudgeAfterMinutes } }",
            "mutation { setTimerSettings(input: {nudgeAfterMinutes: 45}) { __typename } }",
            acme["dana"],
        )
    if name == "addHandoffNote":
        handoff = await make_escalation(desk, acme["alex"])
        return (
            acme["vic"],  # a viewer reads notes (the account's default)
            f'{{ handoff(id: "{handoff.id}") {{ notes {{ body }} history {{ kind }} }} }}',
            f"""mutation {{ addHandoffNote(input: {{handoffId: "{handoff.id}",
                 body: "Rebooted the switch"}}) {{ __typename }} }}""",
            acme["sam"],
        )
    if name == "setNotesVisibleToViewers":
        handoff = await make_escalation(desk, acme["alex"])
        note = f"""mutation {{ addHandoffNote(input: {{handoffId: "{handoff.id}",
                 body: "Rebooted the switch"}}) {{ __typename }} }}"""
        await api.data(note, token=acme["sam"].token)
        return (
            acme["vic"],  # the viewer's notes go as the admin keeps them from viewers
            f'{{ handoff(id: "{handoff.id}") {{ notes {{ body }} history {{ kind }} }} }}',
            "mutation { setNotesVisibleToViewers(input: { visible: false }) { __typename } }",
            acme["dana"],
        )
    if name in ("rateAssessment", "reassessHandoff"):
        handoff = await make_escalation(desk, acme["alex"])
        assessment = await land_assessment(desk, handoff.id)
        mutation = (
            f'mutation {{ rateAssessment(input: {{ assessmentId: "{assessment.id}", rating: '
            f"NOT_HELPFUL, "
            'reason: "Wrong printer" }) { __typename } }'
            if name == "rateAssessment"
            else f'mutation {{ reassessHandoff(input: {{ handoffId: "{handoff.id}" }}) {{ '
            f"__typename }} }}"
        )
        watched = f"""{{ handoff(id: "{handoff.id}") {{ reassessment {{ number }}
            assessment {{ ratings {{ rating reason ratedBy {{ name }} }} }} }} }}"""
        return acme["kim"], watched, mutation, acme["sam"]
    if name == "setMyNotificationPreferences":
        return (
            acme["kim"],
            "{ myNotificationPreferences { newEscalations effective { newEscalations } } }",
            "mutation { setMyNotificationPreferences(input: {newEscalations: NONE}) "
            "{ __typename } }",
            acme["kim"],
        )
    if name == "setNotificationDefaults":
        return (
            acme["sam"],
            "{ myNotificationPreferences { effective { inAppOnly } } }",
            "mutation { setNotificationDefaults(input: {inAppOnly: true}) { __typename } }",
            acme["dana"],
        )
    if name == "markNotificationsRead":
        await make_escalation(desk, acme["alex"])
        return (
            acme["kim"],
            "{ notifications { unreadCount nodes { id read } } }",
            "mutation { markNotificationsRead(input: { all: true }) { __typename } }",
            acme["kim"],
        )
    raise KeyError(name)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_no_cached_answer_outlives_a_change(name, api, fresh, desk, team):
    watcher, query, mutation, runner = await _scenario(name, desk, api, team)
    before = await api.data(query, token=watcher.token)
    assert await api.data(query, token=watcher.token) == before  # cached now
    await api.data(mutation, token=runner.token if runner else None)
    after = await api.data(query, token=watcher.token)
    assert after == await fresh.data(query, token=watcher.token)
    if name == "login":
        assert after == before  # a failed login changes nothing
    else:
        assert after != before, "the mutation should have changed what the query shows"


async def test_an_assessment_landing_after_commit_is_not_hidden_by_the_cache(
    api, fresh, desk, team
):
    handoff = await make_escalation(desk, team.acme["alex"])
    query = f'{{ handoff(id: "{handoff.id}") {{ assessment {{ status summary }} }} }}'
    sam = team.acme["sam"]
    before = await api.data(query, token=sam.token)
    assert before["handoff"]["assessment"]["status"] == "PENDING"
    async with transaction(desk) as tx:  # what the worker does when the assessor answers
        pending = await pending_handoff(tx.session, handoff.id)
        await store_assessment(
            tx,
            pending,
            AssessmentResult("Looks like DNS", "DNS", ["Flush DNS"], "medium"),
            assessor="rules",
        )
    after = await api.data(query, token=sam.token)
    assert after["handoff"]["assessment"] == {"status": "READY", "summary": "Looks like DNS"}
    assert after == await fresh.data(query, token=sam.token)


async def test_answers_are_never_shared_between_callers(api, desk, team):
    await make_escalation(desk, team.acme["alex"])
    alex = await api.data(QUEUE, token=team.acme["alex"].token)
    sam = await api.data(QUEUE, token=team.acme["sam"].token)
    # The escalator has seen their own escalation; a teammate has not.
    assert alex["handoffQueue"]["unreadCount"] == 0
    assert sam["handoffQueue"]["unreadCount"] == 1
    globex = await api.data(QUEUE, token=team.globex["gus"].token)
    assert globex["handoffQueue"]["edges"] == []


async def test_a_repeated_query_is_answered_from_the_cache(api, desk, team):
    await make_escalation(desk, team.acme["alex"])
    cache = api.client._transport.app.state.query_cache
    hits = cache.hits
    first = await api.data(QUEUE, token=team.acme["sam"].token)
    second = await api.data(QUEUE, token=team.acme["sam"].token)
    assert first == second
    assert cache.hits == hits + 1
