"""Mutation inputs."""

import strawberry

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
class AddUserInput:
    name: str
    email: str
    role: enums.Role
    password: str = strawberry.field(description="8 to 256 characters.")


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
