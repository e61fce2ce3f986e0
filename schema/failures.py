"""Turns a resolver's expected failure into its union member."""

from __future__ import annotations

import strawberry

from resolvers import outcomes
from schema import enums, results
from schema.types import User


def failure(outcome: object, subject_id: str):
    subject = strawberry.ID(str(subject_id))
    match outcome:
        case outcomes.NotPermitted(message=message):
            return results.NotPermitted(message=message)
        case outcomes.InvalidState(message=message, status=status):
            return results.InvalidSessionState(status=enums.SessionStatus(status), message=message)
        case outcomes.NotFound(what="session"):
            return results.SessionNotFound(session_id=subject)
        case outcomes.NotFound(what="handoff"):
            return results.HandoffNotFound(handoff_id=subject)
        case outcomes.NotFound(what="user"):
            return results.UserNotFound(user_id=subject)
        case outcomes.EmailTaken(email=email):
            return results.EmailAlreadyUsed(email=email)
        case outcomes.LastAdmin(message=message):
            return results.LastAdminRequired(message=message)
        case outcomes.AlreadyClaimed(handoff=handoff, claimer=claimer, claimed_at=claimed_at):
            return results.AlreadyClaimed(
                handoff_id=strawberry.ID(str(handoff.id)),
                claimed_by=User.from_row(claimer),
                claimed_at=claimed_at,
                message=f"Already claimed by {claimer.name}.",
            )
    raise TypeError(f"no union member for {outcome!r}")
