"""The desk's vocabulary, as stored (lower-case strings)."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ENGINEER = "engineer"
    VIEWER = "viewer"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class IntakeType(StrEnum):
    CHAT = "chat"
    EMAIL = "email"
    PHONE = "phone"
    TICKET = "ticket"
    MONITORING_ALERT = "monitoring_alert"


class MessageRole(StrEnum):
    CUSTOMER = "customer"
    ENGINEER = "engineer"
    ASSISTANT = "assistant"


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class HandoffIntent(StrEnum):
    PARK = "park"
    ESCALATE = "escalate"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Sort key: a higher rank is worked first."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class AssessmentStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Rating(StrEnum):
    """A senior's verdict on an assessment (issue 15)."""

    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"


class EventKind(StrEnum):
    """What the account's event log records. Those with a handoff are also its history entries;
    ACCESS_CHANGED (a user's role or standing changed) has none: it tells live subscriptions to
    check their caller's rights again; nor has MESSAGE_ADDED (a session's)."""

    ESCALATED = "escalated"
    ASSESSMENT_READY = "assessment_ready"
    ASSESSMENT_FAILED = "assessment_failed"
    CLAIMED = "claimed"
    RELEASED = "released"
    ACCESS_CHANGED = "access_changed"
    # An escalation's lifecycle after it is raised (resolvers/lifecycle.py).
    WITHDRAWN = "withdrawn"
    PRIORITY_CHANGED = "priority_changed"
    TRANSFERRED = "transferred"
    # A park resumed by its creator: in the park's history, which only they see. No
    # subscription hears of it (resolvers/events.py): a park is nobody else's news.
    RESUMED = "resumed"
    # Timers (issue 14): the desk's own doing, so without an actor.
    OVERDUE = "overdue"  # unclaimed past its due time: the team is told again
    ADMINS_ALERTED = "admins_alerted"  # still unclaimed a second period later: the admins told
    NUDGED = "nudged"  # its claimer did nothing on it for a while: they are reminded
    # The conversation live (issue 15). A message has no handoff: MESSAGE_ADDED names its
    # session (AccountEvent.session_id), is in no history, and only sessionMessages hears of it.
    MESSAGE_ADDED = "message_added"
    # An internal note on an escalation (AccountEvent.note_id): in its history, and live.
    NOTE_ADDED = "note_added"
    # A senior asked for a fresh assessment (issue 15); it lands as ASSESSMENT_READY or _FAILED.
    REASSESSMENT_REQUESTED = "reassessment_requested"


class JobKind(StrEnum):
    ASSESS = "assess"
    EMAIL = "email"
    TIMER = "timer"  # an escalation's timers: checked at their due times (resolvers/timers.py)


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    LOGGED = "logged"
    FAILED = "failed"


class EventReason(StrEnum):
    """Why an event happened, where the desk says (AccountEvent.reason)."""

    IDLE = "idle"  # RELEASED: its claimer did nothing on it, after a nudge (timers)


class EscalationAlerts(StrEnum):
    """Which new escalations of the team a user hears of (issue 15): by email, unless they
    asked for the desk only, and in the desk's own notification list."""

    ALL = "all"
    HIGH_AND_URGENT = "high_and_urgent"
    NONE = "none"


class NotificationKind(StrEnum):
    """What an in-app notification tells (db.models.Notification)."""

    NEW_ESCALATION = "new_escalation"  # the team raised one (per the user's preferences)
    CLAIMED = "claimed"  # one the user escalated was claimed
    TRANSFERRED = "transferred"  # ... handed on by its claimer (or an admin) to a colleague
    OVERDUE = "overdue"  # ... waited unclaimed past its due time
