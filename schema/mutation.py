"""Mutations: each one transaction; expected failures come back as union members."""

from __future__ import annotations

from typing import Annotated, Any

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
from schema.input_form import Given, deprecated, given, input_argument
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

# The loose arguments mutations took before `input` (issue 16), kept for a deprecation period.
OldHandoffId = Annotated[
    strawberry.ID | None, deprecated("The handoff (escalation or park) to act on.", "handoffId")
]
OldUserId = Annotated[strawberry.ID | None, deprecated("A user of the caller's account.", "userId")]


@strawberry.type(
    description="Writes: each is one transaction; an expected failure is a member of its result "
    "union (UserError), and changed nothing."
)
class Mutation:
    @strawberry.mutation(description="Exchange credentials for a bearer token.")
    async def login(
        self,
        info: Info,
        input: Annotated[inputs.LoginInput | None, input_argument("The credentials.")] = None,
        email: Annotated[str | None, deprecated("The user's email.", "email")] = None,
        password: Annotated[str | None, deprecated("Their password.", "password")] = None,
        account_id: Annotated[
            strawberry.ID | None, deprecated("The account to log in to.", "accountId")
        ] = None,
    ) -> results.LoginResult:
        sent = given(
            info.field_name,
            input,
            inputs.LoginInput,
            email=email,
            password=password,
            account_id=account_id,
        )
        credentials = sent.input
        account = (
            parse_id(credentials.account_id, sent.named("accountId"))
            if credentials.account_id is not None
            else None
        )
        address = throttle.client_address(info.context.request)
        issued = await auth.login(
            info.context.desk, credentials.email, credentials.password, address, account
        )
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
        input: Annotated[
            inputs.ResolveSessionInput | None, input_argument("The session to close.")
        ] = None,
        session_id: Annotated[strawberry.ID | None, deprecated("The session.", "sessionId")] = None,
    ) -> results.ResolveSessionResult:
        sent = given(info.field_name, input, inputs.ResolveSessionInput, session_id=session_id)
        session_id = sent.input.session_id
        viewer = await info.context.viewer()
        outcome = await sessions.resolve_session(
            info.context.desk, viewer, parse_id(session_id, sent.named("sessionId"))
        )
        match outcome:
            case models.TroubleshootingSession():
                return results.ResolveSessionSuccess(session=Session.from_row(outcome))
            case failed:
                return failure(failed, session_id, named_at=sent.at("sessionId"))

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
    async def claim_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.ClaimHandoffInput | None, input_argument("The escalation to claim.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.ClaimHandoffResult:
        sent = given(info.field_name, input, inputs.ClaimHandoffInput, handoff_id=handoff_id)
        return await _on_handoff(info, claims.claim_handoff, sent, results.ClaimHandoffSuccess)

    @strawberry.mutation(description="Give a claimed escalation back to the queue.")
    async def release_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.ReleaseHandoffInput | None, input_argument("The escalation to give back.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.ReleaseHandoffResult:
        sent = given(info.field_name, input, inputs.ReleaseHandoffInput, handoff_id=handoff_id)
        return await _on_handoff(info, claims.release_handoff, sent, results.ReleaseHandoffSuccess)

    @strawberry.mutation(description="The caller opened the handoff: clear their unread mark.")
    async def mark_handoff_seen(
        self,
        info: Info,
        input: Annotated[
            inputs.MarkHandoffSeenInput | None, input_argument("The handoff the caller opened.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.MarkHandoffSeenResult:
        sent = given(info.field_name, input, inputs.MarkHandoffSeenInput, handoff_id=handoff_id)
        return await _on_handoff(
            info, queue.mark_handoff_seen, sent, results.MarkHandoffSeenSuccess
        )

    @strawberry.mutation(
        description="Resume one of the caller's parked sessions: the session is active again, "
        "the park is closed and stays in history (a RESUMED entry)."
    )
    async def resume_parked_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.ResumeParkedHandoffInput | None, input_argument("The park to resume.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.ResumeParkedHandoffResult:
        sent = given(info.field_name, input, inputs.ResumeParkedHandoffInput, handoff_id=handoff_id)
        return await _on_handoff(
            info, parks.resume_parked_handoff, sent, results.ResumeParkedHandoffSuccess
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
        input: Annotated[
            inputs.SetUserRoleInput | None, input_argument("The user, and their new role.")
        ] = None,
        user_id: OldUserId = None,
        role: Annotated[enums.Role | None, deprecated("Their new role.", "role")] = None,
    ) -> results.SetUserRoleResult:
        sent = given(info.field_name, input, inputs.SetUserRoleInput, user_id=user_id, role=role)
        user_id = sent.input.user_id
        viewer = await info.context.viewer()
        outcome = await accounts.set_user_role(
            info.context.desk,
            viewer,
            parse_id(user_id, sent.named("userId")),
            db_enums.Role(sent.input.role),
        )
        return _user_changed(outcome, results.SetUserRoleSuccess, user_id, sent.at("userId"))

    @strawberry.mutation(
        description="Admins only: the user can no longer log in, and their tokens stop working."
    )
    async def deactivate_user(
        self,
        info: Info,
        input: Annotated[
            inputs.DeactivateUserInput | None, input_argument("The user to deactivate.")
        ] = None,
        user_id: OldUserId = None,
    ) -> results.DeactivateUserResult:
        sent = given(info.field_name, input, inputs.DeactivateUserInput, user_id=user_id)
        user_id = sent.input.user_id
        viewer = await info.context.viewer()
        outcome = await accounts.deactivate_user(
            info.context.desk, viewer, parse_id(user_id, sent.named("userId"))
        )
        return _user_changed(outcome, results.DeactivateUserSuccess, user_id, sent.at("userId"))

    # --- an escalation's lifecycle after it is raised ---

    @strawberry.mutation(
        description="Take back an unclaimed escalation you raised (an admin may take back any): "
        "it leaves the queue, kept as history, and its session is its escalator's to work again. "
        "Of a withdrawal and a claim racing, exactly one wins; the other is told which."
    )
    async def withdraw_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.WithdrawHandoffInput | None, input_argument("The escalation to take back.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.WithdrawHandoffResult:
        sent = given(info.field_name, input, inputs.WithdrawHandoffInput, handoff_id=handoff_id)
        return await _on_handoff(
            info, lifecycle.withdraw_handoff, sent, results.WithdrawHandoffSuccess
        )

    @strawberry.mutation(
        description="Change an escalation's priority: its escalator, its claimer, or an admin."
    )
    async def set_handoff_priority(
        self,
        info: Info,
        input: Annotated[
            inputs.SetHandoffPriorityInput | None,
            input_argument("The escalation, and its new priority."),
        ] = None,
        handoff_id: OldHandoffId = None,
        priority: Annotated[
            enums.Priority | None, deprecated("Its new priority.", "priority")
        ] = None,
    ) -> results.SetHandoffPriorityResult:
        sent = given(
            info.field_name,
            input,
            inputs.SetHandoffPriorityInput,
            handoff_id=handoff_id,
            priority=priority,
        )
        handoff_id = sent.input.handoff_id
        viewer = await info.context.viewer()
        outcome = await lifecycle.set_handoff_priority(
            info.context.desk,
            viewer,
            parse_id(handoff_id, sent.named("handoffId")),
            db_enums.Priority(sent.input.priority),
        )
        return _handoff_changed(
            outcome, results.SetHandoffPrioritySuccess, handoff_id, sent.at("handoffId")
        )

    @strawberry.mutation(
        description="Hand a claimed escalation to a colleague (an active engineer or admin of "
        "the account): its claimer may, and so may an admin. The colleague holds it and works its "
        "session from now on, and is told (an email, and a TRANSFERRED event). Of a transfer and "
        "a release or another transfer racing, exactly one wins; the other is told what happened."
    )
    async def transfer_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.TransferHandoffInput | None,
            input_argument("The claimed escalation, and the colleague."),
        ] = None,
        handoff_id: OldHandoffId = None,
        to: Annotated[strawberry.ID | None, deprecated("The colleague's user id.", "to")] = None,
    ) -> results.TransferHandoffResult:
        sent = given(
            info.field_name, input, inputs.TransferHandoffInput, handoff_id=handoff_id, to=to
        )
        handoff_id, to = sent.input.handoff_id, sent.input.to
        viewer = await info.context.viewer()
        outcome = await lifecycle.transfer_handoff(
            info.context.desk,
            viewer,
            parse_id(handoff_id, sent.named("handoffId")),
            parse_id(to, sent.named("to")),
        )
        if isinstance(outcome, outcomes.NotFound) and outcome.what == "user":
            return results.UserNotFound(user_id=to, field=list(sent.at("to")))
        return _handoff_changed(
            outcome, results.TransferHandoffSuccess, handoff_id, sent.at("handoffId")
        )

    @strawberry.mutation(
        description="Admins only: whether the account's users may claim escalations they raised "
        "themselves. By default they may not: they withdraw them instead."
    )
    async def set_self_claim_allowed(
        self,
        info: Info,
        input: Annotated[
            inputs.SetSelfClaimAllowedInput | None, input_argument("Whether they may.")
        ] = None,
        allowed: Annotated[
            bool | None,
            deprecated("True: they may claim their own escalations.", "allowed"),
        ] = None,
    ) -> results.SetSelfClaimAllowedResult:
        sent = given(info.field_name, input, inputs.SetSelfClaimAllowedInput, allowed=allowed)
        viewer = await info.context.viewer()
        outcome = await accounts.set_self_claim_allowed(
            info.context.desk, viewer, sent.input.allowed
        )
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
        input: Annotated[
            inputs.SetNotesVisibleToViewersInput | None, input_argument("Whether they do.")
        ] = None,
        visible: Annotated[
            bool | None, deprecated("True: viewers read internal notes.", "visible")
        ] = None,
    ) -> results.SetNotesVisibleToViewersResult:
        sent = given(info.field_name, input, inputs.SetNotesVisibleToViewersInput, visible=visible)
        viewer = await info.context.viewer()
        outcome = await accounts.set_notes_visible_to_viewers(
            info.context.desk, viewer, sent.input.visible
        )
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
        input: Annotated[
            inputs.RateAssessmentInput | None, input_argument("The assessment, and the verdict.")
        ] = None,
        assessment_id: Annotated[
            strawberry.ID | None,
            deprecated("The assessment (Assessment.id).", "assessmentId"),
        ] = None,
        rating: Annotated[enums.Rating | None, deprecated("The verdict.", "rating")] = None,
        reason: Annotated[
            str | None,
            deprecated(f"Why (optional; at most {limits.RATING_REASON_MAX} characters).", "reason"),
        ] = None,
    ) -> results.RateAssessmentResult:
        sent = given(
            info.field_name,
            input,
            inputs.RateAssessmentInput,
            assessment_id=assessment_id,
            rating=rating,
            reason=reason,
        )
        assessment_id = sent.input.assessment_id
        viewer = await info.context.viewer()
        outcome = await assessments.rate_assessment(
            info.context.desk,
            viewer,
            parse_id(assessment_id, sent.named("assessmentId")),
            db_enums.Rating(sent.input.rating),
            sent.input.reason,
        )
        match outcome:
            case models.AssessmentVersion():
                return results.RateAssessmentSuccess(
                    handoff_id=outcome.handoff_id, assessment=Assessment.from_version(outcome)
                )
            case failed:
                return failure(failed, assessment_id, named_at=sent.at("assessmentId"))

    @strawberry.mutation(
        description="Engineers and admins: ask for a fresh assessment of an escalation (a job, "
        "as the first was). The assessor is given the notes and the seniors' ratings of the "
        "earlier ones; the escalation shows its earlier assessment until the new one lands ready, "
        "and keeps every one (Handoff.assessments). Asked while one is pending, nothing more is "
        "asked."
    )
    async def reassess_handoff(
        self,
        info: Info,
        input: Annotated[
            inputs.ReassessHandoffInput | None, input_argument("The escalation to assess afresh.")
        ] = None,
        handoff_id: OldHandoffId = None,
    ) -> results.ReassessHandoffResult:
        sent = given(info.field_name, input, inputs.ReassessHandoffInput, handoff_id=handoff_id)
        return await _on_handoff(
            info, assessments.reassess_handoff, sent, results.ReassessHandoffSuccess
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
        input: Annotated[
            inputs.MarkNotificationsReadInput | None, input_argument("Which to mark.")
        ] = None,
        ids: Annotated[
            list[strawberry.ID] | None,
            deprecated(
                f"The notifications to mark (Notification.id), at most {inbox.MARK_IDS_MAX}.",
                "ids",
            ),
        ] = None,
        all: Annotated[
            bool | None, deprecated("True: mark every one; ids is not read.", "all")
        ] = None,
    ) -> nt.MarkNotificationsReadSuccess:
        sent = given(info.field_name, input, inputs.MarkNotificationsReadInput, ids=ids, all=all)
        ids = sent.input.ids
        viewer = await info.context.viewer()
        numbers = None if ids is None else [_notification_id(i) for i in ids]
        count = await inbox.mark_read(info.context.desk, viewer, numbers, every=sent.input.all)
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


async def _on_handoff(info: Info, service, sent: Given[Any], success: type):
    """The shape of the mutations that act on one handoff, named by id (`input.handoffId`)."""
    handoff_id = sent.input.handoff_id
    viewer = await info.context.viewer()
    outcome = await service(
        info.context.desk, viewer, parse_id(handoff_id, sent.named("handoffId"))
    )
    return _handoff_changed(outcome, success, handoff_id, sent.at("handoffId"))


def _handoff_changed(
    outcome: models.Handoff | HandoffView | outcomes.Failure,
    success: type,
    subject_id: str,
    named_at: tuple[str, ...],
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


def _user_changed(
    outcome: models.User | outcomes.Failure,
    success: type,
    subject_id: str,
    named_at: tuple[str, ...] = (),
):
    """An admin mutation's answer: `success` with the user as it now is, or the failure's
    (`subject_id` the user id the caller named, `named_at` where they named it)."""
    match outcome:
        case models.User():
            return success(user=User.from_row(outcome))
        case failed:
            return failure(failed, subject_id, named_at=named_at)
