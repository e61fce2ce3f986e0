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

_RESULT = "What {} answers: its success, or an expected failure (a UserError)."


def _screaming_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


_MESSAGE = "What happened, in a sentence for people; its wording may change (programs read code)."


def _message(default: str | None = None):
    """A failure's `message` field (its description is the interface's)."""
    if default is None:
        return strawberry.field(description=_MESSAGE)
    return strawberry.field(default=default, description=_MESSAGE)


@strawberry.interface(
    description="An expected failure, a member of a mutation's result union: what happened, "
    "for people (`message`), its kind, for programs (`code`), and the input at fault, where one "
    "is (`field`)."
)
class UserError:
    message: str = _message()
    field: list[str] | None = strawberry.field(
        default=None,
        description="The path of the argument at fault from the mutation's arguments, e.g. "
        '["input", "sessionId"] (["sessionId"] when it came as a deprecated loose argument); '
        "null when no one input is.",
    )

    @strawberry.field(
        description="The failure's kind, stable for programs: its type's name in capitals, "
        "e.g. ALREADY_CLAIMED for AlreadyClaimed."
    )
    def code(self) -> str:
        return _screaming_snake(type(self).__name__)


@strawberry.type(description="Logged in: a bearer token for the user, in one account.")
class LoginSuccess:
    token: str = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime = strawberry.field(
        description="When the token stops working; log in again before."
    )
    user: User = strawberry.field(description="Who is logged in.")


@strawberry.type(
    description="The email and password are right for users of several accounts: log in again "
    "with accountId, one of these accounts. Only accounts whose user has this password are listed."
)
class AccountChoiceRequired(UserError):
    message: str = _message("This email and password open several accounts: choose one.")
    accounts: list[Account] = strawberry.field(description="The accounts to choose from.")


@strawberry.type(description="Wrong email or password, or a deactivated user; deliberately vague.")
class InvalidCredentials(UserError):
    message: str = _message("The email or password is not right.")


@strawberry.type(
    description="Too many failed logins for this email or from this address: no password was "
    "checked. Try again after retryAfterSeconds."
)
class LoginThrottled(UserError):
    retry_after_seconds: int = strawberry.field(
        description="How long to wait before the next try, in whole seconds."
    )
    message: str = _message("Too many failed logins: wait before trying again.")


@strawberry.type(description="The caller's role does not allow this.")
class NotPermitted(UserError):
    message: str = _message()


@strawberry.type(description="No such session in the caller's account.")
class SessionNotFound(UserError):
    session_id: strawberry.ID = strawberry.field(description="The session asked about.")
    message: str = _message("No such session.")


@strawberry.type(description="No such handoff visible to the caller.")
class HandoffNotFound(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    message: str = _message("No such handoff.")


@strawberry.type(description="No such user in the caller's account.")
class UserNotFound(UserError):
    user_id: strawberry.ID = strawberry.field(description="The user asked about.")
    message: str = _message("No such user.")


@strawberry.type(description="The session's status does not allow this now.")
class InvalidSessionState(UserError):
    status: enums.SessionStatus = strawberry.field(description="The session's status now.")
    message: str = _message()


@strawberry.type(description="Someone else won the claim; here is who, and when.")
class AlreadyClaimed(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    claimed_by: User = strawberry.field(description="Who holds it.")
    claimed_at: datetime = strawberry.field(description="Since when.")
    message: str = _message()


@strawberry.type(
    description="A user of the caller's account has this email already. Emails are unique per "
    "account: an address used only in other accounts is added like any other."
)
class EmailAlreadyUsed(UserError):
    email: str = strawberry.field(description="The email given.")
    message: str = _message("A user of this account has this email already.")


@strawberry.type(
    description="The account's last active admin cannot lose the role or be deactivated: make "
    "another user an admin first."
)
class LastAdminRequired(UserError):
    message: str = _message()


@strawberry.type(
    description="The escalation was withdrawn by its escalator (or an admin): by whom, and when. "
    "A withdrawn escalation is out of the queue for good, kept as history."
)
class HandoffWithdrawn(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    withdrawn_by: User = strawberry.field(description="Who withdrew it.")
    withdrawn_at: datetime = strawberry.field(description="When.")
    message: str = _message()


@strawberry.type(
    description="The caller raised this escalation: claiming one's own is refused unless the "
    "account allows it (Account.allowSelfClaim). Withdraw it instead (withdrawHandoff)."
)
class OwnEscalation(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    message: str = _message()


@strawberry.type(
    description="Nobody holds this escalation now (it was released, perhaps as the caller "
    "acted): there is no claim to hand on."
)
class NotClaimedByYou(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    message: str = _message()


@strawberry.type(
    description="The colleague named may not take escalations: a viewer, or a deactivated user."
)
class ColleagueCannotClaim(UserError):
    user: User = strawberry.field(description="The colleague named.")
    message: str = _message()


@strawberry.type(
    description="Not a park (an escalation), or a park its session has moved on from (resumed, "
    "handed off again, resolved): sessionStatus is the session's now (null for an escalation)."
)
class HandoffNotParked(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    session_status: enums.SessionStatus | None = strawberry.field(
        description="Its session's status now; null for an escalation."
    )
    message: str = _message()


@strawberry.type(description="The session is started.")
class StartSessionSuccess:
    session: Session = strawberry.field(description="The new session.")


@strawberry.type(description="The turn is added.")
class AddSessionMessageSuccess:
    message: Message = strawberry.field(description="The turn, with its position.")
    session: Session = strawberry.field(description="Its session, as it is now.")


@strawberry.type(description="The session is resolved.")
class ResolveSessionSuccess:
    session: Session = strawberry.field(description="The session, RESOLVED.")


@strawberry.type
class _HandoffChanged:
    """A mutation's answer about one handoff: loaded (after the commit) only if selected; a
    client that asks for `__typename` alone costs no read."""

    handoff_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The handoff, as it stands after the change.")
    async def handoff(self, info: Info) -> Handoff:
        return await handoff_by_id(info, self.handoff_id)


@strawberry.type(description="The session is parked or escalated.")
class CreateHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The caller holds the escalation, and works its session.")
class ClaimHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The escalation is back in the queue, unclaimed.")
class ReleaseHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The handoff is read by the caller.")
class MarkHandoffSeenSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The park is closed (it stays in history); its session is active.")
class ResumeParkedHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The escalation is withdrawn: out of the queue for good.")
class WithdrawHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The escalation has its new priority.")
class SetHandoffPrioritySuccess(_HandoffChanged):
    pass


@strawberry.type(description="The colleague holds the escalation now.")
class TransferHandoffSuccess(_HandoffChanged):
    pass


@strawberry.type(description="The account's setting is changed.")
class SetSelfClaimAllowedSuccess:
    account: Account = strawberry.field(description="The account, as it is now.")


@strawberry.type(description="The user is added, and may log in.")
class AddUserSuccess:
    user: User = strawberry.field(description="The new user.")


@strawberry.type(description="The user has the new role.")
class SetUserRoleSuccess:
    user: User = strawberry.field(description="The user, as they are now.")


@strawberry.type(description="The user is deactivated.")
class DeactivateUserSuccess:
    user: User = strawberry.field(description="The user, no longer active.")


LoginResult = Annotated[
    LoginSuccess | AccountChoiceRequired | InvalidCredentials | LoginThrottled,
    strawberry.union("LoginResult", description=_RESULT.format("login")),
]
StartSessionResult = Annotated[
    StartSessionSuccess | NotPermitted,
    strawberry.union("StartSessionResult", description=_RESULT.format("startSession")),
]
AddSessionMessageResult = Annotated[
    AddSessionMessageSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("AddSessionMessageResult", description=_RESULT.format("addSessionMessage")),
]
ResolveSessionResult = Annotated[
    ResolveSessionSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("ResolveSessionResult", description=_RESULT.format("resolveSession")),
]
CreateHandoffResult = Annotated[
    CreateHandoffSuccess | SessionNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("CreateHandoffResult", description=_RESULT.format("createHandoff")),
]
ClaimHandoffResult = Annotated[
    ClaimHandoffSuccess
    | AlreadyClaimed
    | HandoffNotFound
    | NotPermitted
    | OwnEscalation
    | HandoffWithdrawn,
    strawberry.union("ClaimHandoffResult", description=_RESULT.format("claimHandoff")),
]
ReleaseHandoffResult = Annotated[
    ReleaseHandoffSuccess | HandoffNotFound | NotPermitted | InvalidSessionState,
    strawberry.union("ReleaseHandoffResult", description=_RESULT.format("releaseHandoff")),
]
MarkHandoffSeenResult = Annotated[
    MarkHandoffSeenSuccess | HandoffNotFound,
    strawberry.union("MarkHandoffSeenResult", description=_RESULT.format("markHandoffSeen")),
]
ResumeParkedHandoffResult = Annotated[
    ResumeParkedHandoffSuccess | HandoffNotFound | NotPermitted | HandoffNotParked,
    strawberry.union(
        "ResumeParkedHandoffResult", description=_RESULT.format("resumeParkedHandoff")
    ),
]
AddUserResult = Annotated[
    AddUserSuccess | EmailAlreadyUsed | NotPermitted,
    strawberry.union("AddUserResult", description=_RESULT.format("addUser")),
]
SetUserRoleResult = Annotated[
    SetUserRoleSuccess | UserNotFound | NotPermitted | LastAdminRequired,
    strawberry.union("SetUserRoleResult", description=_RESULT.format("setUserRole")),
]
DeactivateUserResult = Annotated[
    DeactivateUserSuccess | UserNotFound | NotPermitted | LastAdminRequired,
    strawberry.union("DeactivateUserResult", description=_RESULT.format("deactivateUser")),
]
WithdrawHandoffResult = Annotated[
    WithdrawHandoffSuccess
    | AlreadyClaimed
    | HandoffWithdrawn
    | HandoffNotFound
    | NotPermitted
    | InvalidSessionState,
    strawberry.union("WithdrawHandoffResult", description=_RESULT.format("withdrawHandoff")),
]
SetHandoffPriorityResult = Annotated[
    SetHandoffPrioritySuccess | HandoffWithdrawn | HandoffNotFound | NotPermitted,
    strawberry.union("SetHandoffPriorityResult", description=_RESULT.format("setHandoffPriority")),
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
    strawberry.union("TransferHandoffResult", description=_RESULT.format("transferHandoff")),
]
SetSelfClaimAllowedResult = Annotated[
    SetSelfClaimAllowedSuccess | NotPermitted,
    strawberry.union(
        "SetSelfClaimAllowedResult", description=_RESULT.format("setSelfClaimAllowed")
    ),
]


# --- timers (issue 14) ---


@strawberry.type(description="The account's timers are changed.")
class SetTimerSettingsSuccess:
    timer_settings: TimerSettings = strawberry.field(description="The timers, as they are now.")


SetTimerSettingsResult = Annotated[
    SetTimerSettingsSuccess | NotPermitted,
    strawberry.union("SetTimerSettingsResult", description=_RESULT.format("setTimerSettings")),
]


# --- internal notes (issue 15) ---


@strawberry.type(
    description="Notes are the team's, on escalations; a park is its creator's alone (its own "
    "notes are its engineerNotes)."
)
class NotAnEscalation(UserError):
    handoff_id: strawberry.ID = strawberry.field(description="The handoff asked about.")
    message: str = _message()


@strawberry.type(description="The note is added.")
class AddHandoffNoteSuccess(_HandoffChanged):
    note: HandoffNote = strawberry.field(description="The new note.")


AddHandoffNoteResult = Annotated[
    AddHandoffNoteSuccess | HandoffNotFound | NotPermitted | NotAnEscalation,
    strawberry.union("AddHandoffNoteResult", description=_RESULT.format("addHandoffNote")),
]


@strawberry.type(description="The account's setting is changed.")
class SetNotesVisibleToViewersSuccess:
    account: Account = strawberry.field(description="The account, as it is now.")


SetNotesVisibleToViewersResult = Annotated[
    SetNotesVisibleToViewersSuccess | NotPermitted,
    strawberry.union(
        "SetNotesVisibleToViewersResult", description=_RESULT.format("setNotesVisibleToViewers")
    ),
]


# --- feedback on the AI (issue 15) ---


@strawberry.type(description="No such assessment visible to the caller.")
class AssessmentNotFound(UserError):
    assessment_id: strawberry.ID = strawberry.field(description="The assessment asked about.")
    message: str = _message("No such assessment.")


@strawberry.type(
    description="No assessment to rate: it has not landed yet, or it failed (status says which). "
    "Or none to ask for: a park is never assessed (status null), or the escalation was assessed "
    f"as often as the desk allows ({limits.ASSESSMENTS_MAX} times)."
)
class AssessmentUnavailable(UserError):
    status: enums.AssessmentStatus | None = strawberry.field(
        description="The assessment's status (PENDING or FAILED); null: a park's, or none more "
        "may be asked for."
    )
    message: str = _message()


@strawberry.type(description="The caller's rating is kept (it replaced any earlier one of theirs).")
class RateAssessmentSuccess(_HandoffChanged):
    assessment: Assessment = strawberry.field(description="The assessment, with its ratings.")


@strawberry.type(
    description="A fresh assessment is on its way (handoff.reassessment), and settles like the "
    "first (assessmentSettled). Asked while one was pending already, nothing more was asked: the "
    "one on its way is the fresh one."
)
class ReassessHandoffSuccess(_HandoffChanged):
    pass


RateAssessmentResult = Annotated[
    RateAssessmentSuccess | AssessmentNotFound | NotPermitted | AssessmentUnavailable,
    strawberry.union("RateAssessmentResult", description=_RESULT.format("rateAssessment")),
]
ReassessHandoffResult = Annotated[
    ReassessHandoffSuccess | HandoffNotFound | NotPermitted | AssessmentUnavailable,
    strawberry.union("ReassessHandoffResult", description=_RESULT.format("reassessHandoff")),
]
