"""Object types: thin views over rows. Related rows come through the request's DataLoaders."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import models
from schema import enums
from schema.context import Context

Info = strawberry.Info[Context, None]


@strawberry.type
class Account:
    id: strawberry.ID
    name: str

    @classmethod
    def from_row(cls, row: models.Account) -> Account:
        return cls(id=strawberry.ID(str(row.id)), name=row.name)


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    email: str
    role: enums.Role
    active: bool

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            email=row.email,
            role=enums.Role(row.role),
            active=row.active,
        )


async def _user(info: Info, user_id) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_row(row) if row else None


@strawberry.type
class Message:
    position: int
    role: enums.MessageRole
    content: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.SessionMessage) -> Message:
        return cls(
            position=row.position,
            role=enums.MessageRole(row.role),
            content=row.content,
            created_at=row.created_at,
        )

    @classmethod
    def from_snapshot(cls, item: dict) -> Message:
        return cls(
            position=item["position"],
            role=enums.MessageRole(item["role"]),
            content=item["content"],
            created_at=datetime.fromisoformat(item["created_at"]),
        )


@strawberry.type(description="The session as it stood when it was handed off.")
class SessionSnapshot:
    taken_at: datetime
    problem_summary: str
    intake_type: enums.IntakeType
    intake_content: str
    status: enums.SessionStatus
    confidence_tier: enums.Confidence | None
    handoff_count: int
    messages: list[Message]

    @classmethod
    def from_json(cls, data: dict) -> SessionSnapshot:
        tier = data.get("confidence_tier")
        return cls(
            taken_at=datetime.fromisoformat(data["taken_at"]),
            problem_summary=data["problem_summary"],
            intake_type=enums.IntakeType(data["intake_type"]),
            intake_content=data["intake_content"],
            status=enums.SessionStatus(data["status"]),
            confidence_tier=enums.Confidence(tier) if tier else None,
            handoff_count=data["handoff_count"],
            messages=[Message.from_snapshot(m) for m in data["messages"]],
        )


@strawberry.type(description="One turn of the conversation, as the escalation package records it.")
class ConversationStep:
    position: int
    role: enums.MessageRole
    excerpt: str


@strawberry.type(description="What a senior receives with an escalation.")
class EscalationPackage:
    handoff_id: strawberry.ID
    escalated_at: datetime
    snapshot: SessionSnapshot
    conversation_path: list[ConversationStep]

    @classmethod
    def from_json(cls, data: dict) -> EscalationPackage:
        return cls(
            handoff_id=strawberry.ID(data["handoff_id"]),
            escalated_at=datetime.fromisoformat(data["escalated_at"]),
            snapshot=SessionSnapshot.from_json(data["snapshot"]),
            conversation_path=[
                ConversationStep(
                    position=s["position"], role=enums.MessageRole(s["role"]), excerpt=s["excerpt"]
                )
                for s in data["conversation_path"]
            ],
        )


@strawberry.type(name="Session", description="A troubleshooting session.")
class Session:
    row: strawberry.Private[models.TroubleshootingSession]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def problem_summary(self) -> str:
        return self.row.problem_summary

    @strawberry.field
    def intake_type(self) -> enums.IntakeType:
        return enums.IntakeType(self.row.intake_type)

    @strawberry.field
    def intake_content(self) -> str:
        return self.row.intake_content

    @strawberry.field
    def status(self) -> enums.SessionStatus:
        return enums.SessionStatus(self.row.status)

    @strawberry.field
    def confidence_tier(self) -> enums.Confidence | None:
        tier = self.row.confidence_tier
        return enums.Confidence(tier) if tier else None

    @strawberry.field
    def handoff_count(self) -> int:
        return self.row.handoff_count

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field
    def escalation_package(self) -> EscalationPackage | None:
        package = self.row.escalation_package
        return EscalationPackage.from_json(package) if package else None

    @strawberry.field
    async def owner(self, info: Info) -> User:
        return await _user(info, self.row.owner_id)

    @strawberry.field(description="Who works the session now: its owner, or the claimer.")
    async def assignee(self, info: Info) -> User:
        return await _user(info, self.row.assignee_id)

    @strawberry.field
    async def messages(self, info: Info) -> list[Message]:
        rows = await info.context.loaders.messages.load(self.row.id)
        return [Message.from_row(m) for m in rows]

    @strawberry.field(description="Its escalations, and the caller's own park handoffs.")
    async def handoffs(self, info: Info) -> list[Handoff]:
        rows = await info.context.loaders.session_handoffs.load(self.row.id)
        return [Handoff(row=h) for h in rows]


@strawberry.type(description="The AI assessment of an escalation, produced after it commits.")
class Assessment:
    status: enums.AssessmentStatus
    summary: str | None
    likely_cause: str | None
    suggested_steps: list[str] = strawberry.field(
        description="Steps a client shows as one-click chips; empty until the assessment is ready."
    )
    confidence: enums.Confidence | None
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: models.Handoff) -> Assessment:
        confidence = row.assessment_confidence
        return cls(
            status=enums.AssessmentStatus(row.assessment_status),
            summary=row.assessment_summary,
            likely_cause=row.assessment_likely_cause,
            suggested_steps=list(row.assessment_suggested_steps or []),
            confidence=enums.Confidence(confidence) if confidence else None,
            updated_at=row.assessment_updated_at,
        )


@strawberry.type(description="One entry of an escalation's history: what happened, who, when.")
class HandoffEvent:
    row: strawberry.Private[models.AccountEvent]

    @strawberry.field(description="The event's sequence number in the account's event log.")
    def seq(self) -> int:
        return self.row.seq

    @strawberry.field
    def kind(self) -> enums.HandoffEventKind:
        return enums.HandoffEventKind(self.row.kind)

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        return await _user(info, self.row.actor_id)


@strawberry.type(description="A session handed off: parked (private) or escalated (team-wide).")
class Handoff:
    row: strawberry.Private[models.Handoff]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def intent(self) -> enums.HandoffIntent:
        return enums.HandoffIntent(self.row.intent)

    @strawberry.field
    def priority(self) -> enums.Priority:
        return enums.Priority(self.row.priority)

    @strawberry.field
    def engineer_notes(self) -> str:
        return self.row.engineer_notes

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def claimed_at(self) -> datetime | None:
        return self.row.claimed_at

    @strawberry.field
    def snapshot(self) -> SessionSnapshot:
        return SessionSnapshot.from_json(self.row.snapshot)

    @strawberry.field
    def assessment(self) -> Assessment:
        return Assessment.from_row(self.row)

    @strawberry.field
    async def session(self, info: Info) -> Session:
        return Session(row=await info.context.loaders.session.load(self.row.session_id))

    @strawberry.field
    async def created_by(self, info: Info) -> User:
        return await _user(info, self.row.created_by_id)

    @strawberry.field
    async def claimed_by(self, info: Info) -> User | None:
        return await _user(info, self.row.claimed_by_id)

    @strawberry.field(description="True until the caller opens (markHandoffSeen) or claims it.")
    async def unread(self, info: Info) -> bool:
        return not await info.context.loaders.seen.load(self.row.id)

    @strawberry.field(description="Escalated, assessed, claimed, released: who and when.")
    async def history(self, info: Info) -> list[HandoffEvent]:
        rows = await info.context.loaders.history.load(self.row.id)
        return [HandoffEvent(row=e) for e in rows]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class HandoffEdge:
    cursor: str
    node: Handoff


@strawberry.type
class HandoffConnection:
    edges: list[HandoffEdge]
    page_info: PageInfo
    unread_count: int = strawberry.field(
        description="Escalations in this queue (all pages) the caller has not opened or claimed."
    )
    total_count: int

    @strawberry.field
    def nodes(self) -> list[Handoff]:
        return [edge.node for edge in self.edges]
