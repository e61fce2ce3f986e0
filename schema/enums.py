"""The desk's enums as GraphQL sees them (values in upper case, stored in lower case)."""

from enum import StrEnum

import strawberry

from db import enums
from resolvers.queue import QueueFilter

Role = strawberry.enum(enums.Role, name="Role")
SessionStatus = strawberry.enum(enums.SessionStatus, name="SessionStatus")
IntakeType = strawberry.enum(enums.IntakeType, name="IntakeType")
MessageRole = strawberry.enum(enums.MessageRole, name="MessageRole")
Confidence = strawberry.enum(enums.Confidence, name="Confidence")
HandoffIntent = strawberry.enum(enums.HandoffIntent, name="HandoffIntent")
Priority = strawberry.enum(enums.Priority, name="Priority")
AssessmentStatus = strawberry.enum(enums.AssessmentStatus, name="AssessmentStatus")
# A handoff's history: every kind the event log records but ACCESS_CHANGED, which concerns a user.
HandoffEventKind = strawberry.enum(
    StrEnum(  # type: ignore[misc]
        "HandoffEventKind",
        {k.name: k.value for k in enums.EventKind if k is not enums.EventKind.ACCESS_CHANGED},
    ),
    name="HandoffEventKind",
)
QueueStatus = strawberry.enum(
    QueueFilter, name="QueueStatus", description="Which escalations of the queue to list."
)
