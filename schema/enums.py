"""The desk's enums as GraphQL sees them (values in upper case, stored in lower case)."""

from enum import StrEnum

import strawberry

from db import enums
from resolvers import queue, sla
from resolvers.queue import QueueFilter
from resolvers.views import ClaimFilter as _ClaimFilter
from resolvers.views import HandoffStatus as _HandoffStatus
from vendor_internals.strawberry import describe_enum_values

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
strawberry.enum(
    Role,
    name="Role",
    description="What a user of the account may do; read from the desk at each operation.",
)
strawberry.enum(
    SessionStatus,
    name="SessionStatus",
    description="Where a troubleshooting session stands.",
)
strawberry.enum(IntakeType, name="IntakeType", description="How the problem reached the desk.")
strawberry.enum(
    MessageRole, name="MessageRole", description="Who spoke a turn of the conversation."
)
strawberry.enum(
    Confidence,
    name="Confidence",
    description="How sure the assistant (in a session) or the assessor (of an escalation) is.",
)
strawberry.enum(
    HandoffIntent,
    name="HandoffIntent",
    description="What a handoff does with its session: park it (private) or escalate it "
    "(to the team's queue).",
)
strawberry.enum(
    Priority,
    name="Priority",
    description="How soon an escalation should be worked: the queue lists the higher first, "
    "and each has its own timers (TimerSettings).",
)
strawberry.enum(
    AssessmentStatus,
    name="AssessmentStatus",
    description="Where an AI assessment stands.",
)
describe_enum_values(
    Role,
    {
        "ADMIN": "Everything an engineer does, and manages the account: its users, its "
        "settings, and escalations that are not theirs.",
        "ENGINEER": "Works sessions, hands them off, claims escalations, adds notes, rates "
        "and asks for assessments.",
        "VIEWER": "Reads the desk (and marks what it read); changes nothing.",
    },
)
describe_enum_values(
    SessionStatus,
    {
        "ACTIVE": "Being worked by its assignee: its owner, or the claimer of its escalation.",
        "PAUSED": "Parked: private to its engineer until they resume it (or add a message).",
        "ESCALATED": "Waiting in the team's queue; a claim makes it ACTIVE, the claimer's to work.",
        "RESOLVED": "Closed for good.",
    },
)
describe_enum_values(
    IntakeType,
    {
        "CHAT": "A chat with the customer.",
        "EMAIL": "An email from the customer.",
        "PHONE": "A phone call.",
        "TICKET": "A ticket in another system.",
        "MONITORING_ALERT": "An alert from monitoring, not a person.",
    },
)
describe_enum_values(
    MessageRole,
    {
        "CUSTOMER": "The customer with the problem.",
        "ENGINEER": "The engineer working the session.",
        "ASSISTANT": "The desk's AI assistant.",
    },
)
describe_enum_values(
    Confidence,
    {"LOW": "Unsure.", "MEDIUM": "Fairly sure.", "HIGH": "Sure."},
)
describe_enum_values(
    HandoffIntent,
    {
        "PARK": "Set aside by its engineer, who alone sees it and resumes it "
        "(resumeParkedHandoff); never assessed, never in the queue.",
        "ESCALATE": "Handed to the team: in the account's queue for a colleague to claim, "
        "and assessed by the AI.",
    },
)
describe_enum_values(
    Priority,
    {
        "LOW": "Can wait.",
        "NORMAL": "The default.",
        "HIGH": "Soon.",
        "URGENT": "At once.",
    },
)
describe_enum_values(
    AssessmentStatus,
    {
        "PENDING": "Asked for, not landed yet.",
        "READY": "Landed: summary, likely cause, suggested steps and confidence are set.",
        "FAILED": "It could not be made: summary, likely cause and confidence stay null.",
    },
)
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
    description="What happened to a handoff: an entry of its history, or a live event.",
)
describe_enum_values(
    HandoffEventKind,
    {
        "ESCALATED": "Raised to the team's queue.",
        "ASSESSMENT_READY": "An AI assessment landed ready.",
        "ASSESSMENT_FAILED": "An AI assessment failed for good.",
        "CLAIMED": "Claimed: the claimer works its session now.",
        "RELEASED": "Given back to the queue by its claimer, an admin, or the desk (reason IDLE).",
        "WITHDRAWN": "Taken back, unclaimed, by its escalator or an admin: out of the queue "
        "for good.",
        "PRIORITY_CHANGED": "Given another priority (priority, previousPriority).",
        "TRANSFERRED": "Handed by its claimer (or an admin) to a colleague (to).",
        "RESUMED": "A park resumed by its creator: its session is active again.",
        "OVERDUE": "Unclaimed past its due time: the team was told again.",
        "ADMINS_ALERTED": "Still unclaimed a second period later: the admins were told.",
        "NUDGED": "Its claimer did nothing on it for a while, and was reminded.",
        "NOTE_ADDED": "An internal note was added (note).",
        "REASSESSMENT_REQUESTED": "A senior asked for a fresh assessment; it lands as "
        "ASSESSMENT_READY or ASSESSMENT_FAILED.",
    },
)
QueueStatus = QueueFilter
strawberry.enum(
    QueueStatus, name="QueueStatus", description="Which escalations of the queue to list."
)
describe_enum_values(
    QueueStatus,
    {
        "ALL": "Claimed or not (a withdrawn escalation is out of the queue for good).",
        "UNCLAIMED": "Waiting for someone to claim them.",
        "CLAIMED": "Held by someone.",
    },
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
describe_enum_values(
    ClaimFilter,
    {
        "ANY": "Claimed or not.",
        "UNCLAIMED": "Held by nobody.",
        "MINE": "Claimed by the caller.",
        "OTHERS": "Claimed by someone else.",
    },
)
strawberry.enum(
    HandoffStatus,
    name="HandoffStatus",
    description="A handoff's status is its session's: OPEN until the session is RESOLVED.",
)
describe_enum_values(
    HandoffStatus,
    {"OPEN": "Its session is not resolved.", "RESOLVED": "Its session is resolved."},
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
describe_enum_values(
    SlaState,
    {
        "WAITING": "Unclaimed, not due yet.",
        "OVERDUE": "Unclaimed past its due time: the team was told again.",
        "ADMINS_ALERTED": "Still unclaimed a second period later: the admins were told.",
        "MET": "Claimed by its due time.",
        "MISSED": "Claimed after its due time.",
    },
)
QueueOrder = queue.QueueOrder
strawberry.enum(
    QueueOrder,
    name="QueueOrder",
    description="QUEUE: unclaimed first, then by priority, newest first. DUE: unclaimed first, "
    "then the soonest due first (the longest overdue first).",
)
describe_enum_values(
    QueueOrder,
    {
        "QUEUE": "Unclaimed first, then the higher priority first, then the newest first.",
        "DUE": "Unclaimed first, then the soonest due first (the longest overdue first).",
    },
)
# Feedback on the AI (issue 15).
Rating = enums.Rating
strawberry.enum(
    Rating,
    name="Rating",
    description="A senior's verdict on an assessment: HELPFUL or NOT_HELPFUL.",
)
describe_enum_values(
    Rating,
    {
        "HELPFUL": "The assessment helped.",
        "NOT_HELPFUL": "It did not (the reason says why, if given).",
    },
)
HandoffEventReason = enums.EventReason
strawberry.enum(
    HandoffEventReason,
    name="HandoffEventReason",
    description="Why the desk did it. IDLE: released because its claimer did nothing on it, "
    "even after a nudge.",
)
describe_enum_values(
    HandoffEventReason,
    {"IDLE": "Released by the desk: its claimer did nothing on it, even after a nudge."},
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
describe_enum_values(
    ViewerChange,
    {
        "JOINED": "Someone opened the escalation.",
        "LEFT": "They closed it, or their client vanished and its presence expired.",
    },
)
