"""Object types: thin views over rows. Related rows come through the request's DataLoaders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from db import models
from resolvers import accounts, assessments, caps, limits, pages, sla
from resolvers.handoff_views import HandoffView, UserView
from resolvers.handoffs import conversation_path
from schema import enums
from schema.connections import Connection, PageInfo
from schema.context import Context
from schema.node import Node
from schema.sharing import PER_VIEWER, SHARED, per_viewer, shared

Info = strawberry.Info[Context, None]


class _Members(dict):
    """`Enum(value)` as a dict lookup, for the conversions that run for every row of a page. A
    StrEnum member hashes and compares as its value: a member and its stored string find the
    same entry."""

    def __init__(self, enum) -> None:
        super().__init__((member.value, member) for member in enum)
        self._enum = enum

    def __missing__(self, value):
        return self._enum(value)  # not one of its values: fails as Enum(value) does


_ROLE = _Members(enums.Role)
_MESSAGE_ROLE = _Members(enums.MessageRole)
_INTAKE_TYPE = _Members(enums.IntakeType)
_SESSION_STATUS = _Members(enums.SessionStatus)
_CONFIDENCE = _Members(enums.Confidence)
_ASSESSMENT_STATUS = _Members(enums.AssessmentStatus)
_HANDOFF_INTENT = _Members(enums.HandoffIntent)
_PRIORITY = _Members(enums.Priority)
_EVENT_KIND = _Members(enums.HandoffEventKind)
_RATING = _Members(enums.Rating)


@strawberry.type(description="A team's desk: its users, sessions and escalations; the caller's.")
class Account:
    id: strawberry.ID = strawberry.field(description="Its id (login's accountId).")
    name: str = strawberry.field(description="Its name.")
    allow_self_claim: bool = strawberry.field(
        description="Whether its users may claim escalations they raised themselves (if not, "
        "they withdraw them). An admin sets it: setSelfClaimAllowed."
    )
    notes_visible_to_viewers: bool = strawberry.field(
        description="Whether its viewers read the internal notes on its escalations (engineers "
        "and admins always do). On unless an admin turns it off: setNotesVisibleToViewers."
    )

    @classmethod
    def from_row(cls, row: models.Account) -> Account:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            allow_self_claim=row.allow_self_claim,
            notes_visible_to_viewers=row.notes_visible_to_viewers,
        )


@strawberry.type(description="A user of the account.")
class User(Node):
    id: strawberry.ID = shared(description="Their id.")
    name: str = shared(description=f"Their name (at most {limits.NAME_MAX} characters).")
    email: str = shared(
        description=f"Their email, unique in the account (at most {limits.EMAIL_MAX} characters)."
    )
    role: enums.Role = shared(description="What they may do.")
    active: bool = shared(
        description="False once deactivated: they can no longer log in (deactivateUser)."
    )

    @classmethod
    def from_row(cls, row: models.User | UserView) -> User:
        """From a user row or a UserView (they share these attributes)."""
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            email=row.email,
            role=_ROLE[row.role],
            active=row.active,
        )


async def _user(info: Info, user_id) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_row(row) if row else None


@strawberry.type(description="A turn of a session's conversation.")
class Message:
    position: int = shared(
        description="Its place in the conversation: 1, 2, 3… in order, never two at one place "
        "(sessionMessages' `after`)."
    )
    role: enums.MessageRole = shared(description="Who spoke.")
    content: str = shared(description=f"What was said (at most {limits.MESSAGE_MAX:,} characters).")
    created_at: datetime = shared(description="When it was added.")

    @classmethod
    def from_row(cls, row: models.SessionMessage) -> Message:
        return cls(
            position=row.position,
            role=_MESSAGE_ROLE[row.role],
            content=row.content,
            created_at=row.created_at,
        )


_FIRST = "At most this many from the start ({default} unless given; at most {maximum})."
_LAST = "Instead of first: the last this many, still in order (at most {maximum})."


def _first(cap: caps.Cap):
    return strawberry.argument(description=_FIRST.format(**vars(cap)))


def _last(cap: caps.Cap):
    return strawberry.argument(description=_LAST.format(**vars(cap)))


MessagesFirst = Annotated[int | None, _first(caps.MESSAGES)]
MessagesLast = Annotated[int | None, _last(caps.MESSAGES)]
HandoffsFirst = Annotated[int | None, _first(caps.HANDOFFS)]
HistoryFirst = Annotated[int | None, _first(caps.HISTORY)]
HistoryLast = Annotated[int | None, _last(caps.HISTORY)]
NotesFirst = Annotated[int | None, _first(caps.NOTES)]
NotesLast = Annotated[int | None, _last(caps.NOTES)]
AssessmentsFirst = Annotated[int | None, _first(caps.ASSESSMENTS)]

# Connections (Relay): first and after, or last and before.
_PAGE_FIRST = (
    "At most this many from the start, or after `after` ({default} unless given; at most "
    "{maximum})."
)
_PAGE_LAST = (
    "Instead of first: the last this many, or those just before `before`, still in order (at "
    "most {maximum})."
)
PageAfter = Annotated[
    str | None,
    strawberry.argument(description="The endCursor of a page: the page after it (with first)."),
]
PageBefore = Annotated[
    str | None,
    strawberry.argument(description="The startCursor of a page: the page before it (with last)."),
]


def page_first(cap: caps.Cap):
    return strawberry.argument(description=_PAGE_FIRST.format(**vars(cap)))


def page_last(cap: caps.Cap):
    return strawberry.argument(description=_PAGE_LAST.format(**vars(cap)))


def deprecated_for(connection: str) -> str:
    return f"Use {connection}: the same list in pages, with cursors (Relay's connections)."


# Each list's cursors: its kind, and the item's key.
MESSAGES_CURSOR = "messages"
HISTORY_CURSOR = "history"
NOTES_CURSOR = "notes"
MessagesPageFirst = Annotated[int | None, page_first(caps.MESSAGES)]
MessagesPageLast = Annotated[int | None, page_last(caps.MESSAGES)]
HistoryPageFirst = Annotated[int | None, page_first(caps.HISTORY)]
HistoryPageLast = Annotated[int | None, page_last(caps.HISTORY)]
SESSION_HANDOFFS_CURSOR = "sessionHandoffs"
HandoffsPageFirst = Annotated[int | None, page_first(caps.HANDOFFS)]
HandoffsPageLast = Annotated[int | None, page_last(caps.HANDOFFS)]
NotesPageFirst = Annotated[int | None, page_first(caps.NOTES)]
NotesPageLast = Annotated[int | None, page_last(caps.NOTES)]
AssessmentsLast = Annotated[int | None, _last(caps.ASSESSMENTS)]


async def _snapshot_messages(
    info: Info, handoff_id: uuid.UUID, first: int | None, last: int | None
) -> list:
    """The handoff's snapshot of the conversation, in the window `first` or `last` asks for."""
    window = caps.window(caps.MESSAGES, first, last)
    return await info.context.loaders.snapshot_messages.load((handoff_id, window))


# A session's fields, and its snapshot's.
_PROBLEM_SUMMARY = f"The problem in a line (at most {limits.PROBLEM_SUMMARY_MAX} characters)."
_INTAKE_TYPE_DESCRIPTION = "How the problem reached the desk."
_INTAKE_CONTENT = (
    f"What came in: the chat, email, call notes, ticket or alert (at most "
    f"{limits.INTAKE_CONTENT_MAX:,} characters)."
)
_STATUS = "Where the session stands."
_CONFIDENCE_TIER = "The assistant's confidence, as last given (addSessionMessage); null: none yet."
_HANDOFF_COUNT = "How many times it was handed off (parked or escalated)."


@strawberry.type(description="The session as it stood when it was handed off.")
class SessionSnapshot:
    taken_at: datetime = shared(description="When it was handed off.")
    problem_summary: str = shared(description=_PROBLEM_SUMMARY)
    intake_type: enums.IntakeType = shared(description=_INTAKE_TYPE_DESCRIPTION)
    intake_content: str = shared(description=_INTAKE_CONTENT)
    status: enums.SessionStatus = shared(description=_STATUS)
    confidence_tier: enums.Confidence | None = shared(description=_CONFIDENCE_TIER)
    handoff_count: int = shared(description=_HANDOFF_COUNT)
    handoff_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_json(cls, handoff_id: uuid.UUID, data: dict) -> SessionSnapshot:
        tier = data.get("confidence_tier")
        return cls(
            taken_at=datetime.fromisoformat(data["taken_at"]),
            problem_summary=data["problem_summary"],
            intake_type=_INTAKE_TYPE[data["intake_type"]],
            intake_content=data["intake_content"],
            status=_SESSION_STATUS[data["status"]],
            confidence_tier=_CONFIDENCE[tier] if tier else None,
            handoff_count=data["handoff_count"],
            handoff_id=handoff_id,
        )

    @strawberry.field(
        description="The conversation up to the handoff, oldest first.", metadata=SHARED
    )
    async def messages(
        self, info: Info, first: MessagesFirst = None, last: MessagesLast = None
    ) -> list[Message]:
        rows = await _snapshot_messages(info, self.handoff_id, first, last)
        return [Message.from_row(m) for m in rows]


async def _snapshot(info: Info, handoff_id: uuid.UUID) -> SessionSnapshot:
    data = await info.context.loaders.snapshot.load(handoff_id)
    return SessionSnapshot.from_json(handoff_id, data)


@strawberry.type(description="One turn of the conversation, as the escalation package records it.")
class ConversationStep:
    position: int = shared(description="The message's position (Message.position).")
    role: enums.MessageRole = shared(description="Who spoke.")
    excerpt: str = shared(
        description="The message's opening line, shortened (ending in …) if it is long."
    )


@strawberry.type(description="What a senior receives with an escalation.")
class EscalationPackage:
    handoff_id: strawberry.ID = shared(description="The escalation it came with.")
    escalated_at: datetime = shared(description="When the session was escalated.")
    escalation_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_json(cls, data: dict) -> EscalationPackage:
        return cls(
            handoff_id=strawberry.ID(data["handoff_id"]),
            escalated_at=datetime.fromisoformat(data["escalated_at"]),
            escalation_id=uuid.UUID(data["handoff_id"]),
        )

    @strawberry.field(description="The session as it stood when it was escalated.", metadata=SHARED)
    async def snapshot(self, info: Info) -> SessionSnapshot:
        return await _snapshot(info, self.escalation_id)

    @strawberry.field(
        description="Each turn of the snapshot's conversation, oldest first.", metadata=SHARED
    )
    async def conversation_path(
        self, info: Info, first: MessagesFirst = None, last: MessagesLast = None
    ) -> list[ConversationStep]:
        rows = await _snapshot_messages(info, self.escalation_id, first, last)
        return [
            ConversationStep(
                position=s["position"], role=_MESSAGE_ROLE[s["role"]], excerpt=s["excerpt"]
            )
            for s in conversation_path(rows)
        ]


@strawberry.type(name="Session", description="A troubleshooting session.")
class Session(Node):
    id: strawberry.ID = shared(description="Its id.")
    problem_summary: str = shared(description=_PROBLEM_SUMMARY)
    intake_type: enums.IntakeType = shared(description=_INTAKE_TYPE_DESCRIPTION)
    intake_content: str = shared(description=_INTAKE_CONTENT)
    status: enums.SessionStatus = shared(description=_STATUS)
    confidence_tier: enums.Confidence | None = shared(description=_CONFIDENCE_TIER)
    handoff_count: int = shared(description=_HANDOFF_COUNT)
    created_at: datetime = shared(description="When it was started.")
    updated_at: datetime = shared(
        description="When it last changed (a message, a handoff, a claim, its status)."
    )
    session_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID]
    assignee_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row) -> Session:
        """From a session row or a SessionView (they share these attributes)."""
        tier = row.confidence_tier
        return cls(
            id=strawberry.ID(str(row.id)),
            problem_summary=row.problem_summary,
            intake_type=_INTAKE_TYPE[row.intake_type],
            intake_content=row.intake_content,
            status=_SESSION_STATUS[row.status],
            confidence_tier=_CONFIDENCE[tier] if tier else None,
            handoff_count=row.handoff_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
            session_id=row.id,
            owner_id=row.owner_id,
            assignee_id=row.assignee_id,
        )

    @strawberry.field(
        description="What the team received with its latest escalation; null if it was never "
        "escalated.",
        metadata=PER_VIEWER,
    )
    async def escalation_package(self, info: Info) -> EscalationPackage | None:
        package = await info.context.loaders.escalation_package.load(self.session_id)
        return EscalationPackage.from_json(package) if package else None

    @strawberry.field(description="Who started it.", metadata=SHARED)
    async def owner(self, info: Info) -> User:
        owner = await _user(info, self.owner_id)
        assert owner is not None  # a session's users are users of its account
        return owner

    @strawberry.field(
        description="Who works the session now: its owner, or the claimer.", metadata=SHARED
    )
    async def assignee(self, info: Info) -> User:
        assignee = await _user(info, self.assignee_id)
        assert assignee is not None  # a session's users are users of its account
        return assignee

    @strawberry.field(
        description="The conversation, oldest first.",
        metadata=SHARED,
        deprecation_reason=deprecated_for("messagesConnection"),
    )
    async def messages(
        self, info: Info, first: MessagesFirst = None, last: MessagesLast = None
    ) -> list[Message]:
        window = caps.window(caps.MESSAGES, first, last)
        rows = await info.context.loaders.messages.load((self.session_id, window))
        return [Message.from_row(m) for m in rows]

    @strawberry.field(
        description="The conversation, oldest first, a page at a time.", metadata=SHARED
    )
    async def messages_connection(
        self,
        info: Info,
        first: MessagesPageFirst = None,
        after: PageAfter = None,
        last: MessagesPageLast = None,
        before: PageBefore = None,
    ) -> Connection[Message]:
        ask = pages.ask(
            caps.MESSAGES,
            MESSAGES_CURSOR,
            pages.position,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        page = await info.context.loaders.message_pages.load((self.session_id, ask))
        return Connection.of(
            page, Message.from_row, lambda m: pages.encode(MESSAGES_CURSOR, m.position)
        )

    @strawberry.field(
        description="Its escalations, and the caller's own park handoffs, oldest first.",
        metadata=PER_VIEWER,
        deprecation_reason=deprecated_for("handoffsConnection"),
    )
    async def handoffs(self, info: Info, first: HandoffsFirst = None) -> list[Handoff]:
        window = caps.window(caps.HANDOFFS, first)
        views = await info.context.loaders.session_handoffs.load((self.session_id, window))
        return [Handoff.from_view(v) for v in views]

    @strawberry.field(
        description="Its escalations, and the caller's own park handoffs (as `handoffs` lists "
        "them), oldest first, a page at a time.",
        metadata=PER_VIEWER,
    )
    async def handoffs_connection(
        self,
        info: Info,
        first: HandoffsPageFirst = None,
        after: PageAfter = None,
        last: HandoffsPageLast = None,
        before: PageBefore = None,
    ) -> SessionHandoffConnection:
        ask = pages.ask(
            caps.HANDOFFS,
            SESSION_HANDOFFS_CURSOR,
            pages.row_id,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        page = await info.context.loaders.session_handoff_pages.load((self.session_id, ask))
        edges = [
            HandoffEdge(
                cursor=pages.encode(SESSION_HANDOFFS_CURSOR, v.id), node=Handoff.from_view(v)
            )
            for v in page.items
        ]
        return SessionHandoffConnection(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges], page.has_next_page, page.has_previous_page
            ),
        )


@strawberry.type(
    description="A senior's rating of an assessment: one per user, rating again replaces it."
)
class AssessmentRating:
    rating: enums.Rating = shared(description="The verdict.")
    reason: str | None = shared(
        description=f"Why, if they said (at most {limits.RATING_REASON_MAX} characters)."
    )
    rated_at: datetime = shared(description="When they rated it (last, if they rated again).")
    user_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: models.AssessmentRating) -> AssessmentRating:
        return cls(
            rating=_RATING[row.rating],
            reason=row.reason,
            rated_at=row.rated_at,
            user_id=row.user_id,
        )

    @strawberry.field(description="The senior who rated it.", metadata=SHARED)
    async def rated_by(self, info: Info) -> User:
        user = await _user(info, self.user_id)
        assert user is not None  # a rating's user is a user of its account
        return user


@strawberry.type(
    description="An AI assessment of an escalation: its first, made after it was escalated, or a "
    "fresh one a senior asked for (reassessHandoff)."
)
class Assessment:
    status: enums.AssessmentStatus = shared(description="Whether it landed, and how.")
    summary: str | None = shared(
        description="What the assessor makes of the problem; null until it is ready."
    )
    likely_cause: str | None = shared(
        description="The cause it thinks most likely; null until it is ready."
    )
    suggested_steps: list[str] = shared(
        description="Steps a client shows as one-click chips; empty until the assessment is ready."
    )
    confidence: enums.Confidence | None = shared(
        description="How sure the assessor is; null until it is ready."
    )
    updated_at: datetime | None = shared(description="When it landed (ready or failed).")
    number: int | None = shared(
        description="Which of the escalation's assessments it is: 1, made after it was "
        "escalated; 2 on, those asked for since, in order. Null for a park (never assessed)."
    )
    handoff_id: strawberry.Private[uuid.UUID]
    version: strawberry.Private[models.AssessmentVersion | None] = None

    @classmethod
    def from_row(cls, row: HandoffView | models.Handoff) -> Assessment:
        """The one a handoff shows, from its row or view (they share these attributes)."""
        confidence = row.assessment_confidence
        return cls(
            status=_ASSESSMENT_STATUS[row.assessment_status],
            summary=row.assessment_summary,
            likely_cause=row.assessment_likely_cause,
            suggested_steps=list(row.assessment_suggested_steps or []),
            confidence=_CONFIDENCE[confidence] if confidence else None,
            updated_at=row.assessment_updated_at,
            number=row.assessment_number or None,
            handoff_id=row.id,
        )

    @classmethod
    def from_version(cls, row: models.AssessmentVersion) -> Assessment:
        confidence = row.confidence
        return cls(
            status=_ASSESSMENT_STATUS[row.status],
            summary=row.summary,
            likely_cause=row.likely_cause,
            suggested_steps=list(row.suggested_steps or []),
            confidence=_CONFIDENCE[confidence] if confidence else None,
            updated_at=row.landed_at,
            number=row.number,
            handoff_id=row.handoff_id,
            version=row,
        )

    async def _version(self, info: Info) -> models.AssessmentVersion | None:
        if self.version is not None or self.number is None:
            return self.version
        versions = await info.context.loaders.assessments.load(self.handoff_id)
        return next((v for v in versions if v.number == self.number), None)

    @strawberry.field(
        description="Rate it with rateAssessment. Null for a park's (never assessed).",
        metadata=SHARED,
    )
    async def id(self, info: Info) -> strawberry.ID | None:
        version = await self._version(info)
        return strawberry.ID(str(version.id)) if version else None

    @strawberry.field(
        description="Which assessor made it (HANDOFF_ASSESSOR: rules or openai); null until it "
        "lands, and for those made before the desk recorded it.",
        metadata=SHARED,
    )
    async def assessor(self, info: Info) -> str | None:
        version = await self._version(info)
        return version.assessor if version else None

    @strawberry.field(
        description="Who asked for it: null for the first (the escalation asked).",
        metadata=SHARED,
    )
    async def requested_by(self, info: Info) -> User | None:
        version = await self._version(info)
        return await _user(info, version.requested_by_id) if version else None

    @strawberry.field(description="When it was asked for.", metadata=SHARED)
    async def requested_at(self, info: Info) -> datetime | None:
        version = await self._version(info)
        return version.requested_at if version else None

    @strawberry.field(
        description="The seniors' ratings of it, oldest first: one per user at most.",
        metadata=SHARED,
    )
    async def ratings(self, info: Info) -> list[AssessmentRating]:
        return [AssessmentRating.from_row(r) for r in await self._ratings(info)]

    @strawberry.field(description="The caller's own rating of it, if any.", metadata=PER_VIEWER)
    async def my_rating(self, info: Info) -> AssessmentRating | None:
        viewer = await info.context.viewer()
        mine = [r for r in await self._ratings(info) if r.user_id == viewer.user_id]
        return AssessmentRating.from_row(mine[0]) if mine else None

    async def _ratings(self, info: Info) -> list[models.AssessmentRating]:
        version = await self._version(info)
        return await info.context.loaders.ratings.load(version.id) if version else []


@strawberry.type(
    description="An internal note on an escalation, by one of the account's engineers or admins: "
    "read by them, and by its viewers unless the account says not (notesVisibleToViewers)."
)
class HandoffNote:
    id: strawberry.ID = shared(description="Its id.")
    body: str = shared(description=f"The note (at most {limits.NOTE_MAX:,} characters).")
    created_at: datetime = shared(description="When it was added.")
    handoff_id: strawberry.ID = shared(description="The escalation it is on.")
    author_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: models.HandoffNote) -> HandoffNote:
        return cls(
            id=strawberry.ID(str(row.id)),
            body=row.body,
            created_at=row.created_at,
            handoff_id=strawberry.ID(str(row.handoff_id)),
            author_id=row.author_id,
        )

    @strawberry.field(description="Who wrote it.", metadata=SHARED)
    async def author(self, info: Info) -> User:
        author = await _user(info, self.author_id)
        assert author is not None  # a note's author is a user of its account
        return author


@strawberry.type(description="One entry of an escalation's history: what happened, who, when.")
class HandoffEvent:
    row: strawberry.Private[models.AccountEvent]

    @strawberry.field(
        description="The event's sequence number in the account's event log.", metadata=SHARED
    )
    def seq(self) -> int:
        return self.row.seq

    @strawberry.field(description="What happened.", metadata=SHARED)
    def kind(self) -> enums.HandoffEventKind:
        return _EVENT_KIND[self.row.kind]

    @strawberry.field(description="When it happened.", metadata=SHARED)
    def occurred_at(self) -> datetime:
        return self.row.occurred_at

    @strawberry.field(
        description="Who did it; null when the desk did (its timers).", metadata=SHARED
    )
    async def actor(self, info: Info) -> User | None:
        return await _user(info, self.row.actor_id)

    @strawberry.field(description="TRANSFERRED: the colleague it was handed to.", metadata=SHARED)
    async def to(self, info: Info) -> User | None:
        return await _user(info, self.row.to_user_id)

    @strawberry.field(description="PRIORITY_CHANGED: the priority it was given.", metadata=SHARED)
    def priority(self) -> enums.Priority | None:
        return _PRIORITY[self.row.priority] if self.row.priority else None

    @strawberry.field(description="PRIORITY_CHANGED: the priority it had.", metadata=SHARED)
    def previous_priority(self) -> enums.Priority | None:
        previous = self.row.previous_priority
        return _PRIORITY[previous] if previous else None

    @strawberry.field(
        description="Why, where the desk says: IDLE on a release it made itself.", metadata=SHARED
    )
    def reason(self) -> enums.HandoffEventReason | None:
        return event_reason(self.row)

    @strawberry.field(description="NOTE_ADDED: the note.", metadata=SHARED)
    async def note(self, info: Info) -> HandoffNote | None:
        if self.row.note_id is None:
            return None
        row = await info.context.loaders.note.load(self.row.note_id)
        return HandoffNote.from_row(row) if row else None


@strawberry.type(description="A session handed off: parked (private) or escalated (team-wide).")
class Handoff(Node):
    id: strawberry.ID = shared(description="Its id.")
    intent: enums.HandoffIntent = shared(description="A park or an escalation.")
    priority: enums.Priority = shared(description="How soon it should be worked, as it is now.")
    engineer_notes: str = shared(
        description="What its engineer tried and why they handed it off (at most "
        f"{limits.ENGINEER_NOTES_MAX:,} characters; may be empty)."
    )
    created_at: datetime = shared(description="When it was handed off.")
    claimed_at: datetime | None = shared(
        description="When its current claimer claimed it (or was handed it); null while unclaimed."
    )
    assessment: Assessment = shared(
        description="The AI assessment it shows: the first, until a fresh one (reassessHandoff) "
        "lands ready. A park's is never made (its number and id are null)."
    )
    session: Session = shared(description="Its session, as it is now.")
    created_by: User = shared(description="Who handed it off: its escalator, or the parker.")
    claimed_by: User | None = shared(description="Who holds it now; null while unclaimed.")
    withdrawn_at: datetime | None = shared(
        description="When its escalator (or an admin) took it back, unclaimed: it left the "
        "queue then. Null while it stands."
    )
    unread: bool = per_viewer(
        description="True until the caller opens (markHandoffSeen) or claims it."
    )
    handoff_id: strawberry.Private[uuid.UUID]
    withdrawn_by_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_view(cls, view: HandoffView) -> Handoff:
        return cls(
            id=strawberry.ID(str(view.id)),
            intent=_HANDOFF_INTENT[view.intent],
            priority=_PRIORITY[view.priority],
            engineer_notes=view.engineer_notes,
            created_at=view.created_at,
            claimed_at=view.claimed_at,
            assessment=Assessment.from_row(view),
            session=Session.from_row(view.session),
            created_by=User.from_row(view.created_by),
            claimed_by=User.from_row(view.claimed_by) if view.claimed_by else None,
            withdrawn_at=view.withdrawn_at,
            unread=view.unread,
            handoff_id=view.id,
            withdrawn_by_id=view.withdrawn_by_id,
        )

    @strawberry.field(description="Who withdrew it, if it was withdrawn.", metadata=SHARED)
    async def withdrawn_by(self, info: Info) -> User | None:
        return await _user(info, self.withdrawn_by_id)

    @strawberry.field(
        description="The session as it stood when it was handed off.", metadata=SHARED
    )
    async def snapshot(self, info: Info) -> SessionSnapshot:
        return await _snapshot(info, self.handoff_id)

    @strawberry.field(
        description="Escalated, assessed, claimed, released, withdrawn, re-prioritised, "
        "transferred, reassessment asked, a note added (for those who read notes): who and "
        "when, oldest first.",
        metadata=SHARED,
        deprecation_reason=deprecated_for("historyConnection"),
    )
    async def history(
        self, info: Info, first: HistoryFirst = None, last: HistoryLast = None
    ) -> list[HandoffEvent]:
        window = caps.window(caps.HISTORY, first, last)
        rows = await info.context.loaders.history.load((self.handoff_id, window))
        return [HandoffEvent(row=e) for e in rows]

    @strawberry.field(
        description="Its history (as `history` lists it), oldest first, a page at a time.",
        metadata=SHARED,
    )
    async def history_connection(
        self,
        info: Info,
        first: HistoryPageFirst = None,
        after: PageAfter = None,
        last: HistoryPageLast = None,
        before: PageBefore = None,
    ) -> Connection[HandoffEvent]:
        ask = pages.ask(
            caps.HISTORY,
            HISTORY_CURSOR,
            pages.position,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        page = await info.context.loaders.history_pages.load((self.handoff_id, ask))
        return Connection.of(
            page, lambda e: HandoffEvent(row=e), lambda e: pages.encode(HISTORY_CURSOR, e.seq)
        )

    @strawberry.field(
        description="Its internal notes, oldest first: empty for a viewer when the account keeps "
        "notes from viewers (Account.notesVisibleToViewers). addHandoffNote adds one.",
        metadata=SHARED,
        deprecation_reason=deprecated_for("notesConnection"),
    )
    async def notes(
        self, info: Info, first: NotesFirst = None, last: NotesLast = None
    ) -> list[HandoffNote]:
        window = caps.window(caps.NOTES, first, last)
        rows = await info.context.loaders.notes.load((self.handoff_id, window))
        return [HandoffNote.from_row(n) for n in rows]

    @strawberry.field(
        description="Its internal notes (as `notes` lists them), oldest first, a page at a time.",
        metadata=SHARED,
    )
    async def notes_connection(
        self,
        info: Info,
        first: NotesPageFirst = None,
        after: PageAfter = None,
        last: NotesPageLast = None,
        before: PageBefore = None,
    ) -> Connection[HandoffNote]:
        ask = pages.ask(
            caps.NOTES,
            NOTES_CURSOR,
            pages.row_id,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        page = await info.context.loaders.note_pages.load((self.handoff_id, ask))
        return Connection.of(page, HandoffNote.from_row, lambda n: pages.encode(NOTES_CURSOR, n.id))

    # Feedback on the AI (issue 15).
    @strawberry.field(
        description="Every assessment asked of it, oldest first: the first, then each fresh one "
        "a senior asked for, with who asked, when, what it said and how it was rated. "
        "`assessment` is the one it shows.",
        metadata=SHARED,
    )
    async def assessments(
        self, info: Info, first: AssessmentsFirst = None, last: AssessmentsLast = None
    ) -> list[Assessment]:
        window = caps.window(caps.ASSESSMENTS, first, last)
        versions = await info.context.loaders.assessments.load(self.handoff_id)
        return [Assessment.from_version(v) for v in window.pick(versions)]

    @strawberry.field(
        description="A fresh assessment a senior asked for (reassessHandoff) that has not landed "
        "yet; null when none is on its way. `assessment` stays the earlier one until it lands "
        "ready (and if it fails).",
        metadata=SHARED,
    )
    async def reassessment(self, info: Info) -> Assessment | None:
        versions = await info.context.loaders.assessments.load(self.handoff_id)
        pending = assessments.reassessment(versions, shown=self.assessment.number or 0)
        return Assessment.from_version(pending) if pending else None

    # Timers (issue 14): what the escalation's timer last found (within the workers' poll
    # interval of its due time), the same for every caller.
    @strawberry.field(
        description="When its current (or last) wait in the queue falls due: unclaimed by then, "
        "it is overdue. Null for a park.",
        metadata=SHARED,
    )
    async def due_at(self, info: Info) -> datetime | None:
        timer = await info.context.loaders.handoff_timer.load(self.handoff_id)
        return timer.due_at if timer is not None else None

    @strawberry.field(
        description="Unclaimed past dueAt: slaState OVERDUE or ADMINS_ALERTED.", metadata=SHARED
    )
    async def overdue(self, info: Info) -> bool:
        return await self._sla_state(info) in sla.OVERDUE_STATES

    @strawberry.field(
        description="Where it stands against dueAt. Null for a park, and for an escalation that "
        "left the queue unclaimed.",
        metadata=SHARED,
    )
    async def sla_state(self, info: Info) -> enums.SlaState | None:
        return await self._sla_state(info)

    async def _sla_state(self, info: Info) -> sla.SlaState | None:
        timer = await info.context.loaders.handoff_timer.load(self.handoff_id)
        return sla.sla_state(timer, claimed_at=self.claimed_at, session_status=self.session.status)


async def handoff_by_id(info: Info, handoff_id: uuid.UUID) -> Handoff:
    """A handoff as the caller sees it now (after a mutation committed, or an event)."""
    view = await info.context.loaders.handoff_view.load(handoff_id)
    assert view is not None  # the mutation just acted on it, on the caller's behalf
    return Handoff.from_view(view)


@strawberry.type(description="A handoff in a page, with its place.")
class HandoffEdge:
    cursor: str = shared(description="Its place: `after` this, the page after it.")
    node: Handoff = shared(description="The handoff.")


@strawberry.type(description="A page of handoffs.")
class HandoffConnection:
    edges: list[HandoffEdge] = strawberry.field(description="The page, in order, with cursors.")
    page_info: PageInfo = strawberry.field(description="Where the page stands.")
    unread_count: int = strawberry.field(
        description="Of these (all pages), how many the caller has not opened or claimed."
    )
    total_count: int = strawberry.field(description="How many there are, on all pages.")

    @strawberry.field(description="The page's handoffs, in order (edges without cursors).")
    def nodes(self) -> list[Handoff]:
        return [edge.node for edge in self.edges]


@strawberry.type(
    description="A page of a session's handoffs (Session.handoffsConnection): `first` (after a "
    "cursor) or the `last` (before one), oldest first either way."
)
class SessionHandoffConnection:
    edges: list[HandoffEdge] = per_viewer(description="The page, in order, with cursors.")
    page_info: PageInfo = per_viewer(description="Where the page stands.")

    @strawberry.field(
        description="The page's handoffs, in order (edges without cursors).", metadata=PER_VIEWER
    )
    def nodes(self) -> list[Handoff]:
        return [edge.node for edge in self.edges]


# --- timers (issue 14) ---


def event_reason(row: models.AccountEvent) -> enums.HandoffEventReason | None:
    return enums.HandoffEventReason(row.reason) if row.reason else None


@strawberry.type(description="How long escalations of one priority may wait unclaimed.")
class PriorityTimers:
    priority: enums.Priority = strawberry.field(description="The priority these are for.")
    overdue_after_minutes: int = strawberry.field(
        description="Unclaimed this long after it entered the queue (escalated, or released "
        "back), an escalation is overdue: the team is told again."
    )
    admins_after_minutes: int = strawberry.field(
        description="Overdue and still unclaimed this much longer, the account's admins are told."
    )


@strawberry.type(description="The account's timers. Admins change them with setTimerSettings.")
class TimerSettings:
    priorities: list[PriorityTimers] = strawberry.field(description="Urgent first.")
    nudge_after_minutes: int = strawberry.field(
        description="A claimer who did nothing on a claimed escalation (a message, a status "
        "change) this long is nudged."
    )
    release_after_minutes: int = strawberry.field(
        description="Nothing still, this long after the nudge, the escalation goes back to the "
        "queue (with releaseIdleClaims)."
    )
    release_idle_claims: bool = strawberry.field(
        description="Whether an idle claim goes back to the queue after the nudge; false: the "
        "nudge only."
    )

    @strawberry.field(description="The account these are the timers of: the caller's.")
    async def account(self, info: Info) -> Account:
        viewer = await info.context.viewer()
        return Account.from_row(await accounts.get_account(info.context.desk, viewer))

    @classmethod
    def from_policy(cls, policy: sla.TimerPolicy) -> TimerSettings:
        by_rank = sorted(enums.Priority, key=lambda p: p.rank, reverse=True)
        return cls(
            priorities=[
                PriorityTimers(
                    priority=p,
                    overdue_after_minutes=policy.overdue_after[p],
                    admins_after_minutes=policy.admins_after[p],
                )
                for p in by_rank
            ],
            nudge_after_minutes=policy.nudge_after,
            release_after_minutes=policy.release_after,
            release_idle_claims=policy.release_idle,
        )
