"""Tenant walls: what its tests share (the whole story: tests/api/test_tenancy.py)."""

_NOBODY = "00000000-0000-4000-8000-000000000000"  # a user id of no account


# How each field is exercised by a Globex admin against Acme. "ids" cases run twice, with an Acme
# id and with a random one, and must answer alike; "own" cases must show nothing of Acme.
CASES = {
    "Query.me": ("own", "{ me { id name email } }", {}),
    "Query.account": ("own", "{ account { id name } }", {}),
    "Query.users": ("own", "{ users { id email } }", {}),
    "Query.mySessions": ("own", "{ mySessions { id problemSummary } }", {}),
    "Query.handoffQueue": ("own", "{ handoffQueue { totalCount edges { node { id } } } }", {}),
    "Query.handoffs": (
        "own",
        '{ handoffs(first: 100, filter: {search: "acme"}) '
        "{ totalCount unreadCount edges { node { id session { problemSummary } } } } }",
        {},
    ),
    "Query.myEscalations": (
        "own",
        "{ myEscalations { totalCount edges { node { id session { problemSummary } } } } }",
        {},
    ),
    "Query.myParkedSessions": (
        "own",
        "{ myParkedSessions { totalCount edges { node { id session { problemSummary } } } } }",
        {},
    ),
    "Query.usersConnection": ("own", "{ usersConnection(first: 100) { nodes { id email } } }", {}),
    "Query.mySessionsConnection": (
        "own",
        "{ mySessionsConnection(first: 100) { nodes { id problemSummary } } }",
        {},
    ),
    # Node ids of every kind: tests/api/test_nodes.py; here a handoff's, and a user's.
    "Query.node": ("ids", "query($id: ID!) { node(id: $id) { id } }", {"id": "handoff"}),
    "Query.nodes": ("ids", "query($id: ID!) { nodes(ids: [$id, $id]) { id } }", {"id": "user"}),
    "Query.session": ("ids", "query($id: ID!) { session(id: $id) { id } }", {"id": "session"}),
    "Query.handoff": ("ids", "query($id: ID!) { handoff(id: $id) { id } }", {"id": "handoff"}),
    "Query.timerSettings": (
        "own",
        "{ timerSettings { nudgeAfterMinutes releaseIdleClaims "
        "priorities { priority overdueAfterMinutes } } }",
        {},
    ),
    "Mutation.login": (
        "own",
        'mutation { login(input: { email: "gail.admin@globex.test", password: '
        '"correct-horse-42" }) '
        "{ ... on LoginSuccess { user { id email } } } }",
        {},
    ),
    "Mutation.startSession": (
        "own",
        'mutation { startSession(input: {intakeType: CHAT, intakeContent: "c", '
        'problemSummary: "Globex issue"}) { ... on StartSessionSuccess { session { id } } } }',
        {},
    ),
    "Mutation.addUser": (
        "own",
        'mutation { addUser(input: {name: "N", email: "n@globex.test", role: ENGINEER, '
        'password: "long-enough-1"}) { ... on AddUserSuccess { user { id email } } } }',
        {},
    ),
    "Mutation.addSessionMessage": (
        "ids",
        "mutation($id: ID!) { addSessionMessage(input: "
        '{sessionId: $id, role: CUSTOMER, content: "x"}) '
        "{ __typename ... on SessionNotFound { sessionId message } } }",
        {"id": "session"},
    ),
    "Mutation.resolveSession": (
        "ids",
        "mutation($id: ID!) { resolveSession(input: { sessionId: $id }) { __typename } }",
        {"id": "session"},
    ),
    "Mutation.createHandoff": (
        "ids",
        "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: ESCALATE}) "
        "{ __typename } }",
        {"id": "session"},
    ),
    "Mutation.claimHandoff": (
        "ids",
        "mutation($id: ID!) { claimHandoff(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.releaseHandoff": (
        "ids",
        "mutation($id: ID!) { releaseHandoff(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.markHandoffSeen": (
        "ids",
        "mutation($id: ID!) { markHandoffSeen(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.resumeParkedHandoff": (
        "ids",
        "mutation($id: ID!) { resumeParkedHandoff(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.setTimerSettings": (
        "own",
        "mutation { setTimerSettings(input: {nudgeAfterMinutes: 45, releaseIdleClaims: false}) "
        "{ ... on SetTimerSettingsSuccess { timerSettings { nudgeAfterMinutes } } } }",
        {},
    ),
    "Mutation.setUserRole": (
        "ids",
        "mutation($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER }) { __typename } }",
        {"id": "user"},
    ),
    "Mutation.deactivateUser": (
        "ids",
        "mutation($id: ID!) { deactivateUser(input: { userId: $id }) { __typename } }",
        {"id": "user"},
    ),
    "Mutation.withdrawHandoff": (
        "ids",
        "mutation($id: ID!) { withdrawHandoff(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.setHandoffPriority": (
        "ids",
        "mutation($id: ID!) { setHandoffPriority(input: { handoffId: $id, priority: URGENT }) "
        "{ __typename } }",
        {"id": "handoff"},
    ),
    # The colleague's side of the wall (another account's user answers as an unknown one) is
    # tests/api/test_lifecycle.py's: it needs a claim of the caller's own account to hand on.
    "Mutation.transferHandoff": (
        "ids",
        f'mutation($id: ID!) {{ transferHandoff(input: {{ handoffId: $id, to: "{_NOBODY}" }}) '
        "{ __typename } }",
        {"id": "handoff"},
    ),
    "Mutation.rateAssessment": (
        "ids",
        "mutation($id: ID!) { rateAssessment(input: { assessmentId: $id, rating: HELPFUL }) { "
        "__typename } }",
        {"id": "assessment"},
    ),
    "Mutation.reassessHandoff": (
        "ids",
        "mutation($id: ID!) { reassessHandoff(input: { handoffId: $id }) { __typename } }",
        {"id": "handoff"},
    ),
    "Query.myNotificationPreferences": (
        "own",
        "{ myNotificationPreferences { newEscalations myEscalations inAppOnly "
        "effective { newEscalations } accountDefaults { newEscalations inAppOnly } } }",
        {},
    ),
    "Query.notificationDefaults": (
        "own",
        "{ notificationDefaults { newEscalations myEscalations inAppOnly } }",
        {},
    ),
    "Query.notifications": (
        "own",
        "{ notifications(first: 100) { unreadCount edges { node { id kind handoffId summary "
        "actor { id email } } } } }",
        {},
    ),
    "Mutation.setMyNotificationPreferences": (
        "own",
        "mutation { setMyNotificationPreferences(input: {newEscalations: NONE}) "
        "{ preferences { effective { newEscalations } accountDefaults { newEscalations } } } }",
        {},
    ),
    "Mutation.setNotificationDefaults": (
        "own",
        "mutation { setNotificationDefaults(input: {inAppOnly: true}) "
        "{ ... on SetNotificationDefaultsSuccess { defaults { inAppOnly } } } }",
        {},
    ),
    "Mutation.markNotificationsRead": (
        "own",
        "mutation { markNotificationsRead(input: { all: true }) { unreadCount } }",
        {},
    ),
    "Mutation.setSelfClaimAllowed": (
        "own",
        "mutation { setSelfClaimAllowed(input: { allowed: true }) "
        "{ ... on SetSelfClaimAllowedSuccess { account { id name allowSelfClaim } } } }",
        {},
    ),
    "Mutation.addHandoffNote": (
        "ids",
        'mutation($id: ID!) { addHandoffNote(input: {handoffId: $id, body: "x"}) { __typename } }',
        {"id": "handoff"},
    ),
    "Mutation.setNotesVisibleToViewers": (
        "own",
        "mutation { setNotesVisibleToViewers(input: { visible: false }) { "
        "... on SetNotesVisibleToViewersSuccess { account { id name notesVisibleToViewers } } } }",
        {},
    ),
}


TABLES = {
    "account": "id = :a",
    "app_user": "account_id = :a",
    "troubleshooting_session": "account_id = :a",
    "session_message": (
        "session_id IN (SELECT id FROM troubleshooting_session WHERE account_id = :a)"
    ),
    "handoff": "account_id = :a",
    "handoff_seen": "handoff_id IN (SELECT id FROM handoff WHERE account_id = :a)",
    "handoff_note": "account_id = :a",
    "account_event": "account_id = :a",
    "job": "account_id = :a",
    "email_message": "account_id = :a",
    "timer_settings": "account_id = :a",
    "handoff_timer": "account_id = :a",
    "assessment_version": "account_id = :a",
    "assessment_rating": "account_id = :a",
    "notification_defaults": "account_id = :a",
    "notification_preference": "account_id = :a",
    "notification": "account_id = :a",
    # Failed logins are counted by keyed digests of the email and the address, not by account:
    # no row says which account it concerns, so none is the account's.
    "login_attempt": "1 = 0",
}


# What each "ids" case must answer: None for a query (the field is null), else the NotFound member
# and the argument it echoes back.
NOT_FOUND = {
    "Query.session": ("query($id: ID!) { session(id: $id) { id problemSummary } }", None),
    "Query.handoff": ("query($id: ID!) { handoff(id: $id) { id engineerNotes } }", None),
    "Query.node": (
        "query($id: ID!) { node(id: $id) { id ... on Handoff { engineerNotes } } }",
        None,
    ),
    "Query.nodes": ("query($id: ID!) { nodes(ids: [$id]) { id ... on User { email } } }", None),
    "Mutation.addSessionMessage": (
        "mutation($id: ID!) { addSessionMessage(input: "
        '{sessionId: $id, role: CUSTOMER, content: "x"})'
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.resolveSession": (
        "mutation($id: ID!) { resolveSession(input: { sessionId: $id })"
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.createHandoff": (
        "mutation($id: ID!) { createHandoff(input: {sessionId: $id, intent: ESCALATE})"
        " { __typename ... on SessionNotFound { sessionId message } } }",
        ("SessionNotFound", "sessionId"),
    ),
    "Mutation.claimHandoff": (
        "mutation($id: ID!) { claimHandoff(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.releaseHandoff": (
        "mutation($id: ID!) { releaseHandoff(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.markHandoffSeen": (
        "mutation($id: ID!) { markHandoffSeen(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.resumeParkedHandoff": (
        "mutation($id: ID!) { resumeParkedHandoff(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.setUserRole": (
        "mutation($id: ID!) { setUserRole(input: { userId: $id, role: VIEWER })"
        " { __typename ... on UserNotFound { userId message } } }",
        ("UserNotFound", "userId"),
    ),
    "Mutation.deactivateUser": (
        "mutation($id: ID!) { deactivateUser(input: { userId: $id })"
        " { __typename ... on UserNotFound { userId message } } }",
        ("UserNotFound", "userId"),
    ),
    "Mutation.withdrawHandoff": (
        "mutation($id: ID!) { withdrawHandoff(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.setHandoffPriority": (
        "mutation($id: ID!) { setHandoffPriority(input: { handoffId: $id, priority: URGENT })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.transferHandoff": (
        f'mutation($id: ID!) {{ transferHandoff(input: {{ handoffId: $id, to: "{_NOBODY}" }})'
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.addHandoffNote": (
        'mutation($id: ID!) { addHandoffNote(input: {handoffId: $id, body: "x"})'
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
    "Mutation.rateAssessment": (
        "mutation($id: ID!) { rateAssessment(input: { assessmentId: $id, rating: NOT_HELPFUL })"
        " { __typename ... on AssessmentNotFound { assessmentId message } } }",
        ("AssessmentNotFound", "assessmentId"),
    ),
    "Mutation.reassessHandoff": (
        "mutation($id: ID!) { reassessHandoff(input: { handoffId: $id })"
        " { __typename ... on HandoffNotFound { handoffId message } } }",
        ("HandoffNotFound", "handoffId"),
    ),
}
