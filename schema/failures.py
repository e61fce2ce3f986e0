"""Turns a service's expected failure into its union member."""

from __future__ import annotations

from typing import Any, assert_never

import strawberry

from resolvers import outcomes
from schema import enums, results
from schema.types import User


def failure(outcome: outcomes.Failure, subject_id: str, named_at: tuple[str, ...] = ()) -> Any:
    """The union member telling `outcome`; `subject_id` is the id the caller named (the session,
    handoff or user that was not found), and `named_at` where among the mutation's arguments (the
    `field` of a not-found member). (Any: which member depends on the outcome; Strawberry
    checks that the field's union has it.)"""
    match outcome:
        case outcomes.NotPermitted(message=message):
            return results.NotPermitted(message=message)
        case outcomes.InvalidState(message=message, status=status):
            return results.InvalidSessionState(status=enums.SessionStatus(status), message=message)
        case outcomes.NotFound():
            return _not_found(outcome.what, strawberry.ID(str(subject_id)), list(named_at) or None)
        case outcomes.EmailTaken(email=email):
            return results.EmailAlreadyUsed(email=email, field=["input", "email"])  # addUser's
        case outcomes.LastAdmin(message=message):
            return results.LastAdminRequired(message=message)
        case outcomes.NotParked(message=message, status=status):
            return results.HandoffNotParked(
                handoff_id=strawberry.ID(str(subject_id)),
                session_status=enums.SessionStatus(status) if status else None,
                message=message,
            )
        case outcomes.AlreadyClaimed(handoff=handoff, claimer=claimer, claimed_at=claimed_at):
            return results.AlreadyClaimed(
                handoff_id=strawberry.ID(str(handoff.id)),
                claimed_by=User.from_row(claimer),
                claimed_at=claimed_at,
                message=f"Already claimed by {claimer.name}.",
            )
        case outcomes.Withdrawn(handoff=handoff, by=by, at=at):
            return results.HandoffWithdrawn(
                handoff_id=strawberry.ID(str(handoff.id)),
                withdrawn_by=User.from_row(by),
                withdrawn_at=at,
                message=f"Withdrawn by {by.name}.",
            )
        case outcomes.OwnEscalation(message=message):
            return results.OwnEscalation(handoff_id=strawberry.ID(str(subject_id)), message=message)
        case outcomes.NotClaimedByYou(message=message):
            return results.NotClaimedByYou(
                handoff_id=strawberry.ID(str(subject_id)), message=message
            )
        case outcomes.CannotClaim(user=user, message=message):
            return results.ColleagueCannotClaim(user=User.from_row(user), message=message)
        case outcomes.NotAnEscalation(message=message):
            return results.NotAnEscalation(
                handoff_id=strawberry.ID(str(subject_id)), message=message
            )
        case outcomes.NotAssessable(message=message, status=status):
            return results.AssessmentUnavailable(
                status=enums.AssessmentStatus(status) if status else None, message=message
            )
        case _:
            assert_never(outcome)


def _not_found(what: str, subject: strawberry.ID, field: list[str] | None) -> object:
    match what:
        case "session":
            return results.SessionNotFound(session_id=subject, field=field)
        case "handoff":
            return results.HandoffNotFound(handoff_id=subject, field=field)
        case "user":
            return results.UserNotFound(user_id=subject, field=field)
        case "assessment":
            return results.AssessmentNotFound(assessment_id=subject, field=field)
    raise ValueError(f"no union member for a {what} not found")
