"""Read marks, live: a user's unread count, kept right on every one of their open clients.

A read mark is its reader's news alone. Opening or claiming an escalation marks it read in the
transaction that does so (resolvers/queue.py, resolvers/claims.py), and after the commit a notice
naming the handoff goes to that user's own channel (a per-user doorbell, `user_<id>`), never to
the account's: nothing of it enters the account's event log, which every teammate catches up on.
The notice is a doorbell like the account's: the count is read from the database when it rings.

The count also moves with the team's work, which the account's log tells of: a teammate's new
escalation raises it (unless the caller raised it: theirs is read), a withdrawal of one the caller
had not read lowers it, each by one (no query: each read notice reads the count again). An
access change checks the caller's rights again, as every subscription does (resolvers/events.py).

Nothing is replayed: a subscriber's first answer is the count as it stands, so a client that
reconnects is right again at once. A notice lost while the broadcast was away is healed when it
comes back (it rings every channel once; the count is read again).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from db.enums import EventKind
from resolvers import inbox
from resolvers.auth import AccessCheck, Viewer, recheck
from resolvers.desk import Desk
from resolvers.events import LoggedEvent
from resolvers.queue import unread_count


@dataclass(frozen=True)
class ReadNotice:
    """The user read `handoff_id`; None: read the count again (the subscriber just joined, or
    the broadcast came back and notices may have been lost)."""

    handoff_id: uuid.UUID | None


@dataclass(frozen=True)
class NotificationNotice:
    """The user's in-app notifications changed (resolvers/inbox.py): on the same channel."""


@dataclass(frozen=True)
class UnreadCountChanged:
    """The caller's unread count now, and what moved it: a handoff they read (`unread` False), or
    one the team raised or withdrew that they had not read (`unread` True); no handoff for the
    first answer and after a re-read."""

    unread_count: int
    handoff_id: uuid.UUID | None = None
    unread: bool | None = None


class ReadMarkSource(Protocol):
    def read_marks(
        self, account_id: uuid.UUID, user_id: uuid.UUID
    ) -> AsyncIterator[LoggedEvent | ReadNotice | NotificationNotice]:
        """The user's read notices (and notification notices) and their account's live
        events, from now, starting with a `ReadNotice(None)` once both are listened to."""
        ...


# The team's events that may move someone's count: an escalation enters, or leaves, the queue.
_MOVES_COUNT = frozenset({EventKind.ESCALATED, EventKind.WITHDRAWN})


async def my_unread_counts(
    desk: Desk,
    source: ReadMarkSource,
    viewer: Viewer,
    *,
    on_access_change: AccessCheck | None = None,
) -> AsyncIterator[UnreadCountChanged]:
    """The caller's unread count on joining, then at each change: every read mark of theirs
    (from any of their clients), and each change of the team's that moves the count."""
    last: int | None = None
    async for item in source.read_marks(viewer.account_id, viewer.user_id):
        if isinstance(item, NotificationNotice):
            continue  # the bell's, not the unread dots'
        if isinstance(item, ReadNotice):
            count = await unread_count(desk, viewer)
            if item.handoff_id is not None:  # a mark: the dot goes, whether the count moved
                yield UnreadCountChanged(count, item.handoff_id, unread=False)
            elif count != last:
                yield UnreadCountChanged(count)
            last = count
            continue
        if item.standing is not None:
            recheck(viewer, item.standing, on_access_change)
            continue
        if item.event.kind not in _MOVES_COUNT or item.handoff is None:
            continue
        if viewer.user_id in item.read_by or last is None:
            continue  # read already (their own escalation, say): the count did not move
        # Unread to them: a new escalation enters their queue, a withdrawn one leaves it. The
        # count moves by one without asking the database: every subscriber of the account hears
        # each of these events, and a count query each would cost a query per open console.
        last += 1 if item.event.kind == EventKind.ESCALATED else -1
        yield UnreadCountChanged(last, item.handoff.id, unread=True)


# --- the bell: the caller's unread in-app notifications (resolvers/inbox.py) ---


@dataclass(frozen=True)
class NotificationCount:
    unread_count: int


async def my_notification_counts(
    desk: Desk,
    source: ReadMarkSource,
    viewer: Viewer,
    *,
    on_access_change: AccessCheck | None = None,
) -> AsyncIterator[NotificationCount]:
    """The caller's unread notifications on joining, then each time it changes (a new one, or
    one read on any of their clients)."""
    last: int | None = None
    async for item in source.read_marks(viewer.account_id, viewer.user_id):
        if isinstance(item, NotificationNotice) or (
            isinstance(item, ReadNotice) and item.handoff_id is None
        ):
            count = await inbox.unread_notifications(desk, viewer)
            if count != last:
                yield NotificationCount(count)
            last = count
            continue
        if isinstance(item, ReadNotice):
            continue  # a read mark of an escalation: not a notification
        if item.standing is not None:
            recheck(viewer, item.standing, on_access_change)
