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
