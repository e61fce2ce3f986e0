"""Mutation inputs, and the views' filters."""

import strawberry

from resolvers import views
from schema import enums


@strawberry.input
class StartSessionInput:
    intake_type: enums.IntakeType
    intake_content: str
    problem_summary: str


@strawberry.input
class AddSessionMessageInput:
    session_id: strawberry.ID
    role: enums.MessageRole
    content: str
    confidence_tier: enums.Confidence | None = strawberry.field(
        default=None, description="The assistant's confidence after this turn, if it changed."
    )


@strawberry.input
class CreateHandoffInput:
    session_id: strawberry.ID
    intent: enums.HandoffIntent
    engineer_notes: str = strawberry.field(
        default="",
        description="What was tried and why it is handed off; at most 10,000 characters.",
    )
    priority: enums.Priority = enums.Priority.NORMAL


@strawberry.input
class AddHandoffNoteInput:
    handoff_id: strawberry.ID
    body: str = strawberry.field(description="The note: 1 to 5,000 characters.")


@strawberry.input
class AddUserInput:
    name: str
    email: str
    role: enums.Role
    password: str = strawberry.field(description="8 to 256 characters.")


@strawberry.input(description="Which handoffs a view lists; each filter given narrows it.")
class HandoffFilter:
    claim: enums.ClaimFilter = enums.ClaimFilter.ANY
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
        "At most 200 characters and 20 words; blank: no search.",
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


@strawberry.input
class PriorityTimersInput:
    priority: enums.Priority
    overdue_after_minutes: int | None = None
    admins_after_minutes: int | None = None


@strawberry.input(
    description="What to change of the account's timers; what is left out (or null) stays as it "
    "is. Minutes are whole, from 1 to 43200 (30 days)."
)
class TimerSettingsInput:
    priorities: list[PriorityTimersInput] | None = strawberry.field(
        default=None, description="Each priority at most once."
    )
    nudge_after_minutes: int | None = None
    release_after_minutes: int | None = None
    release_idle_claims: bool | None = None
