"""The desk's enums as GraphQL sees them (values in upper case, stored in lower case)."""

from enum import StrEnum

import strawberry

from db import enums
from resolvers.queue import QueueFilter
from resolvers.views import ClaimFilter as _ClaimFilter
from resolvers.views import HandoffStatus as _HandoffStatus

# strawberry.enum makes the class it is given a GraphQL enum, and returns it: these names are
# the db's classes themselves (so that annotations may use them).
Role = enums.Role
SessionStatus = enums.SessionStatus
IntakeType = enums.IntakeType
MessageRole = enums.MessageRole
Confidence = enums.Confidence
HandoffIntent = enums.HandoffIntent
Priority = enums.Priority
AssessmentStatus = enums.AssessmentStatus
strawberry.enum(Role, name="Role")
strawberry.enum(SessionStatus, name="SessionStatus")
strawberry.enum(IntakeType, name="IntakeType")
strawberry.enum(MessageRole, name="MessageRole")
strawberry.enum(Confidence, name="Confidence")
strawberry.enum(HandoffIntent, name="HandoffIntent")
strawberry.enum(Priority, name="Priority")
strawberry.enum(AssessmentStatus, name="AssessmentStatus")
# A handoff's history: every kind the event log records but ACCESS_CHANGED, which concerns a user.
# (mypy cannot type an enum made by the functional API from a computed dict.)
HandoffEventKind = strawberry.enum(  # type: ignore[call-overload]
    StrEnum(
        "HandoffEventKind",
        {k.name: k.value for k in enums.EventKind if k is not enums.EventKind.ACCESS_CHANGED},
    ),
    name="HandoffEventKind",
)
QueueStatus = QueueFilter
strawberry.enum(
    QueueStatus, name="QueueStatus", description="Which escalations of the queue to list."
)
# The views' filters (resolvers/views.py).
ClaimFilter = _ClaimFilter
HandoffStatus = _HandoffStatus
strawberry.enum(
    ClaimFilter,
    name="ClaimFilter",
    description="Handoffs by who holds them: ANY, UNCLAIMED, MINE (claimed by the caller) or "
    "OTHERS (claimed by someone else).",
)
strawberry.enum(
    HandoffStatus,
    name="HandoffStatus",
    description="A handoff's status is its session's: OPEN until the session is RESOLVED.",
)
