"""The per-process subscription hub.

The broadcast is a doorbell, the event log is the truth. Each process subscribes to an account's
broadcaster channel once (however many local subscribers that account has), and on each doorbell
(or a local commit, or a periodic poll that heals lost doorbells) reads the log after the last seq
it saw, in one statement, and fans the events out to its local subscribers through bounded queues.
A subscriber that falls too far behind is cut off (`SubscriberTooSlow`) and catches up from the log
when it reconnects with `after`.

A user's read marks are theirs alone: each has a channel of their own (subscribed once per process
while any of their sockets listens), whose doorbell names the handoffs they read. It is not in
the log; a subscriber reads the count afresh when it joins (resolvers/read_marks.py).

Presence (who has which escalation open) is in no log either: each account has a presence channel
on which the processes tell each other of the viewers they serve (live/presence.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from broadcaster import Broadcast

from db.engine import unavailable
from handoff_desk.live.broadcast import account_channel, user_channel
from handoff_desk.live.presence import PresenceFeed
from handoff_desk.live.queues import BoundedQueue, FellBehind
from handoff_desk.live.tasks import stop_all
from resolvers.desk import Desk
from resolvers.errors import SubscriberTooSlow
from resolvers.events import CATCH_UP_PAGE, LoggedEvent, events_after, latest_seq
from resolvers.presence import PresenceChange, PresenceSnapshot, Viewing
from resolvers.read_marks import NotificationNotice, ReadNotice

T = TypeVar("T")

log = logging.getLogger(__name__)

# How long a commit's doorbell may hold the mutation that rang it. Locally the feed is woken
# before publishing; other processes hear of the commit at their next poll, or when their
# broadcast reconnects, if the broadcast does not take the doorbell in time (a silent Redis or
# PostgreSQL would otherwise hold every mutation's answer until its client gives up).
PUBLISH_SECONDS = 0.5


class LocalSubscriber(BoundedQueue[T]):
    """One subscription's events, waiting to be sent (see live/queues.py)."""

    __slots__ = ()

    async def get(self) -> T:
        try:
            return await self.take()
        except FellBehind:
            raise SubscriberTooSlow(
                "this subscriber fell too far behind; reconnect with `after`"
            ) from None


class AccountFeed:
    """One account's events in this process."""

    def __init__(self, hub: Hub, account_id: uuid.UUID) -> None:
        self.hub = hub
        self.account_id = account_id
        self.subscribers: set[LocalSubscriber[Any]] = set()
        self.last_seq = 0
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # Fresh contexts: the feed outlives the request that started it (and its request id).
        self._tasks.append(
            asyncio.create_task(
                self._listen(), name=f"doorbell {self.account_id}", context=contextvars.Context()
            )
        )
        try:
            await self._ready.wait()  # listening before reading: no doorbell falls in between
            self.last_seq = await latest_seq(self.hub.desk, self.account_id)
        except BaseException:
            # The log is unreadable (an outage), or the subscriber left: a feed that never
            # started must not stay subscribed to the broadcast.
            await self.stop()
            raise
        self._tasks.append(
            asyncio.create_task(
                self._deliver(), name=f"feed {self.account_id}", context=contextvars.Context()
            )
        )

    async def stop(self) -> None:
        await stop_all(self._tasks)

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        try:
            async with self.hub.broadcast.subscribe(account_channel(self.account_id)) as doorbell:
                self._ready.set()
                # (broadcaster annotates its async generator as one that may be None.)
                async for _ in doorbell:  # type: ignore[union-attr]
                    self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The periodic poll keeps this account's subscribers served without doorbells.
            log.exception("doorbell for account %s stopped; polling the log", self.account_id)
            self._ready.set()

    async def _deliver(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.hub.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._read_log()
            except Exception as error:
                if unavailable(error):  # an outage: one line, not a traceback per second
                    log.warning("event log of account %s unreadable: %s", self.account_id, error)
                else:
                    log.exception("reading the event log of account %s failed", self.account_id)
                await asyncio.sleep(1)

    async def _read_log(self) -> None:
        while True:
            events = await events_after(self.hub.desk, self.account_id, self.last_seq)
            for event in events:
                self.last_seq = event.seq
                if self.hub.on_fanout is not None:
                    self.hub.on_fanout(event)  # once per event per process: the delivery lag
                for subscriber in list(self.subscribers):
                    subscriber.offer(event)
            if len(events) < CATCH_UP_PAGE:
                return


# A doorbell names at most this many handoffs; a commit that marks more asks for a recount.
_MARKS_PER_DOORBELL = 64
_RECOUNT = "recount"
# A user doorbell that says their in-app notifications changed (resolvers/inbox.py).
_NOTIFICATIONS = "notifications"


def _notices(message: str) -> list[ReadNotice | NotificationNotice]:
    """A user doorbell's handoffs, or news of their notifications; anything else
    ("reconnected": the broadcast came back, and may have lost some) asks the subscriber to read
    its count again."""
    if message == _NOTIFICATIONS:
        return [NotificationNotice()]
    try:
        return [ReadNotice(uuid.UUID(hex=part)) for part in message.split(",")]
    except ValueError:
        return [ReadNotice(None)]


class UserFeed:
    """One user's read notices in this process: their channel, subscribed once."""

    def __init__(self, hub: Hub, user_id: uuid.UUID) -> None:
        self.hub = hub
        self.user_id = user_id
        self.subscribers: set[LocalSubscriber[Any]] = set()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(
            self._listen(), name=f"read marks {self.user_id}", context=contextvars.Context()
        )
        try:
            await self._ready.wait()  # listening before the subscriber reads its count
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def deliver(self, message: str) -> None:
        notices = _notices(message)
        for subscriber in list(self.subscribers):
            for notice in notices:
                subscriber.offer(notice)

    async def _listen(self) -> None:
        try:
            async with self.hub.broadcast.subscribe(user_channel(self.user_id)) as doorbell:
                self._ready.set()
                async for event in doorbell:  # type: ignore[union-attr]
                    if event is not None:
                        self.deliver(event.message)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Its subscribers still hear of the account's changes, and recount on reconnecting.
            log.exception("read-mark doorbell of user %s stopped", self.user_id)
            self._ready.set()


# An account's feed, a user's, or an account's presence: started by its first subscriber in this
# process, stopped with its last.
_Feed = TypeVar("_Feed", AccountFeed, UserFeed, PresenceFeed)


class Hub:
    def __init__(
        self,
        desk: Desk,
        broadcast: Broadcast,
        *,
        max_queue: int = 256,
        poll_seconds: float = 5.0,
        on_fanout: Callable[[LoggedEvent], None] | None = None,
        presence_heartbeat_seconds: float = 10.0,
        presence_ttl_seconds: float = 30.0,
    ) -> None:
        self.desk = desk
        self.broadcast = broadcast
        self.max_queue = max_queue
        self.poll_seconds = poll_seconds
        self.on_fanout = on_fanout
        self.presence_heartbeat_seconds = presence_heartbeat_seconds
        self.presence_ttl_seconds = presence_ttl_seconds
        # Names this process in presence messages: what it heard of others is theirs.
        self.process_id = uuid.uuid4().hex
        self.presence_tracked = 0  # viewer-escalation pairs, bounded (presence.MAX_TRACKED)
        self._feeds: dict[uuid.UUID, AccountFeed] = {}
        self._users: dict[uuid.UUID, UserFeed] = {}
        self._presence: dict[uuid.UUID, PresenceFeed] = {}
        self._lock = asyncio.Lock()

    @property
    def open_subscriptions(self) -> int:
        return sum(len(feed.subscribers) for feed in self._feeds.values())

    async def publish(self, account_id: uuid.UUID, seq: int) -> None:
        """After a commit: ring this process's feed at once, and every other process's."""
        feed = self._feeds.get(account_id)
        if feed is not None:
            feed.wake()
        try:
            async with asyncio.timeout(PUBLISH_SECONDS):
                await self.broadcast.publish(account_channel(account_id), str(seq))
        except TimeoutError:
            log.warning("the broadcast did not take seq %s of account %s in time", seq, account_id)
        except Exception as error:
            # Committed is committed: other processes' polls (or their broadcast's reconnect)
            # deliver it a little later. One line per doorbell in an outage, not a traceback.
            log.warning("could not publish seq %s of account %s: %r", seq, account_id, error)

    async def publish_marks(self, user_id: uuid.UUID, handoff_ids: list[uuid.UUID]) -> None:
        """After a commit that made new read marks: ring the reader's own channel, in every
        process (this one's subscribers hear it from the broadcast too, once)."""
        if len(handoff_ids) > _MARKS_PER_DOORBELL:
            message = _RECOUNT
        else:
            message = ",".join(handoff_id.hex for handoff_id in handoff_ids)
        await self._ring_user(user_id, message)

    async def publish_notifications(self, user_id: uuid.UUID) -> None:
        """After a commit that changed the user's in-app notifications: ring their channel."""
        await self._ring_user(user_id, _NOTIFICATIONS)

    async def _ring_user(self, user_id: uuid.UUID, message: str) -> None:
        try:
            async with asyncio.timeout(PUBLISH_SECONDS):
                await self.broadcast.publish(user_channel(user_id), message)
        except Exception as error:  # TimeoutError included
            log.warning("could not ring the channel of user %s: %r", user_id, error)
            feed = self._users.get(user_id)
            if feed is not None:
                feed.deliver(message)  # this process's sockets hear of it all the same

    async def read_marks(
        self, account_id: uuid.UUID, user_id: uuid.UUID
    ) -> AsyncIterator[LoggedEvent | ReadNotice | NotificationNotice]:
        """The user's read notices and their account's live events, from now: first a
        `ReadNotice(None)` once both are listened to (read the count then: nothing after it is
        missed), then each as it comes."""
        subscriber: LocalSubscriber[LoggedEvent | ReadNotice | NotificationNotice] = (
            LocalSubscriber(self.max_queue)
        )
        try:
            await self._attach_user(user_id, subscriber)
            last = await self._attach(account_id, subscriber)
            yield ReadNotice(None)
            while True:
                item = await subscriber.get()
                if isinstance(item, ReadNotice | NotificationNotice):
                    yield item
                elif item.seq > last:
                    yield item
                    last = item.seq
        finally:
            await self._detach(account_id, subscriber)
            await self._detach_user(user_id, subscriber)

    async def presence(
        self, account_id: uuid.UUID, viewing: Viewing | None
    ) -> AsyncIterator[PresenceSnapshot | PresenceChange | LoggedEvent]:
        """The account's presence from now: a snapshot, then each change; with `viewing`, the
        subscriber counts among the escalation's viewers (in every process) while it listens.
        The account's access changes come with them (its other events are not passed on)."""
        subscriber: LocalSubscriber[PresenceChange | LoggedEvent] = LocalSubscriber(self.max_queue)
        feed: PresenceFeed | None = None
        counted = False
        try:
            await self._attach(account_id, subscriber)
            feed = await self._join(self._presence, account_id, PresenceFeed, subscriber)
            # Taken with the join: every change after it is offered to the subscriber.
            snapshot = feed.snapshot()
            if viewing is not None:
                counted = feed.view(viewing)  # counted here at once, whatever happens next
                if counted:
                    await feed.announce(viewing)
            yield snapshot
            while True:
                item = await subscriber.get()
                if isinstance(item, PresenceChange) or item.standing is not None:
                    yield item
        finally:
            if counted and feed is not None and viewing is not None:
                feed.unview(viewing)
                await feed.announce(viewing)  # (if this is cut short, the TTL ends it there)
            await self._leave(self._presence, account_id, subscriber)
            await self._detach(account_id, subscriber)

    async def events(self, account_id: uuid.UUID, after: int | None) -> AsyncIterator[LoggedEvent]:
        """The account's events after `after` (from now, if None): catch-up, then live; in
        order, without gaps or duplicates."""
        subscriber: LocalSubscriber[LoggedEvent] = LocalSubscriber(self.max_queue)
        attached_at = await self._attach(account_id, subscriber)
        try:
            last = attached_at if after is None else after
            if after is not None:
                async for event in self._replay(account_id, after):
                    yield event
                    last = event.seq
            while True:
                event = await subscriber.get()
                if event.seq > last:
                    yield event
                    last = event.seq
        finally:
            await self._detach(account_id, subscriber)

    async def _replay(self, account_id: uuid.UUID, after: int) -> AsyncIterator[LoggedEvent]:
        while True:
            events = await events_after(self.desk, account_id, after)
            for event in events:
                yield event
                after = event.seq
            if len(events) < CATCH_UP_PAGE:
                return

    async def _attach(self, account_id: uuid.UUID, subscriber: LocalSubscriber[Any]) -> int:
        """Returns the seq the subscriber joins at: it is offered every event after it."""
        feed = await self._join(self._feeds, account_id, AccountFeed, subscriber)
        # Read with the add: nothing between them (the lock's release included) lets the feed's
        # task run, so no event slips between the seq and the subscription.
        return feed.last_seq

    async def _detach(self, account_id: uuid.UUID, subscriber: LocalSubscriber[Any]) -> None:
        await self._leave(self._feeds, account_id, subscriber)

    async def _attach_user(self, user_id: uuid.UUID, subscriber: LocalSubscriber[Any]) -> None:
        await self._join(self._users, user_id, UserFeed, subscriber)

    async def _detach_user(self, user_id: uuid.UUID, subscriber: LocalSubscriber[Any]) -> None:
        await self._leave(self._users, user_id, subscriber)

    async def _join(
        self,
        feeds: dict[uuid.UUID, _Feed],
        key: uuid.UUID,
        make: Callable[[Hub, uuid.UUID], _Feed],
        subscriber: LocalSubscriber[Any],
    ) -> _Feed:
        """The feed of `key` in this process, started by its first subscriber."""
        async with self._lock:
            feed = feeds.get(key)
            if feed is None:
                feed = make(self, key)
                await feed.start()
                feeds[key] = feed
            feed.subscribers.add(subscriber)
            return feed

    async def _leave(
        self, feeds: dict[uuid.UUID, _Feed], key: uuid.UUID, subscriber: LocalSubscriber[Any]
    ) -> None:
        """Stopped with its last subscriber."""
        async with self._lock:
            feed = feeds.get(key)
            if feed is None:
                return
            feed.subscribers.discard(subscriber)
            if not feed.subscribers:
                del feeds[key]
                await feed.stop()

    async def close(self) -> None:
        async with self._lock:
            feeds, self._feeds = list(self._feeds.values()), {}
            users, self._users = list(self._users.values()), {}
            presence, self._presence = list(self._presence.values()), {}
        for feed in feeds:
            await feed.stop()
        for user in users:
            await user.stop()
        for viewed in presence:
            await viewed.stop()
