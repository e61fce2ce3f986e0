"""The conversation live (issue 15): a session's messages as they are added, to whoever may see
the session (`resolvers/visibility.session_visible_to`), with catch-up by position.

Each message is an event of the account's log (MESSAGE_ADDED, naming its session), committed
with the message (resolvers/sessions.add_message). So a subscriber hears of it as every
subscription hears of the account's changes: the hub's doorbell, in this process and across
processes, a lost doorbell healed by the hub's poll of the log; and in the log's order with the
changes that decide who sees the session (a withdrawal, a claim). The event carries no message:
on hearing of one of its session's, a subscriber reads the messages after the position it has,
and whether it still sees the session, in one read. Positions make catch-up exact: `after` is
the last position the client has; it gets the messages after it, then each new one, once, in
order.

A session that stops being visible to the caller ends the stream with NotFoundError at the next
read (the log's next event about the session). Parking a session records no event (a park is
nobody else's news), but nothing can be added to a parked session (a message resumes it), so a
teammate's stream delivers nothing while it is parked, and looks again when it moves on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping

from sqlmodel import col, select

from db.enums import EventKind
from db.models import SessionMessage, TroubleshootingSession
from resolvers import caps
from resolvers.auth import Standing, Viewer
from resolvers.desk import Desk
from resolvers.errors import BadInput, NotFoundError
from resolvers.events import EventSource, LoggedEvent, latest_seq, live_events
from resolvers.visibility import session_visible_to

# Messages read at once, catching up (a subscriber far behind reads several pages).
PAGE = caps.MESSAGES.maximum

NOT_FOUND = "No such session visible to you."
GONE = "This session is no longer visible to you."

# What a subscriber listens for: its session's messages, and the changes of its handoffs that
# may change who sees it (each makes it read again: one read, visible or not).
HEARD = frozenset(
    {
        EventKind.MESSAGE_ADDED,
        EventKind.ESCALATED,
        EventKind.CLAIMED,
        EventKind.RELEASED,
        EventKind.WITHDRAWN,
        EventKind.TRANSFERRED,
        EventKind.RESUMED,
    }
)


async def session_messages(
    desk: Desk,
    source: EventSource,
    viewer: Viewer,
    session_id: uuid.UUID,
    *,
    after: int | None,
    on_access_change: Callable[[Mapping[uuid.UUID, Standing]], None] | None = None,
) -> AsyncIterator[SessionMessage]:
    """The session's messages after position `after` (from now, if None), then each new one, for
    as long as the caller may see the session. NotFoundError if they may not (another account's
    session included), at once or when it stops; AccessRevoked when their role or standing
    changes (`on_access_change`: as for `events.live_events`)."""
    if after is not None and after < 0:
        raise BadInput("after must be a message position (0 or more)")
    # The log's place first: every message committed after the read below has a later event.
    since = await latest_seq(desk, viewer.account_id)
    count = await _visible_count(desk, viewer, session_id)
    if count is None:
        raise NotFoundError(NOT_FOUND)
    if after is not None and after > count:
        # Otherwise the messages up to `after` would be skipped, silently.
        raise BadInput(f"after ({after}) is beyond the session's last message ({count})")
    last = count if after is None else after
    async for message in _messages_after(desk, viewer, session_id, last):
        yield message
        last = message.position
    async for logged in live_events(
        desk, source, viewer, kinds=HEARD, after=since, on_access_change=on_access_change
    ):
        if not _about(logged, session_id):
            continue
        async for message in _messages_after(desk, viewer, session_id, last):
            yield message
            last = message.position


def _about(logged: LoggedEvent, session_id: uuid.UUID) -> bool:
    event = logged.event
    if event.kind == EventKind.MESSAGE_ADDED:
        return event.session_id == session_id
    return logged.handoff is not None and logged.handoff.session_id == session_id


async def _visible_count(desk: Desk, viewer: Viewer, session_id: uuid.UUID) -> int | None:
    """How many messages the session has, if the caller may see it; None if not."""
    stmt = select(TroubleshootingSession.message_count).where(
        col(TroubleshootingSession.id) == session_id, session_visible_to(viewer)
    )
    async with desk.db.read() as db:
        return (await db.exec(stmt)).first()


async def _messages_after(
    desk: Desk, viewer: Viewer, session_id: uuid.UUID, after: int
) -> AsyncIterator[SessionMessage]:
    """The session's messages after position `after`, a page per read, each read asking first
    whether the caller still sees the session (NotFoundError if not)."""
    while True:
        async with desk.db.read() as db:
            visible = await db.exec(
                select(TroubleshootingSession.id).where(
                    col(TroubleshootingSession.id) == session_id, session_visible_to(viewer)
                )
            )
            if visible.first() is None:
                raise NotFoundError(GONE)
            page = list(
                (
                    await db.exec(
                        select(SessionMessage)
                        .where(
                            col(SessionMessage.session_id) == session_id,
                            col(SessionMessage.position) > after,
                        )
                        .order_by(col(SessionMessage.position))
                        .limit(PAGE)
                    )
                ).all()
            )
        for message in page:
            yield message
            after = message.position
        if len(page) < PAGE:
            return
