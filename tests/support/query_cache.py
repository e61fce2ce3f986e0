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
    "addUser",
    "setUserRole",
    "deactivateUser",
    "setTimerSettings",
]
