"""Mutations: each one transaction; expected failures come back as union members."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db import enums as db_enums
from db import models
from resolvers import (
    accounts,
    assessments,
    auth,
    claims,
    handoffs,
    inbox,
    lifecycle,
    limits,
    notes,
    notification_prefs,
    outcomes,
    parks,
    queue,
    sessions,
    sla,
    throttle,
)
from resolvers.errors import BadInput
from resolvers.handoff_views import HandoffView
from resolvers.ids import parse_id
from schema import enums, inputs, results
from schema import notifications as nt
from schema.failures import failure
from schema.types import (
    Account,
    Assessment,
    HandoffNote,
    Info,
    Message,
    Session,
    TimerSettings,
    User,
)

# Arguments many mutations share.
HandoffId = Annotated[
    strawberry.ID, strawberry.argument(description="The handoff (escalation or park) to act on.")
]
UserId = Annotated[
    strawberry.ID, strawberry.argument(description="A user of the caller's account.")
]


@strawberry.type(
    description="Writes: each is one transaction; an expected failure is a member of its result "
    "union (UserError), and changed nothing."
)
class Mutation:
    @strawberry.mutation(description="Exchange credentials for a bearer token.")
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The user's email.")],
        password: Annotated[str, strawberry.argument(description="Their password.")],
        account_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The account to log in to, for an email that is a user of several "
                "(see AccountChoiceRequired). Another account answers InvalidCredentials."
            ),
        ] = None,
    ) -> results.LoginResult:
        address = throttle.client_address(info.context.request)
        account = parse_id(account_id, "accountId") if account_id is not None else None
        issued = await auth.login(info.context.desk, email, password, address, account)
        if issued is None:
            return results.InvalidCredentials()
        if isinstance(issued, throttle.Throttled):
            return results.LoginThrottled(retry_after_seconds=issued.retry_after_seconds)
        if isinstance(issued, auth.AccountChoice):
            return results.AccountChoiceRequired(
                accounts=[Account.from_row(account) for account in issued.accounts]
            )
        return results.LoginSuccess(
            token=issued.token, expires_at=issued.expires_at, user=User.from_row(issued.user)
        )

    @strawberry.mutation(
        description="Open a troubleshooting session for a problem that reached the desk: ACTIVE, "
        "owned and worked by the caller."
    )
    async def start_session(
        self,
        info: Info,
        input: Annotated[
            inputs.StartSessionInput, strawberry.argument(description="The problem, as it came.")
        ],
    ) -> results.StartSessionResult:
        viewer = await info.context.viewer()
        outcome = await sessions.start_session(
            info.context.desk,
            viewer,
            intake_type=db_enums.IntakeType(input.intake_type),
            intake_content=input.intake_content,
            problem_summary=input.problem_summary,
        )
        match outcome:
            case models.TroubleshootingSession():
                return results.StartSessionSuccess(session=Session.from_row(outcome))
            case failed:
                return failure(failed, "")

    @strawberry.mutation(description="Add a turn to the conversation; resumes a parked session.")
    async def add_session_message(
        self,
        info: Info,
        input: Annotated[
            inputs.AddSessionMessageInput,
            strawberry.argument(description="The session, and the turn to add."),
        ],
    ) -> results.AddSessionMessageResult:
        viewer = await info.context.viewer()
        session_id = parse_id(input.session_id, "sessionId")
        outcome = await sessions.add_message(
            info.context.desk,
            viewer,
            session_id,
            role=db_enums.MessageRole(input.role),
            content=input.content,
            confidence_tier=db_enums.Confidence(input.confidence_tier)
            if input.confidence_tier
            else None,
        )
        match outcome:
            case models.SessionMessage():
                session = await info.context.loaders.session.load(session_id)
                return results.AddSessionMessageSuccess(
                    message=Message.from_row(outcome), session=Session.from_row(session)
                )
            case failed:
                return failure(failed, input.session_id, named_at=("input", "sessionId"))

    @strawberry.mutation(
        description="Close a session the caller works, for good (RESOLVED). An escalated session "
        "is claimed first: InvalidSessionState until then."
    )
    async def resolve_session(
        self,
        info: Info,
        session_id: Annotated[strawberry.ID, strawberry.argument(description="The session.")],
    ) -> results.ResolveSessionResult:
        viewer = await info.context.viewer()
        outcome = await sessions.resolve_session(
            info.context.desk, viewer, parse_id(session_id, "sessionId")
        )
        match outcome:
            case models.TroubleshootingSession():
                return results.ResolveSessionSuccess(session=Session.from_row(outcome))
            case failed:
                return failure(failed, session_id, named_at=("sessionId",))

    @strawberry.mutation(description="Park a session (private) or escalate it to the team.")
    async def create_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.CreateHandoffInput,
            strawberry.argument(description="The session, park or escalate, notes and priority."),
        ],
    ) -> results.CreateHandoffResult:
        viewer = await info.context.viewer()
        outcome = await handoffs.create_handoff(
            info.context.desk,
            viewer,
            parse_id(input.session_id, "sessionId"),
            intent=db_enums.HandoffIntent(input.intent),
            engineer_notes=input.engineer_notes,
            priority=db_enums.Priority(input.priority),
        )
        return _handoff_changed(
            outcome, results.CreateHandoffSuccess, input.session_id, named_at=("input", "sessionId")
        )

    @strawberry.mutation(
        description="Claim an escalation. Exactly one concurrent claimer wins; the winner's "
        "repeated claim succeeds unchanged."
    )
    async def claim_handoff(self, info: Info, handoff_id: HandoffId) -> results.ClaimHandoffResult:
        return await _on_handoff(
            info, claims.claim_handoff, handoff_id, results.ClaimHandoffSuccess
        )

    @strawberry.mutation(description="Give a claimed escalation back to the queue.")
    async def release_handoff(
        self, info: Info, handoff_id: HandoffId
    ) -> results.ReleaseHandoffResult:
        return await _on_handoff(
            info, claims.release_handoff, handoff_id, results.ReleaseHandoffSuccess
        )

    @strawberry.mutation(description="The caller opened the handoff: clear their unread mark.")
    async def mark_handoff_seen(
        self, info: Info, handoff_id: HandoffId
    ) -> results.MarkHandoffSeenResult:
        return await _on_handoff(
            info, queue.mark_handoff_seen, handoff_id, results.MarkHandoffSeenSuccess
        )

    @strawberry.mutation(
        description="Resume one of the caller's parked sessions: the session is active again, "
        "the park is closed and stays in history (a RESUMED entry)."
    )
    async def resume_parked_handoff(
        self, info: Info, handoff_id: HandoffId
    ) -> results.ResumeParkedHandoffResult:
        return await _on_handoff(
            info, parks.resume_parked_handoff, handoff_id, results.ResumeParkedHandoffSuccess
        )

    @strawberry.mutation(description="Admins only: add a user to the caller's account.")
    async def add_user(
        self,
        info: Info,
        input: Annotated[inputs.AddUserInput, strawberry.argument(description="The new user.")],
    ) -> results.AddUserResult:
        viewer = await info.context.viewer()
        outcome = await accounts.add_user(
            info.context.desk,
            viewer,
            name=input.name,
            email=input.email,
            role=db_enums.Role(input.role),
            password=input.password,
        )
        return _user_changed(outcome, results.AddUserSuccess, "")

    @strawberry.mutation(description="Admins only: change a user's role.")
    async def set_user_role(
        self,
        info: Info,
        user_id: UserId,
        role: Annotated[enums.Role, strawberry.argument(description="Their new role.")],
    ) -> results.SetUserRoleResult:
        viewer = await info.context.viewer()
        outcome = await accounts.set_user_role(
            info.context.desk, viewer, parse_id(user_id, "userId"), db_enums.Role(role)
        )
        return _user_changed(outcome, results.SetUserRoleSuccess, user_id)

    @strawberry.mutation(
        description="Admins only: the user can no longer log in, and their tokens stop working."
    )
    async def deactivate_user(self, info: Info, user_id: UserId) -> results.DeactivateUserResult:
        return await _on_user(
            info, accounts.deactivate_user, user_id, results.DeactivateUserSuccess
        )

    # --- an escalation's lifecycle after it is raised ---

    @strawberry.mutation(
        description="Take back an unclaimed escalation you raised (an admin may take back any): "
        "it leaves the queue, kept as history, and its session is its escalator's to work again. "
        "Of a withdrawal and a claim racing, exactly one wins; the other is told which."
    )
    async def withdraw_handoff(
        self, info: Info, handoff_id: HandoffId
    ) -> results.WithdrawHandoffResult:
        return await _on_handoff(
            info, lifecycle.withdraw_handoff, handoff_id, results.WithdrawHandoffSuccess
        )

    @strawberry.mutation(
        description="Change an escalation's priority: its escalator, its claimer, or an admin."
    )
    async def set_handoff_priority(
        self,
        info: Info,
        handoff_id: HandoffId,
        priority: Annotated[enums.Priority, strawberry.argument(description="Its new priority.")],
    ) -> results.SetHandoffPriorityResult:
        viewer = await info.context.viewer()
        outcome = await lifecycle.set_handoff_priority(
            info.context.desk,
            viewer,
            parse_id(handoff_id, "handoffId"),
            db_enums.Priority(priority),
        )
        return _handoff_changed(outcome, results.SetHandoffPrioritySuccess, handoff_id)

    @strawberry.mutation(
        description="Hand a claimed escalation to a colleague (an active engineer or admin of "
        "the account): its claimer may, and so may an admin. The colleague holds it and works its "
        "session from now on, and is told (an email, and a TRANSFERRED event). Of a transfer and "
        "a release or another transfer racing, exactly one wins; the other is told what happened."
    )
    async def transfer_handoff(
        self,
        info: Info,
        handoff_id: HandoffId,
        to: Annotated[strawberry.ID, strawberry.argument(description="The colleague's user id.")],
    ) -> results.TransferHandoffResult:
        viewer = await info.context.viewer()
        outcome = await lifecycle.transfer_handoff(
            info.context.desk, viewer, parse_id(handoff_id, "handoffId"), parse_id(to, "to")
        )
        if isinstance(outcome, outcomes.NotFound) and outcome.what == "user":
            return results.UserNotFound(user_id=to, field=["to"])
        return _handoff_changed(outcome, results.TransferHandoffSuccess, handoff_id)

    @strawberry.mutation(
        description="Admins only: whether the account's users may claim escalations they raised "
        "themselves. By default they may not: they withdraw them instead."
    )
    async def set_self_claim_allowed(
        self,
        info: Info,
        allowed: Annotated[
            bool, strawberry.argument(description="True: they may claim their own escalations.")
        ],
    ) -> results.SetSelfClaimAllowedResult:
        viewer = await info.context.viewer()
        outcome = await accounts.set_self_claim_allowed(info.context.desk, viewer, allowed)
        return _account_changed(outcome, results.SetSelfClaimAllowedSuccess)

    # --- internal notes (issue 15) ---

    @strawberry.mutation(
        description="Engineers and admins: add an internal note to an escalation of the account. "
        "It is in the escalation's history (NOTE_ADDED) and heard live on handoffUpdated, by the "
        "account's engineers and admins, and its viewers unless the account says not."
    )
    async def add_handoff_note(
        self,
        info: Info,
        input: Annotated[
            inputs.AddHandoffNoteInput, strawberry.argument(description="The escalation and note.")
        ],
    ) -> results.AddHandoffNoteResult:
        viewer = await info.context.viewer()
        outcome = await notes.add_note(
            info.context.desk, viewer, parse_id(input.handoff_id, "handoffId"), input.body
        )
        match outcome:
            case models.HandoffNote():
                return results.AddHandoffNoteSuccess(
                    handoff_id=outcome.handoff_id, note=HandoffNote.from_row(outcome)
                )
            case failed:
                return failure(failed, input.handoff_id, named_at=("input", "handoffId"))

    @strawberry.mutation(
        description="Admins only: whether the account's viewers read its internal notes (they do "
        "unless this turns it off; engineers and admins always do)."
    )
    async def set_notes_visible_to_viewers(
        self,
        info: Info,
        visible: Annotated[
            bool, strawberry.argument(description="True: viewers read internal notes.")
        ],
    ) -> results.SetNotesVisibleToViewersResult:
        viewer = await info.context.viewer()
        outcome = await accounts.set_notes_visible_to_viewers(info.context.desk, viewer, visible)
        return _account_changed(outcome, results.SetNotesVisibleToViewersSuccess)

    # --- timers (issue 14) ---

    @strawberry.mutation(
        description="Admins only: change the account's timers. New escalations follow them, and "
        "so do those waiting or claimed now (their timers look again at once)."
    )
    async def set_timer_settings(
        self,
        info: Info,
        input: Annotated[
            inputs.TimerSettingsInput, strawberry.argument(description="What to change.")
        ],
    ) -> results.SetTimerSettingsResult:
        viewer = await info.context.viewer()
        outcome = await sla.set_timer_settings(info.context.desk, viewer, _timer_change(input))
        match outcome:
            case sla.TimerPolicy():
                return results.SetTimerSettingsSuccess(
                    timer_settings=TimerSettings.from_policy(outcome)
                )
            case failed:
                return failure(failed, "")

    # --- feedback on the AI (issue 15) ---

    @strawberry.mutation(
        description="Engineers and admins: rate an assessment that landed, helpful or not, and "
        "say why if you like. One rating per user and assessment: rating again replaces it."
    )
    async def rate_assessment(
        self,
        info: Info,
        assessment_id: Annotated[
            strawberry.ID, strawberry.argument(description="The assessment (Assessment.id).")
        ],
        rating: Annotated[enums.Rating, strawberry.argument(description="The verdict.")],
        reason: Annotated[
            str | None,
            strawberry.argument(
                description=f"Why (optional; at most {limits.RATING_REASON_MAX} characters)."
            ),
        ] = None,
    ) -> results.RateAssessmentResult:
        viewer = await info.context.viewer()
        outcome = await assessments.rate_assessment(
            info.context.desk,
            viewer,
            parse_id(assessment_id, "assessmentId"),
            db_enums.Rating(rating),
            reason,
        )
        match outcome:
            case models.AssessmentVersion():
                return results.RateAssessmentSuccess(
                    handoff_id=outcome.handoff_id, assessment=Assessment.from_version(outcome)
                )
            case failed:
                return failure(failed, assessment_id, named_at=("assessmentId",))

    @strawberry.mutation(
        description="Engineers and admins: ask for a fresh assessment of an escalation (a job, "
        "as the first was). The assessor is given the notes and the seniors' ratings of the "
        "earlier ones; the escalation shows its earlier assessment until the new one lands ready, "
        "and keeps every one (Handoff.assessments). Asked while one is pending, nothing more is "
        "asked."
    )
    async def reassess_handoff(
        self, info: Info, handoff_id: HandoffId
    ) -> results.ReassessHandoffResult:
        return await _on_handoff(
            info, assessments.reassess_handoff, handoff_id, results.ReassessHandoffSuccess
        )

    # --- notifications people control (issue 15) ---

    @strawberry.mutation(
        description="Change what the caller hears of, by email and in the desk (any role; a "
        "viewer is never told of escalations all the same)."
    )
    async def set_my_notification_preferences(
        self,
        info: Info,
        input: Annotated[
            nt.MyNotificationPreferencesInput, strawberry.argument(description="What to change.")
        ],
    ) -> nt.SetMyNotificationPreferencesSuccess:
        viewer = await info.context.viewer()
        mine = await notification_prefs.set_my_preferences(
            info.context.desk, viewer, input.change()
        )
        return nt.SetMyNotificationPreferencesSuccess(
            preferences=nt.MyNotificationPreferences.of(mine)
        )

    @strawberry.mutation(
        description="Admins only: the account's notification defaults, for every user who has "
        "not chosen for themselves."
    )
    async def set_notification_defaults(
        self,
        info: Info,
        input: Annotated[
            nt.NotificationDefaultsInput, strawberry.argument(description="What to change.")
        ],
    ) -> nt.SetNotificationDefaultsResult:
        viewer = await info.context.viewer()
        outcome = await notification_prefs.set_notification_defaults(
            info.context.desk, viewer, input.change()
        )
        match outcome:
            case notification_prefs.Preferences():
                return nt.SetNotificationDefaultsSuccess(
                    defaults=nt.NotificationPreferences.of(outcome)
                )
            case failed:
                return failure(failed, "")

    @strawberry.mutation(
        description="Mark the caller's notifications read: every one (all: true), or those named "
        f"(at most {inbox.MARK_IDS_MAX}; others' or unknown ids change nothing). Answers the "
        "caller's unread count."
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description=f"The notifications to mark (Notification.id), at most "
                f"{inbox.MARK_IDS_MAX}."
            ),
        ] = None,
        all: Annotated[
            bool, strawberry.argument(description="True: mark every one; ids is not read.")
        ] = False,
    ) -> nt.MarkNotificationsReadSuccess:
        viewer = await info.context.viewer()
        numbers = None if ids is None else [_notification_id(i) for i in ids]
        count = await inbox.mark_read(info.context.desk, viewer, numbers, every=all)
        return nt.MarkNotificationsReadSuccess(unread_count=count)


def _notification_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"{value!r} is not a notification id") from None
    if number < 0:
        raise BadInput(f"{value!r} is not a notification id")
    return number


def _timer_change(input: inputs.TimerSettingsInput) -> sla.TimerChange:
    given = input.priorities or []
    twice = {p.priority for p in given if [q.priority for q in given].count(p.priority) > 1}
    if twice:
        raise BadInput(f"priorities: give each priority once ({', '.join(p.name for p in twice)})")
    return sla.TimerChange(
        overdue_after={
            p.priority: p.overdue_after_minutes
            for p in given
            if p.overdue_after_minutes is not None
        },
        admins_after={
            p.priority: p.admins_after_minutes for p in given if p.admins_after_minutes is not None
        },
        nudge_after=input.nudge_after_minutes,
        release_after=input.release_after_minutes,
        release_idle=input.release_idle_claims,
    )


async def _on_handoff(info: Info, service, handoff_id: strawberry.ID, success: type):
    """The shape of the mutations that act on one handoff, named by id."""
    viewer = await info.context.viewer()
    outcome = await service(info.context.desk, viewer, parse_id(handoff_id, "handoffId"))
    return _handoff_changed(outcome, success, handoff_id)


async def _on_user(info: Info, service, user_id: strawberry.ID, success: type):
    """The shape of the admin mutations that act on one user, named by id."""
    viewer = await info.context.viewer()
    outcome = await service(info.context.desk, viewer, parse_id(user_id, "userId"))
    return _user_changed(outcome, success, user_id)


def _handoff_changed(
    outcome: models.Handoff | HandoffView | outcomes.Failure,
    success: type,
    subject_id: str,
    named_at: tuple[str, ...] = ("handoffId",),
):
    """A mutation's answer about one handoff: `success` with its id, or the failure's member
    (`subject_id` the id the caller named, `named_at` the argument that named it)."""
    match outcome:
        case models.Handoff() | HandoffView():
            return success(handoff_id=outcome.id)
        case failed:
            return failure(failed, subject_id, named_at)


def _account_changed(outcome: models.Account | outcomes.Failure, success: type):
    """An admin's change of the account's settings: `success` with the account as it now is."""
    match outcome:
        case models.Account():
            return success(account=Account.from_row(outcome))
        case failed:
            return failure(failed, "")


def _user_changed(outcome: models.User | outcomes.Failure, success: type, subject_id: str):
    """An admin mutation's answer: `success` with the user as it now is, or the failure's
    (`subject_id` the user id the caller named, as the argument `userId`)."""
    match outcome:
        case models.User():
            return success(user=User.from_row(outcome))
        case failed:
            return failure(failed, subject_id, named_at=("userId",))
