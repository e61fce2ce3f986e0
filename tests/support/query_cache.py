"""A cached answer is never served after a change that affects it.

For every mutation of the schema: prime the cache with a query that shows the mutation's effect,
run the mutation, ask again. The cached app must answer exactly what an uncached app over the
same database answers, and the answer must have changed.
"""

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
]
