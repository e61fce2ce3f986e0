"""Mutation inputs (one per mutation, named after it), and the views' filters."""

import strawberry

from resolvers import inbox, limits, views
from schema import enums


@strawberry.input(description="A problem that reached the desk.")
class StartSessionInput:
    intake_type: enums.IntakeType = strawberry.field(description="How it reached the desk.")
    intake_content: str = strawberry.field(
        description="What came in: the chat, email, call notes, ticket or alert; 1 to "
        f"{limits.INTAKE_CONTENT_MAX:,} characters."
    )
    problem_summary: str = strawberry.field(
        description=f"The problem in a line; 1 to {limits.PROBLEM_SUMMARY_MAX:,} characters."
    )


@strawberry.input(description="A turn to add to a session's conversation.")
class AddSessionMessageInput:
    session_id: strawberry.ID = strawberry.field(
        description="The session: one the caller works, active or parked."
    )
    role: enums.MessageRole = strawberry.field(description="Who spoke.")
    content: str = strawberry.field(
        description=f"What was said; 1 to {limits.MESSAGE_MAX:,} characters."
    )
    confidence_tier: enums.Confidence | None = strawberry.field(
        default=None, description="The assistant's confidence after this turn, if it changed."
    )


@strawberry.input(description="A session to park or escalate.")
class CreateHandoffInput:
    session_id: strawberry.ID = strawberry.field(
        description="The session: one the caller works, active or parked."
    )
    intent: enums.HandoffIntent = strawberry.field(
        description="PARK (private) or ESCALATE (to the team's queue)."
    )
    engineer_notes: str = strawberry.field(
        default="",
        description="What was tried and why it is handed off; at most "
        f"{limits.ENGINEER_NOTES_MAX:,} characters.",
    )
    priority: enums.Priority = strawberry.field(
        default=enums.Priority.NORMAL, description="How soon it should be worked."
    )


@strawberry.input(description="An internal note to add to an escalation.")
class AddHandoffNoteInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation.")
    body: str = strawberry.field(description=f"The note: 1 to {limits.NOTE_MAX:,} characters.")


@strawberry.input(description="A user to add to the caller's account.")
class AddUserInput:
    name: str = strawberry.field(description=f"Their name; 1 to {limits.NAME_MAX} characters.")
    email: str = strawberry.field(
        description=f"Their email, to log in with: unused in the account, at most "
        f"{limits.EMAIL_MAX} characters."
    )
    role: enums.Role = strawberry.field(description="What they may do.")
    password: str = strawberry.field(
        description=f"{limits.PASSWORD_MIN} to {limits.PASSWORD_MAX} characters."
    )


@strawberry.input(description="Credentials to exchange for a bearer token.")
class LoginInput:
    email: str = strawberry.field(description="The user's email.")
    password: str = strawberry.field(description="Their password.")
    account_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The account to log in to, for an email that is a user of several (see "
        "AccountChoiceRequired). Another account answers InvalidCredentials.",
    )


@strawberry.input(description="The session to close for good.")
class ResolveSessionInput:
    session_id: strawberry.ID = strawberry.field(
        description="The session: one the caller works, active or parked."
    )


@strawberry.input(description="The escalation to claim.")
class ClaimHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation.")


@strawberry.input(description="The claimed escalation to give back to the queue.")
class ReleaseHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation the caller holds.")


@strawberry.input(description="The handoff the caller opened.")
class MarkHandoffSeenInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation or park.")


@strawberry.input(description="The park to resume.")
class ResumeParkedHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="One of the caller's parks.")


@strawberry.input(description="The user whose role changes, and the new role.")
class SetUserRoleInput:
    user_id: strawberry.ID = strawberry.field(description="A user of the caller's account.")
    role: enums.Role = strawberry.field(description="Their new role.")


@strawberry.input(description="The user to deactivate.")
class DeactivateUserInput:
    user_id: strawberry.ID = strawberry.field(description="A user of the caller's account.")


@strawberry.input(description="The escalation to take back.")
class WithdrawHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="An unclaimed escalation.")


@strawberry.input(description="The escalation, and its new priority.")
class SetHandoffPriorityInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation.")
    priority: enums.Priority = strawberry.field(description="Its new priority.")


@strawberry.input(description="The claimed escalation, and the colleague to hand it to.")
class TransferHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="The claimed escalation.")
    to: strawberry.ID = strawberry.field(description="The colleague's user id.")


@strawberry.input(description="Whether the account's users may claim their own escalations.")
class SetSelfClaimAllowedInput:
    allowed: bool = strawberry.field(description="True: they may claim their own escalations.")


@strawberry.input(description="Whether the account's viewers read its internal notes.")
class SetNotesVisibleToViewersInput:
    visible: bool = strawberry.field(description="True: viewers read internal notes.")


@strawberry.input(description="A verdict on an assessment that landed.")
class RateAssessmentInput:
    assessment_id: strawberry.ID = strawberry.field(description="The assessment (Assessment.id).")
    rating: enums.Rating = strawberry.field(description="The verdict.")
    reason: str | None = strawberry.field(
        default=None,
        description=f"Why (optional; at most {limits.RATING_REASON_MAX} characters).",
    )


@strawberry.input(description="The escalation to assess afresh.")
class ReassessHandoffInput:
    handoff_id: strawberry.ID = strawberry.field(description="The escalation.")


@strawberry.input(
    description="Which of the caller's notifications to mark read: every one (all: true), or "
    "those named; neither, none."
)
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"The notifications to mark (Notification.id), at most "
        f"{inbox.MARK_IDS_MAX}; others' or unknown ids change nothing.",
    )
    all: bool = strawberry.field(
        default=False, description="True: mark every one; ids is not read."
    )


@strawberry.input(description="Which handoffs a view lists; each filter given narrows it.")
class HandoffFilter:
    claim: enums.ClaimFilter = strawberry.field(
        default=enums.ClaimFilter.ANY, description="By who holds them (ANY: no matter)."
    )
    created_by_me: bool = strawberry.field(
        default=False, description="Only the caller's own escalations and parks."
    )
    priorities: list[enums.Priority] | None = strawberry.field(
        default=None, description="Any of these priorities (null: any; empty: none)."
    )
    intent: enums.HandoffIntent | None = strawberry.field(
        default=None,
        description="Escalations or parks (null: both). Parks are only ever the caller's own.",
    )
    status: enums.HandoffStatus | None = strawberry.field(
        default=None, description="Open or resolved (null: both)."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Words to find in the problem summary, the engineer's notes and the "
        "assessment (every word must match). PostgreSQL: full-text, English stemming, "
        '"phrases", or, -word. SQLite: each word as a substring, case-insensitive for ASCII. '
        f"At most {limits.SEARCH_MAX} characters and {limits.SEARCH_WORDS_MAX} words; blank: no "
        "search.",
    )

    still_parked: bool = strawberry.field(
        default=False,
        description="Only parks that still hold their session (what myParkedSessions lists: "
        "the caller's, paused, not handed off again): a park that was resumed, handed off "
        "again or resolved is left out.",
    )

    def to_domain(self) -> views.HandoffFilter:
        return views.HandoffFilter(
            claim=self.claim,
            created_by_me=self.created_by_me,
            priorities=None if self.priorities is None else frozenset(self.priorities),
            intent=self.intent,
            status=self.status,
            search=self.search,
            parked=self.still_parked,
        )


# --- timers (issue 14) ---


@strawberry.input(description="The timers of one priority to change (PriorityTimers).")
class PriorityTimersInput:
    priority: enums.Priority = strawberry.field(description="The priority these are for.")
    overdue_after_minutes: int | None = strawberry.field(
        default=None,
        description="Unclaimed this long after it entered the queue, an escalation is overdue; "
        "null: unchanged.",
    )
    admins_after_minutes: int | None = strawberry.field(
        default=None,
        description="Overdue and still unclaimed this much longer, the admins are told; null: "
        "unchanged.",
    )


@strawberry.input(
    description="What to change of the account's timers; what is left out (or null) stays as it "
    "is. Minutes are whole, from 1 to 43200 (30 days)."
)
class TimerSettingsInput:
    priorities: list[PriorityTimersInput] | None = strawberry.field(
        default=None, description="Each priority at most once."
    )
    nudge_after_minutes: int | None = strawberry.field(
        default=None,
        description="A claimer idle this long on a claimed escalation is nudged; null: unchanged.",
    )
    release_after_minutes: int | None = strawberry.field(
        default=None,
        description="Still idle this long after the nudge, the claim goes back to the queue (with "
        "releaseIdleClaims); null: unchanged.",
    )
    release_idle_claims: bool | None = strawberry.field(
        default=None,
        description="Whether an idle claim goes back to the queue after the nudge; null: "
        "unchanged.",
    )
