"""Every query and mutation of the schema, for each role: what its tests share (the whole story:
tests/api/test_roles.py)."""

ROLES = ["admin", "engineer", "viewer"]


ALL = frozenset(ROLES)


# WORK_SESSIONS, HAND_OFF, CLAIM, JUDGE_ASSESSMENTS, NOTE
WORKERS = frozenset({"admin", "engineer"})


ADMINS = frozenset({"admin"})  # ADMINISTER


# operation: (kind, the roles allowed to run it). Everyone else gets NotPermitted.
TABLE = {
    "me": ("query", ALL),
    "account": ("query", ALL),
    "users": ("query", ALL),
    "usersConnection": ("query", ALL),
    "node": ("query", ALL),
    "nodes": ("query", ALL),
    "session": ("query", ALL),
    "mySessions": ("query", ALL),
    "mySessionsConnection": ("query", ALL),
    "handoff": ("query", ALL),
    "handoffQueue": ("query", ALL),
    "handoffs": ("query", ALL),
    "myEscalations": ("query", ALL),
    "myParkedSessions": ("query", ALL),
    "login": ("mutation", ALL),
    "startSession": ("mutation", WORKERS),
    "addSessionMessage": ("mutation", WORKERS),
    "resolveSession": ("mutation", WORKERS),
    "createHandoff": ("mutation", WORKERS),
    "claimHandoff": ("mutation", WORKERS),
    "releaseHandoff": ("mutation", WORKERS),
    "markHandoffSeen": ("mutation", ALL),
    "resumeParkedHandoff": ("mutation", WORKERS),
    "addUser": ("mutation", ADMINS),
    "setUserRole": ("mutation", ADMINS),
    "deactivateUser": ("mutation", ADMINS),
    "withdrawHandoff": ("mutation", WORKERS),
    "setHandoffPriority": ("mutation", WORKERS),
    "transferHandoff": ("mutation", WORKERS),
    "setSelfClaimAllowed": ("mutation", ADMINS),
    "timerSettings": ("query", ALL),
    "setTimerSettings": ("mutation", ADMINS),
    "addHandoffNote": ("mutation", WORKERS),
    "setNotesVisibleToViewers": ("mutation", ADMINS),
    "rateAssessment": ("mutation", WORKERS),
    "reassessHandoff": ("mutation", WORKERS),
    "myNotificationPreferences": ("query", ALL),
    "notificationDefaults": ("query", ALL),
    "notifications": ("query", ALL),
    "setMyNotificationPreferences": ("mutation", ALL),
    "setNotificationDefaults": ("mutation", ADMINS),
    "markNotificationsRead": ("mutation", ALL),
}
