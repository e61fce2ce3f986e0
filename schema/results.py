"""Result members of mutations: success, and each expected failure a client handles by name."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import limits
from schema import enums
from schema.types import (
    Account,
    Assessment,
    Handoff,
    HandoffNote,
    Info,
    Message,
    Session,
    TimerSettings,
    User,
    handoff_by_id,
)


def _screaming_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


@strawberry.interface(
    description="An expected failure, a member of a mutation's result union: what happened, "
    "for people (`message`), its kind, for programs (`code`), and the input at fault, where one "
    "is (`field`)."
)
class UserError:
    message: str
    field: list[str] | None = strawberry.field(
        default=None,
        description="The path of the argument at fault from the mutation's arguments, e.g. "
        '["input", "sessionId"] or ["handoffId"]; null when no one input is.',
    )

    @strawberry.field(
        description="The failure's kind, stable for programs: its type's name in capitals, "
        "e.g. ALREADY_CLAIMED for AlreadyClaimed."
    )
    def code(self) -> str:
        return _screaming_snake(type(self).__name__)


@strawberry.type
class LoginSuccess:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime
    user: User


@strawberry.type(
    description="The email and password are right for users of several accounts: log in again "
    "with accountId, one of these accounts. Only accounts whose user has this password are listed."
)
class AccountChoiceRequired(UserError):
    message: str = "This email and password open several accounts: choose one."
    accounts: list[Account]


@strawberry.type(description="Wrong email or password, or a deactivated user; deliberately vague.")
class InvalidCredentials(UserError):
    message: str = "The email or password is not right."


@strawberry.type(
    description="Too many failed logins for this email or from this address: no password was "
    "checked. Try again after retryAfterSeconds."
)
class LoginThrottled(UserError):
    retry_after_seconds: int
    message: str = "Too many failed logins: wait before trying again."


@strawberry.type(description="The caller's role does not allow this.")
class NotPermitted(UserError):
    message: str


@strawberry.type(description="No such session in the caller's account.")
class SessionNotFound(UserError):
    session_id: strawberry.ID
    message: str = "No such session."


@strawberry.type(description="No such handoff visible to the caller.")
class HandoffNotFound(UserError):
    handoff_id: strawberry.ID
    message: str = "No such handoff."


@strawberry.type(description="No such user in the caller's account.")
class UserNotFound(UserError):
    user_id: strawberry.ID
    message: str = "No such user."


@strawberry.type(description="The session's status does not allow this now.")
class InvalidSessionState(UserError):
    status: enums.SessionStatus
    message: str


@strawberry.type(description="Someone else won the claim; here is who, and when.")
class AlreadyClaimed(UserError):
    handoff_id: strawberry.ID
    claimed_by: User
    claimed_at: datetime
    message: str


@strawberry.type(
    description="A user of the caller's account has this email already. Emails are unique per "
    "account: an address used only in other accounts is added like any other."
)
class EmailAlreadyUsed(UserError):
    email: str
    message: str = "A user of this account has this email already."


@strawberry.type
class LastAdminRequired(UserError):
    message: str


@strawberry.type(
    description="The escalation was withdrawn by its escalator (or an admin): by whom, and when. "
    "A withdrawn escalation is out of the queue for good, kept as history."
)
class HandoffWithdrawn(UserError):
    handoff_id: strawberry.ID
    withdrawn_by: User
    withdrawn_at: datetime
    message: str


@strawberry.type(
    description="The caller raised this escalation: claiming one's own is refused unless the "
    "account allows it (Account.allowSelfClaim). Withdraw it instead (withdrawHandoff)."
)
class OwnEscalation(UserError):
    handoff_id: strawberry.ID
    message: str


@strawberry.type(
    description="Nobody holds this escalation now (it was released, perhaps as the caller "
    "acted): there is no claim to hand on."
)
class NotClaimedByYou(UserError):
    handoff_id: strawberry.ID
    message: str


@strawberry.type(
    description="The colleague named may not take escalations: a viewer, or a deactivated user."
)
class ColleagueCannotClaim(UserError):
    user: User
    message: str


@strawberry.type(
    description="Not a park (an escalation), or a park its session has moved on from (resumed, "
    "handed off again, resolved): sessionStatus is the session's now (null for an escalation)."
)
class HandoffNotParked(UserError):
    handoff_id: strawberry.ID
    session_status: enums.SessionStatus | None
    message: str


@strawberry.type
class StartSessionSuccess:
    session: Session


@strawberry.type
class AddSessionMessageSuccess:
    message: Message
    session: Session


@strawberry.type
class ResolveSessionSuccess:
    session: Session


@strawberry.type
class _HandoffChanged:
    """A mutation's answer about one handoff: loaded (after the commit) only if selected; a
    client that asks for `__typename` alone costs no read."""

    handoff_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def handoff(self, info: Info) -> Handoff:
        return await handoff_by_id(info, self.handoff_id)


@strawberry.type
class CreateHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class ClaimHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class ReleaseHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class MarkHandoffSeenSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The park is closed (it stays in history); its session is active.")
class ResumeParkedHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class WithdrawHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class SetHandoffPrioritySuccess(_HandoffChanged):
    pass


@strawberry.type
class TransferHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type
class SetSelfClaimAllowedSuccess:
    account: Account


@strawberry.type
class AddUserSuccess:
    user: User


@strawberry.type
class SetUserRoleSuccess:
    user: User


@strawberry.type
class DeactivateUserSuccess:
    user: User


LoginResult = Annotated[
    LoginSuccess | AccountChoiceRequired | InvalidCredentials | LoginThrottled,
    strawberry.union("LoginResult"),
]
StartSessionResult = Annotated[
    StartSessionSuccess | NotPermitted, strawberry.union("StartSessionResult")
]
AddSessionMessageResult = Annotated[
    AddSessionMessageSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("AddSessionMessageResult"),
]
ResolveSessionResult = Annotated[
    ResolveSessionSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("ResolveSessionResult"),
]
CreateHandoffResult = Annotated[
    CreateHandoffSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("CreateHandoffResult"),
]
ClaimHandoffResult = Annotated[
    ClaimHandoffSuccess
    | AlreadyClaimed
    | HandoffNotFound
    | NotPermitted
    | OwnEscalation
    | HandoffWithdrawn,
    strawberry.union("ClaimHandoffResult"),
]
ReleaseHandoffResult = Annotated[
    ReleaseHandoffSuccess | HandoffNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("ReleaseHandoffResult"),
]
MarkHandoffSeenResult = Annotated[
    MarkHandoffSeenSuccess | HandoffNotFound, strawberry.union("MarkHandoffSeenResult")
]
ResumeParkedHandoffResult = Annotated[
    ResumeParkedHandoffSuccess | HandoffNotFound | NotPermitted | HandoffNotParked,
    strawberry.union("ResumeParkedHandoffResult"),
]
AddUserResult = Annotated[
    AddUserSuccess | EmailAlreadyUsed | NotPermitted, strawberry.union("AddUserResult")
]
SetUserRoleResult = Annotated[
    SetUserRoleSuccess | UserNotFound | NotPermitted | LastAdminRequired,
    strawberry.union("SetUserRoleResult"),
]
DeactivateUserResult = Annotated[
    DeactivateUserSuccess | UserNotFound | NotPermitted | LastAdminRequired,
    strawberry.union("DeactivateUserResult"),
]
WithdrawHandoffResult = Annotated[
    WithdrawHandoffSuccess
    | AlreadyClaimed
    | HandoffWithdrawn
    | HandoffNotFound
    | NotPermitted
    | InvalidSessionState,
    strawberry.union("WithdrawHandoffResult"),
]
SetHandoffPriorityResult = Annotated[
    SetHandoffPrioritySuccess | HandoffWithdrawn | HandoffNotFound | NotPermitted,
    strawberry.union("SetHandoffPriorityResult"),
]
TransferHandoffResult = Annotated[
    TransferHandoffSuccess
    | AlreadyClaimed
    | NotClaimedByYou
    | HandoffWithdrawn
    | HandoffNotFound
    | UserNotFound
    | ColleagueCannotClaim
    | NotPermitted
    | InvalidSessionState,
    strawberry.union("TransferHandoffResult"),
]
SetSelfClaimAllowedResult = Annotated[
    SetSelfClaimAllowedSuccess | NotPermitted, strawberry.union("SetSelfClaimAllowedResult")
]


# --- timers (issue 14) ---


@strawberry.type
class SetTimerSettingsSuccess:
    timer_settings: TimerSettings


SetTimerSettingsResult = Annotated[
    SetTimerSettingsSuccess | NotPermitted, strawberry.union("SetTimerSettingsResult")
]


# --- internal notes (issue 15) ---


@strawberry.type(
    description="Notes are the team's, on escalations; a park is its creator's alone (its own "
    "notes are its engineerNotes)."
)
class NotAnEscalation(UserError):
    handoff_id: strawberry.ID
    message: str


@strawberry.type
class AddHandoffNoteSuccess(_HandoffChanged):
    note: HandoffNote


AddHandoffNoteResult = Annotated[
    AddHandoffNoteSuccess | HandoffNotFound | NotPermitted | NotAnEscalation,
    strawberry.union("AddHandoffNoteResult"),
]


@strawberry.type
class SetNotesVisibleToViewersSuccess:
    account: Account


SetNotesVisibleToViewersResult = Annotated[
    SetNotesVisibleToViewersSuccess | NotPermitted,
    strawberry.union("SetNotesVisibleToViewersResult"),
]


# --- feedback on the AI (issue 15) ---


@strawberry.type(description="No such assessment visible to the caller.")
class AssessmentNotFound(UserError):
    assessment_id: strawberry.ID
    message: str = "No such assessment."


@strawberry.type(
    description="No assessment to rate: it has not landed yet, or it failed (status says which). "
    "Or none to ask for: a park is never assessed (status null), or the escalation was assessed "
    f"as often as the desk allows ({limits.ASSESSMENTS_MAX} times)."
)
class AssessmentUnavailable(UserError):
    status: enums.AssessmentStatus | None
    message: str


@strawberry.type(description="The caller's rating is kept (it replaced any earlier one of theirs).")
class RateAssessmentSuccess(_HandoffChanged):
    assessment: Assessment


@strawberry.type(
    description="A fresh assessment is on its way (handoff.reassessment), and lands like the "
    "first (assessmentReady). Asked while one was pending already, nothing more was asked: the "
    "one on its way is the fresh one."
)
class ReassessHandoffSuccess(_HandoffChanged):
    pass


RateAssessmentResult = Annotated[
    RateAssessmentSuccess | AssessmentNotFound | NotPermitted | AssessmentUnavailable,
    strawberry.union("RateAssessmentResult"),
]
ReassessHandoffResult = Annotated[
    ReassessHandoffSuccess | HandoffNotFound | NotPermitted | AssessmentUnavailable,
    strawberry.union("ReassessHandoffResult"),
]
