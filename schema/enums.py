"""The desk's enums as GraphQL sees them (values in upper case, stored in lower case)."""

from enum import StrEnum

import strawberry

from db import enums
from resolvers import queue, sla
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
# A handoff's history: every kind the event log records but ACCESS_CHANGED, which concerns a user,
# and MESSAGE_ADDED, which concerns a session (sessionMessages delivers the messages).
_NOT_A_HANDOFFS = {enums.EventKind.ACCESS_CHANGED, enums.EventKind.MESSAGE_ADDED}
# (mypy cannot type an enum made by the functional API from a computed dict.)
HandoffEventKind = strawberry.enum(  # type: ignore[call-overload]
    StrEnum(
        "HandoffEventKind",
        {k.name: k.value for k in enums.EventKind if k not in _NOT_A_HANDOFFS},
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

# Timers (issue 14).
SlaState = sla.SlaState
strawberry.enum(
    SlaState,
    name="SlaState",
    description="Where an escalation stands against its due time. WAITING: unclaimed, not due "
    "yet; OVERDUE: unclaimed past its due time (the team was told again); ADMINS_ALERTED: still "
    "unclaimed a second period later (the admins were told); MET: claimed by its due time; "
    "MISSED: claimed after it.",
)
QueueOrder = queue.QueueOrder
strawberry.enum(
    QueueOrder,
    name="QueueOrder",
    description="QUEUE: unclaimed first, then by priority, newest first. DUE: unclaimed first, "
    "then the soonest due first (the longest overdue first).",
)
# Feedback on the AI (issue 15).
Rating = enums.Rating
strawberry.enum(
    Rating,
    name="Rating",
    description="A senior's verdict on an assessment: HELPFUL or NOT_HELPFUL.",
)
HandoffEventReason = enums.EventReason
strawberry.enum(
    HandoffEventReason,
    name="HandoffEventReason",
    description="Why the desk did it. IDLE: released because its claimer did nothing on it, "
    "even after a nudge.",
)


class ViewerChange(StrEnum):
    JOINED = "joined"
    LEFT = "left"


strawberry.enum(
    ViewerChange,
    name="ViewerChange",
    description="JOINED: someone opened the escalation; LEFT: they closed it (or their client "
    "vanished and its presence expired).",
)
