"""A cached answer is never served after a change that affects it: what its tests share (the whole
story: tests/api/test_query_cache.py)."""

SCENARIOS = [
    "login",
    "startSession",
    "addSessionMessage",
    "resolveSession",
    "createHandoff",
    "claimHandoff",
    "releaseHandoff",
    "markHandoffSeen",
    "resumeParkedHandoff",
    "addUser",
    "setUserRole",
    "deactivateUser",
    "withdrawHandoff",
    "setHandoffPriority",
    "transferHandoff",
    "setSelfClaimAllowed",
    "setTimerSettings",
    "addHandoffNote",
    "setNotesVisibleToViewers",
    "rateAssessment",
    "reassessHandoff",
    "setMyNotificationPreferences",
    "setNotificationDefaults",
    "markNotificationsRead",
]
