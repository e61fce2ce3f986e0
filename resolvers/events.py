"""Reading the account's event log: what clients hear of, in order, with nothing missed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import EventKind
from db.models import Account, AccountEvent, Handoff, HandoffNote, User
from resolvers.auth import Standing, Viewer, still_allowed
from resolvers.desk import Desk
from resolvers.errors import AccessRevoked, BadInput
from resolvers.handoff_views import HandoffView, UserView, handoff_views, to_views
from resolvers.tenancy import in_account
from resolvers.unread import readers
from resolvers.visibility import notes_visible

CATCH_UP_PAGE = 500


@dataclass(frozen=True)
class LoggedEvent:
    """An event with what its payload shows, loaded once per process for every subscriber: the
    handoff as a client sees it, its actor, and who had read it (each subscriber's own `unread`
    is the only thing left to work out, without a query)."""

    event: AccountEvent
    # None for ACCESS_CHANGED, which concerns users, and MESSAGE_ADDED, which concerns a session
    # (event.session_id): its subscribers read the messages themselves (resolvers/conversation.py).
    handoff: HandoffView | None
    actor: UserView | None
    read_by: frozenset[uuid.UUID]
    # ACCESS_CHANGED only: every user of the account as they stand now, so that each open
    # subscription re-checks its caller without a query of its own.
    standing: Mapping[uuid.UUID, Standing] | None = None
    to: UserView | None = None  # TRANSFERRED: the colleague it was handed to
    note: HandoffNote | None = None  # NOTE_ADDED: the note
    # NOTE_ADDED: whether the account lets its viewers read notes (as it says when read).
    notes_to_viewers: bool = False

    @property
    def seq(self) -> int:
        return self.event.seq

    def heard_by(self, viewer: Viewer) -> bool:
        """Whether the caller may hear of this event at all: a note only if they read notes."""
        if self.event.kind == EventKind.NOTE_ADDED:
            return notes_visible(viewer, self.notes_to_viewers)
        return True

    def handoff_for(self, viewer: Viewer) -> HandoffView:
        assert self.handoff is not None, "an access change has no handoff"
        return replace(self.handoff, unread=viewer.user_id not in self.read_by)


async def latest_seq(desk: Desk, account_id: uuid.UUID) -> int:
    async with desk.db.read() as db:
        account = await db.get(Account, account_id)
    return account.last_seq if account else 0


async def events_after(
    desk: Desk, account_id: uuid.UUID, after: int, limit: int = CATCH_UP_PAGE
) -> list[LoggedEvent]:
    """The account's events with seq > after, oldest first, with what their payloads show:
    four statements for any number of events (one more when the users' access changed, two more
    when notes were added)."""
    stmt = (
        select(AccountEvent)
        .where(in_account(AccountEvent, account_id), AccountEvent.seq > after)
        .order_by(col(AccountEvent.seq))
        .limit(limit)
    )
    async with desk.db.read() as db:
        events = list((await db.exec(stmt)).all())
        if not events:
            return []
        handoff_ids = list({e.handoff_id for e in events if e.handoff_id is not None})
        standing = None
        if any(e.kind == EventKind.ACCESS_CHANGED for e in events):
            standing = await _standing(db, account_id)
        notes: dict[uuid.UUID, HandoffNote] = {}
        notes_to_viewers = False
        if note_ids := [e.note_id for e in events if e.note_id is not None]:
            notes, notes_to_viewers = await _notes(db, account_id, note_ids)
        handoffs: dict[uuid.UUID, HandoffView] = {}
        read_by: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
        if handoff_ids:
            views = handoff_views().where(
                col(Handoff.id).in_(handoff_ids), col(Handoff.account_id) == account_id
            )
            # (SQLModel types exec() for its own selects; it runs SQLAlchemy's just the same.)
            rows = (await db.exec(views, params=_NOBODY)).all()  # type: ignore[call-overload]
            handoffs = {v.id: v for v in to_views(rows)}
            read_by = await readers(db, handoff_ids)
        # The actors, and the colleagues transfers named: one read.
        named = [(e.actor_id, e.to_user_id) for e in events]
        actor_ids = list({user_id for pair in named for user_id in pair if user_id is not None})
        users: dict[uuid.UUID | None, UserView] = {}
        if actor_ids:
            actors = select(*(getattr(User, f) for f in UserView.__dataclass_fields__)).where(
                col(User.id).in_(actor_ids), col(User.account_id) == account_id
            )
            users = {row[0]: UserView(*row) for row in (await db.exec(actors)).all()}
    logged = []
    for e in events:
        if e.kind == EventKind.ACCESS_CHANGED:
            logged.append(
                LoggedEvent(
                    event=e, handoff=None, actor=None, read_by=frozenset(), standing=standing
                )
            )
        elif e.kind == EventKind.MESSAGE_ADDED:
            logged.append(
                LoggedEvent(event=e, handoff=None, actor=users.get(e.actor_id), read_by=frozenset())
            )
        elif e.handoff_id in handoffs:
            logged.append(
                LoggedEvent(
                    event=e,
                    handoff=handoffs[e.handoff_id],
                    actor=users.get(e.actor_id),
                    read_by=read_by[e.handoff_id],
                    to=users.get(e.to_user_id),
                    note=notes.get(e.note_id) if e.note_id is not None else None,
                    notes_to_viewers=notes_to_viewers,
                )
            )
    return logged


async def _notes(
    db: AsyncSession, account_id: uuid.UUID, note_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, HandoffNote], bool]:
    """The notes of these NOTE_ADDED events, and whether the account lets viewers read them."""
    rows = await db.exec(
        select(HandoffNote).where(
            col(HandoffNote.id).in_(note_ids), in_account(HandoffNote, account_id)
        )
    )
    to_viewers = await db.exec(
        select(Account.notes_visible_to_viewers).where(col(Account.id) == account_id)
    )
    return {note.id: note for note in rows.all()}, bool(to_viewers.first())


async def _standing(db: AsyncSession, account_id: uuid.UUID) -> Mapping[uuid.UUID, Standing]:
    rows = await db.exec(
        select(User.id, User.role, User.active).where(col(User.account_id) == account_id)
    )
    return {user_id: Standing(role=role, active=active) for user_id, role, active in rows.all()}


# The shared view is nobody's in particular: `unread` is worked out per subscriber.
_NOBODY = {"viewer_id": uuid.UUID(int=0)}


# What each subscription hears of. A park's only entry in the log is RESUMED, which none of
# them hears of: a park is its creator's alone (resolvers/visibility.py).
HANDOFF_CREATED = frozenset({EventKind.ESCALATED})
ASSESSMENT_LANDED = frozenset({EventKind.ASSESSMENT_READY, EventKind.ASSESSMENT_FAILED})
CLAIM_CHANGED = frozenset({EventKind.CLAIMED, EventKind.RELEASED})
# Every change of an escalation after it was raised: who holds it, whether it is still wanted,
# how urgent it is, a fresh assessment asked for (it lands on ASSESSMENT_LANDED), and a note
# added to it (heard only by those who read notes: `heard_by`).
HANDOFF_CHANGED = frozenset(
    {
        EventKind.CLAIMED,
        EventKind.RELEASED,
        EventKind.WITHDRAWN,
        EventKind.PRIORITY_CHANGED,
        EventKind.TRANSFERRED,
        EventKind.REASSESSMENT_REQUESTED,
        EventKind.NOTE_ADDED,
    }
)
TIMER_FIRED = frozenset({EventKind.OVERDUE, EventKind.ADMINS_ALERTED, EventKind.NUDGED})


class EventSource(Protocol):
    def events(self, account_id: uuid.UUID, after: int | None) -> AsyncIterator[LoggedEvent]: ...


async def live_events(
    desk: Desk,
    source: EventSource,
    viewer: Viewer,
    *,
    kinds: frozenset[EventKind],
    after: int | None,
    handoff_id: uuid.UUID | None = None,
    on_access_change: Callable[[Mapping[uuid.UUID, Standing]], None] | None = None,
) -> AsyncIterator[LoggedEvent]:
    """The caller's account's events of these kinds: those after `after` first, then live.

    When the account's users' access changes, the caller's rights are checked again: a caller
    whose role or standing changed gets `AccessRevoked` (the stream ends). A stream serving
    several callers at once passes `on_access_change` to check each of them instead."""
    if after is not None and after < 0:
        raise BadInput("after must be a sequence number (0 or more)")
    if after is not None and after > (latest := await latest_seq(desk, viewer.account_id)):
        # Otherwise every live event up to `after` would be skipped, silently.
        raise BadInput(f"after ({after}) is beyond the latest event ({latest}): resubscribe")
    async for logged in source.events(viewer.account_id, after):
        if logged.standing is not None:
            if on_access_change is not None:
                on_access_change(logged.standing)
            elif not still_allowed(viewer, logged.standing):
                raise AccessRevoked("your access changed: reconnect")
        elif (
            logged.event.kind in kinds
            and (
                handoff_id is None
                or (logged.handoff is not None and logged.handoff.id == handoff_id)
            )
            and logged.heard_by(viewer)
        ):
            yield logged
