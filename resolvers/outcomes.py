"""Expected outcomes other than success; the schema turns each into a union member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.models import Handoff, User


@dataclass(frozen=True)
class NotFound:
    what: str  # "session", "handoff", "user", "assessment"


@dataclass(frozen=True)
class NotPermitted:
    message: str


@dataclass(frozen=True)
class InvalidState:
    message: str
    status: str


@dataclass(frozen=True)
class AlreadyClaimed:
    handoff: Handoff
    claimer: User
    claimed_at: datetime


@dataclass(frozen=True)
class EmailTaken:
    email: str


@dataclass(frozen=True)
class LastAdmin:
    message: str = "An account must keep at least one active admin."


# --- an escalation's lifecycle (resolvers/lifecycle.py, and claims of one's own) ---


@dataclass(frozen=True)
class Withdrawn:
    """The escalation was taken back by its escalator (or an admin): by whom, and when."""

    handoff: Handoff
    by: User
    at: datetime


@dataclass(frozen=True)
class OwnEscalation:
    message: str = (
        "You raised this escalation yourself: withdraw it (withdrawHandoff) instead of claiming it."
    )


@dataclass(frozen=True)
class NotClaimedByYou:
    message: str


@dataclass(frozen=True)
class CannotClaim:
    """The colleague named may not take escalations (a viewer, or deactivated)."""

    user: User
    message: str


@dataclass(frozen=True)
class NotParked:
    """Not a park (an escalation), or a park its session has moved on from; `status` is the
    session's now (None for an escalation)."""

    message: str
    status: str | None


@dataclass(frozen=True)
class NotAnEscalation:
    """Notes are the team's, on escalations: a park is its creator's alone."""

    message: str = "Notes are for escalations; a park keeps its own notes (engineerNotes)."


# --- feedback on the AI (issue 15) ---


@dataclass(frozen=True)
class NotAssessable:
    """No assessment to rate (it has not landed, or it failed), or none to ask for (a park, or
    an escalation assessed as often as the desk allows); `status` is the assessment's (None for
    a park)."""

    message: str
    status: str | None


# Every expected failure a service answers with; the adapter maps each to its union member.
Failure = (
    NotFound
    | NotPermitted
    | InvalidState
    | AlreadyClaimed
    | EmailTaken
    | LastAdmin
    | Withdrawn
    | OwnEscalation
    | NotClaimedByYou
    | CannotClaim
    | NotParked
    | NotAnEscalation
    | NotAssessable
)
