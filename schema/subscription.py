"""Subscriptions: the live desk. Every payload carries its event's sequence number; reconnect
with `after: <last seq seen>` to receive what was missed, in order, then live events."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from resolvers import conversation, events, presence, read_marks
from resolvers.auth import Viewer
from resolvers.errors import AccessRevoked, SubscriberTooSlow
from resolvers.events import LoggedEvent
from resolvers.ids import parse_id
from schema import enums
from schema.context import ACCESS_ENDED_CLOSE_CODE, Context
from schema.notifications import NotificationCountChanged
from schema.sharing import PER_VIEWER, SHARED, per_viewer, shared
from schema.types import Handoff, HandoffNote, Info, Message, User, event_reason

TOO_SLOW_CLOSE_CODE = 1013
TOO_SLOW_REASON = "too far behind: resubscribe with after"
ACCESS_CHANGED_REASON = "your access changed: reconnect"

After = Annotated[
    int | None,
    strawberry.argument(description="The last seq this client saw: replay what came after."),
]

# The fields every event type has.
_SEQ = (
    "The event's sequence number in the account's event log, increasing: pass the last one "
    "seen as `after` to resume."
)
_KIND = "What happened."
_OCCURRED_AT = "When it happened."
_HANDOFF = "The escalation, as it stands when the event is delivered."
_ACTOR = "Who did it; null when the desk did (its timers)."
HandoffFilter = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Only this escalation's events (null: every escalation)."),
]


@strawberry.type(description="An escalation was raised to the team's queue.")
class HandoffCreated:
    seq: int = shared(description=_SEQ)
    handoff: Handoff = shared(description=_HANDOFF)


_SETTLED = (
    "An assessment settled: ready, or failed for good (a failed reassessment leaves the "
    "handoff's earlier assessment in place)."
)


@strawberry.type(description=_SETTLED)
class AssessmentSettled:
    seq: int = shared(description=_SEQ)
    handoff: Handoff = shared(description=_HANDOFF)


@strawberry.type(description=f"{_SETTLED} What the deprecated assessmentReady delivers.")
class AssessmentReady:
    seq: int = shared(description=_SEQ)
    handoff: Handoff = shared(description=_HANDOFF)


@strawberry.type(description="An escalation was claimed or released.")
class HandoffClaimChanged:
    seq: int = shared(description=_SEQ)
    kind: enums.HandoffEventKind = shared(description=_KIND)
    occurred_at: datetime = shared(description=_OCCURRED_AT)
    handoff: Handoff = shared(description=_HANDOFF)
    actor: User | None = shared(description=_ACTOR)
    reason: enums.HandoffEventReason | None = shared(
        default=None, description="IDLE: released by the desk, its claimer idle (timers)."
    )


@strawberry.type(
    description="An escalation's timer fired: OVERDUE (unclaimed past its due time: "
    "the team was told again), ADMINS_ALERTED (still unclaimed a period later: the admins were "
    "told), or NUDGED (its claimer did nothing on it for a while, and was reminded)."
)
class HandoffTimerFired:
    seq: int = shared(description=_SEQ)
    kind: enums.HandoffEventKind = shared(description=_KIND)
    occurred_at: datetime = shared(description=_OCCURRED_AT)
    handoff: Handoff = shared(description=_HANDOFF)


@strawberry.type(
    description="An escalation changed after it was raised: claimed, released, withdrawn, "
    "re-prioritised, transferred, a fresh assessment asked for, or a note added (kind says "
    "which). The handoff is as it stands when the event is delivered; the event's own fields "
    "say what this change was."
)
class HandoffUpdated:
    seq: int = shared(description=_SEQ)
    kind: enums.HandoffEventKind = shared(description=_KIND)
    occurred_at: datetime = shared(description=_OCCURRED_AT)
    handoff: Handoff = shared(description=_HANDOFF)
    actor: User | None = shared(description=_ACTOR)
    to: User | None = shared(description="TRANSFERRED: the colleague it was handed to.")
    priority: enums.Priority | None = shared(
        description="PRIORITY_CHANGED: the priority it was given."
    )
    previous_priority: enums.Priority | None = shared(
        description="PRIORITY_CHANGED: the priority it had."
    )
    note: HandoffNote | None = shared(
        default=None,
        description="NOTE_ADDED: the note (heard only by those who read notes: the account's "
        "engineers and admins, and its viewers unless it says not).",
    )


@strawberry.type(
    description="The caller's unread count, and what moved it. The first answer is the count as "
    "it stands (no handoff); then a handoff the caller read on any of their clients (opened or "
    "claimed: `unread` false), or one the team raised or withdrew that the caller had not read "
    "(`unread` true). Read marks are the caller's own: nobody else hears of them."
)
class UnreadCountChanged:
    unread_count: int = per_viewer(description="The caller's unread escalations now.")
    handoff_id: strawberry.ID | None = per_viewer(
        description="The escalation that moved it; null for the first answer and a recount."
    )
    unread: bool | None = per_viewer(
        description="Whether that escalation is unread to the caller now (null: no handoff)."
    )

    @classmethod
    def of(cls, change: read_marks.UnreadCountChanged) -> UnreadCountChanged:
        handoff_id = None if change.handoff_id is None else strawberry.ID(str(change.handoff_id))
        return cls(unread_count=change.unread_count, handoff_id=handoff_id, unread=change.unread)


@strawberry.type(
    description="Who else has an escalation open now (presence: never stored, never in the "
    "history). The first answer lists them as they are (no change); each later one says who "
    "joined or left, with the list as it is then. The caller is never listed, not even from "
    "another of their clients."
)
class HandoffViewers:
    handoff_id: strawberry.ID = per_viewer(description="The escalation.")
    viewers: list[User] = per_viewer(
        description="Who else has it open, in the order they opened it (at most "
        f"{presence.VIEWERS_PER_HANDOFF})."
    )
    change: enums.ViewerChange | None = per_viewer(
        description="What `user` did; null for a first answer."
    )
    user: User | None = per_viewer(description="Who joined or left; null for a first answer.")

    @classmethod
    def of(cls, seen: presence.HandoffViewers) -> HandoffViewers:
        change = None
        if seen.joined is not None:
            change = enums.ViewerChange.JOINED if seen.joined else enums.ViewerChange.LEFT
        return cls(
            handoff_id=strawberry.ID(str(seen.handoff_id)),
            viewers=[User.from_row(user) for user in seen.viewers],
            change=change,
            user=User.from_row(seen.user) if seen.user is not None else None,
        )


@strawberry.type(
    description="Who else has which escalation of the account open. The first answer "
    "(`snapshot` true) lists every escalation someone else has open as it stands: replace what "
    "you had. Each later answer lists escalations with their viewers now (the rest of a long "
    "first list, with no change; then one whose viewers changed, an empty `viewers` meaning "
    "nobody else has it open any more)."
)
class AccountViewers:
    snapshot: bool = per_viewer(
        description="True for the first answer (replace what you had); false after."
    )
    handoffs: list[HandoffViewers] = per_viewer(
        description=f"At most {presence.HANDOFFS_PER_ANSWER} in one answer."
    )

    @classmethod
    def of(cls, seen: presence.AccountViewers) -> AccountViewers:
        return cls(
            snapshot=seen.snapshot, handoffs=[HandoffViewers.of(one) for one in seen.handoffs]
        )


async def _stream(info: Info, kinds, after, handoff_id=None) -> AsyncGenerator[LoggedEvent, None]:
    context = info.context
    viewer = await context.viewer()
    # 1013 "try again later": graphql-ws clients reconnect; resubscribe with `after`.
    async with _socket_closed_when_ended(context, TOO_SLOW_REASON):
        async for logged in events.live_events(
            context.desk,
            context.live_events(),
            viewer,
            kinds=kinds,
            after=after,
            handoff_id=handoff_id,
            on_access_change=context.on_access_change,
        ):
            context.fresh_loaders()  # each event is resolved with what is true now
            yield logged


@contextlib.asynccontextmanager
async def _socket_closed_when_ended(context, too_slow_reason: str) -> AsyncIterator[None]:
    """A stream that ends for the subscriber's sake closes its socket with the code the client
    answers: 1013 when it fell too far behind (it reconnects), 4403 when its access changed (it
    reconnects and is authenticated afresh: with its new rights, or not at all)."""
    try:
        yield
    except SubscriberTooSlow:
        await context.close_connection(TOO_SLOW_CLOSE_CODE, too_slow_reason)
    except AccessRevoked:
        await context.close_connection(ACCESS_ENDED_CLOSE_CODE, ACCESS_CHANGED_REASON)


T = TypeVar("T")


async def _as_it_stands(
    info: Info, stream: Callable[[Context, Viewer], AsyncIterator[T]]
) -> AsyncGenerator[T, None]:
    """A stream of the caller's own that replays nothing (no `after`): its first answer is how
    things stand, so a client that fell behind (1013) or whose access changed (4403) only has
    to subscribe again."""
    context = info.context
    viewer = await context.viewer()
    async with _socket_closed_when_ended(context, "too far behind: resubscribe"):
        async for item in stream(context, viewer):
            yield item


async def _handoff(info: Info, logged: LoggedEvent) -> Handoff:
    """The event's handoff as loaded once for the process; only `unread` is the viewer's."""
    return Handoff.from_view(logged.handoff_for(await info.context.viewer()))


@strawberry.type(
    description="Live events of the caller's account, over a websocket. Those with `after` "
    "replay what the client missed, in order, then go on live."
)
class Subscription:
    @strawberry.subscription(
        description="The caller's unread count (the queue's `unreadCount`): at once, then at each "
        "change. Clears as the caller opens or claims escalations on any of their clients; no "
        "`after`: a client that reconnects gets the count as it stands first.",
        metadata=PER_VIEWER,
    )
    async def my_unread_count(self, info: Info) -> AsyncGenerator[UnreadCountChanged, None]:
        # Reconnecting is all it takes: the first answer is the count as it stands.
        async for change in _as_it_stands(
            info,
            lambda context, viewer: read_marks.my_unread_counts(
                context.desk,
                context.read_marks(),
                viewer,
                on_access_change=context.on_access_change,
            ),
        ):
            yield UnreadCountChanged.of(change)

    @strawberry.subscription(
        description="The caller's unread in-app notifications (the bell): at once, then at each "
        "change (a new one, or read on any of the caller's clients). No `after`: a client that "
        "reconnects gets the count as it stands first.",
        metadata=PER_VIEWER,
    )
    async def my_notification_count(
        self, info: Info
    ) -> AsyncGenerator[NotificationCountChanged, None]:
        async for change in _as_it_stands(
            info,
            lambda context, viewer: read_marks.my_notification_counts(
                context.desk,
                context.read_marks(),
                viewer,
                on_access_change=context.on_access_change,
            ),
        ):
            yield NotificationCountChanged(unread_count=change.unread_count)

    @strawberry.subscription(
        description="Who else has this escalation open: at once, then as they come and go. "
        "Subscribing is having it open: the caller counts among its viewers (to everyone else) "
        "for as long as the subscription lasts, in every process of the desk. A viewer whose "
        "socket closes is gone at once; one whose server process vanished, within the presence "
        "TTL (HANDOFF_PRESENCE_TTL_SECONDS, 30 s by default). An escalation the caller cannot "
        "see (unknown, another account's) is a NOT_FOUND error; a park is its creator's alone, "
        "who may subscribe and hears that nobody else is there.",
        metadata=PER_VIEWER,
    )
    async def handoff_viewers(
        self,
        info: Info,
        handoff_id: Annotated[
            strawberry.ID, strawberry.argument(description="The escalation to have open.")
        ],
    ) -> AsyncGenerator[HandoffViewers, None]:
        only = parse_id(handoff_id, "handoffId")
        async for seen in _as_it_stands(
            info,
            lambda context, viewer: presence.handoff_viewers(
                context.desk,
                context.presence(),
                viewer,
                only,
                on_access_change=context.on_access_change,
            ),
        ):
            yield HandoffViewers.of(seen)

    @strawberry.subscription(
        description="Which escalations of the account someone else has open, and who: at once, "
        "then as they come and go (the queue's cards). Listening opens nothing: only "
        "handoffViewers counts as having an escalation open.",
        metadata=PER_VIEWER,
    )
    async def account_viewers(self, info: Info) -> AsyncGenerator[AccountViewers, None]:
        async for seen in _as_it_stands(
            info,
            lambda context, viewer: presence.account_viewers(
                context.desk,
                context.presence(),
                viewer,
                on_access_change=context.on_access_change,
            ),
        ):
            yield AccountViewers.of(seen)

    @strawberry.subscription(
        description="A session's conversation, live: the messages after `after` (the last "
        "position the client has; none: from now), then each new one as it is added, once, in "
        "order. For a session the caller may see: its engineer's, the team's while it is "
        "escalated, private to its engineer while parked. Ends with a NOT_FOUND error for any "
        "other (another account's included), and when the session stops being visible to the "
        "caller.",
        metadata=PER_VIEWER,
    )
    async def session_messages(
        self,
        info: Info,
        session_id: Annotated[strawberry.ID, strawberry.argument(description="The session.")],
        after: Annotated[
            int | None,
            strawberry.argument(
                description="The last message position this client has: replay what came after."
            ),
        ] = None,
    ) -> AsyncGenerator[Message, None]:
        context = info.context
        viewer = await context.viewer()
        session = parse_id(session_id, "sessionId")
        # 1013: graphql-ws clients reconnect; resubscribe with `after` (the last position).
        async with _socket_closed_when_ended(context, "too far behind: resubscribe with after"):
            async for message in conversation.session_messages(
                context.desk,
                context.live_events(),
                viewer,
                session,
                after=after,
                on_access_change=context.on_access_change,
            ):
                yield Message.from_row(message)

    # The streams are the account's (the key has account and role); their fields decide the rest.
    @strawberry.subscription(
        description="Each new escalation of the caller's account.", metadata=SHARED
    )
    async def handoff_created(
        self, info: Info, after: After = None
    ) -> AsyncGenerator[HandoffCreated, None]:
        async for logged in _stream(info, events.HANDOFF_CREATED, after):
            yield HandoffCreated(seq=logged.seq, handoff=await _handoff(info, logged))

    @strawberry.subscription(
        description="Escalations whose assessment settled: ready, or failed for good "
        "(handoff.assessment.status; a failed reassessment leaves the earlier assessment "
        "showing, and is the latest of handoff.assessments); with handoffId, only that one.",
        metadata=SHARED,
    )
    async def assessment_settled(
        self, info: Info, handoff_id: HandoffFilter = None, after: After = None
    ) -> AsyncGenerator[AssessmentSettled, None]:
        async for seq, handoff in _settled(info, handoff_id, after):
            yield AssessmentSettled(seq=seq, handoff=handoff)

    @strawberry.subscription(
        description="The events of assessmentSettled, under the name it had: it fires on "
        "failure too.",
        deprecation_reason="Fires when an assessment fails too: use assessmentSettled (the same "
        "events).",
        metadata=SHARED,
    )
    async def assessment_ready(
        self, info: Info, handoff_id: HandoffFilter = None, after: After = None
    ) -> AsyncGenerator[AssessmentReady, None]:
        async for seq, handoff in _settled(info, handoff_id, after):
            yield AssessmentReady(seq=seq, handoff=handoff)

    @strawberry.subscription(
        description="Escalations claimed or released (kind says which; a release by the desk, "
        "its claimer idle, has reason IDLE), by anyone.",
        metadata=SHARED,
    )
    async def handoff_claim_changed(
        self, info: Info, after: After = None
    ) -> AsyncGenerator[HandoffClaimChanged, None]:
        async for change in _claim_changes(info, after):
            yield change

    @strawberry.subscription(
        description="The events of handoffClaimChanged, under the name it had: it carries "
        "releases too.",
        deprecation_reason="Carries releases too: use handoffClaimChanged (the same events).",
        metadata=SHARED,
    )
    async def handoff_claimed(
        self, info: Info, after: After = None
    ) -> AsyncGenerator[HandoffClaimChanged, None]:
        async for change in _claim_changes(info, after):
            yield change

    @strawberry.subscription(
        description="Escalations whose timers fired: overdue, the admins alerted, or their "
        "claimer nudged (an idle release is heard of on handoffClaimChanged).",
        metadata=SHARED,
    )
    async def handoff_timer_fired(
        self, info: Info, after: After = None
    ) -> AsyncGenerator[HandoffTimerFired, None]:
        async for logged in _stream(info, events.TIMER_FIRED, after):
            yield HandoffTimerFired(
                seq=logged.seq,
                kind=enums.HandoffEventKind(logged.event.kind),
                occurred_at=logged.event.occurred_at,
                handoff=await _handoff(info, logged),
            )

    @strawberry.subscription(
        description="Every change of the account's escalations after they were raised: claims, "
        "releases, withdrawals, priority changes, transfers (a transfer's colleague learns of "
        "it here: `to`), fresh assessments asked for (REASSESSMENT_REQUESTED: it settles on "
        "assessmentSettled) and internal notes added (`note`, for those who read notes); with "
        "handoffId, only that one's.",
        metadata=SHARED,
    )
    async def handoff_updated(
        self, info: Info, handoff_id: HandoffFilter = None, after: After = None
    ) -> AsyncGenerator[HandoffUpdated, None]:
        only = parse_id(handoff_id, "handoffId") if handoff_id is not None else None
        async for logged in _stream(info, events.HANDOFF_CHANGED, after, only):
            event = logged.event
            yield HandoffUpdated(
                seq=logged.seq,
                kind=enums.HandoffEventKind(event.kind),
                occurred_at=event.occurred_at,
                handoff=await _handoff(info, logged),
                actor=User.from_row(logged.actor) if logged.actor else None,
                to=User.from_row(logged.to) if logged.to else None,
                priority=enums.Priority(event.priority) if event.priority else None,
                previous_priority=(
                    enums.Priority(event.previous_priority) if event.previous_priority else None
                ),
                note=HandoffNote.from_row(logged.note) if logged.note else None,
            )


async def _settled(
    info: Info, handoff_id: strawberry.ID | None, after: int | None
) -> AsyncGenerator[tuple[int, Handoff], None]:
    """assessmentSettled's events (and the deprecated assessmentReady's): seq and handoff."""
    only = parse_id(handoff_id, "handoffId") if handoff_id is not None else None
    async for logged in _stream(info, events.ASSESSMENT_LANDED, after, only):
        yield logged.seq, await _handoff(info, logged)


async def _claim_changes(
    info: Info, after: int | None
) -> AsyncGenerator[HandoffClaimChanged, None]:
    """handoffClaimChanged's events (and the deprecated handoffClaimed's)."""
    async for logged in _stream(info, events.CLAIM_CHANGED, after):
        yield HandoffClaimChanged(
            seq=logged.seq,
            kind=enums.HandoffEventKind(logged.event.kind),
            occurred_at=logged.event.occurred_at,
            handoff=await _handoff(info, logged),
            actor=User.from_row(logged.actor) if logged.actor else None,
            reason=event_reason(logged.event),
        )
