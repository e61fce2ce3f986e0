"""The broadcaster backends the desk supports: memory, and two backends of ours that fix
broadcaster's Redis and Postgres backends for use by a long-running server."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from broadcaster import Broadcast, Event
from broadcaster._backends.base import BroadcastBackend
from broadcaster._backends.postgres import PostgresBackend
from redis import asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


class RedisDoorbellBackend(BroadcastBackend):
    """Redis pub/sub that keeps listening.

    broadcaster 0.3.1's RedisBackend marks itself ready before its SUBSCRIBE completes, so its
    listener can start `pubsub.listen()` with nothing subscribed; `listen()` then returns at once
    and the listener waits forever: no message is ever received. After a Redis disconnect its
    listener also dies silently (broadcaster #144). Here the listener polls `get_message`, which
    never ends by itself, and a lost connection is retried, resubscribing every channel.

    One pub/sub connection, used by one task at a time (`_lock`): redis-py's PubSub opens its
    connection on first use, and two tasks using it at once (a SUBSCRIBE while the listener
    reads) could each open one, leaving a subscribed connection nobody reads. Doorbells published
    while Redis was away are lost: on reconnecting, every channel rings once, so each process
    reads its event log at once instead of at its next poll.
    """

    _READ_SECONDS = 0.2  # how long the listener holds the connection per read

    def __init__(self, url: str) -> None:
        self._url = url
        self._channels: set[str] = set()  # wanted
        self._subscribed: set[str] = set()  # subscribed on the current connection
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._listener: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._lost = False  # the connection went away; ring every channel once it is back

    async def connect(self) -> None:
        self._conn = redis.Redis.from_url(self._url)
        self._pubsub = self._conn.pubsub(ignore_subscribe_messages=True)
        self._listener = asyncio.create_task(self._listen(), name="redis doorbell listener")

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
        await self._pubsub.aclose()
        await self._conn.aclose()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            try:
                await self._pubsub.subscribe(channel)
                self._subscribed.add(channel)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                log.warning("Redis unreachable: %s is subscribed when it comes back", channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            self._subscribed.discard(channel)
            # If the connection is gone, the subscription went with it.
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        try:
            await self._conn.publish(channel, message)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # A pooled connection Redis closed (a restart) fails once, then is replaced: without
            # this second try the first doorbell after every Redis restart is lost.
            await self._conn.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            if not self._channels:
                await asyncio.sleep(0.05)
                continue
            try:
                async with self._lock:
                    message = await self._next_message()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever it was, a new connection is the way on
                if not isinstance(error, RedisConnectionError | RedisTimeoutError | OSError):
                    log.exception("Redis doorbell listener failed; reconnecting")
                log.warning("Redis connection lost (%s); retrying in %.1fs", error, backoff)
                self._lost = True
                async with self._lock:
                    await self._reset()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if message and message["type"] == "message":
                await self._queue.put(
                    Event(channel=message["channel"].decode(), message=message["data"].decode())
                )

    async def _next_message(self) -> dict | None:
        missing = self._channels - self._subscribed
        if missing:
            await self._pubsub.subscribe(*missing)
            self._subscribed |= missing
        if self._lost:  # every channel is subscribed again: catch up on what was missed
            self._lost = False
            log.warning("Redis connection back: every channel rings once")
            for channel in self._channels:
                await self._queue.put(Event(channel=channel, message="reconnected"))
        return await self._pubsub.get_message(timeout=self._READ_SECONDS)

    async def _reset(self) -> None:
        with contextlib.suppress(Exception):  # already broken; a new pubsub replaces it
            await self._pubsub.aclose()
        self._pubsub = self._conn.pubsub(ignore_subscribe_messages=True)
        self._subscribed.clear()


class PostgresNotifyBackend(PostgresBackend):
    """broadcaster's Postgres backend LISTENs and NOTIFYs on one asyncpg connection, which fails
    with "another operation is in progress" when both happen at once (broadcaster #22): publish
    on a second connection, and serialize LISTEN changes."""

    async def connect(self) -> None:
        await super().connect()
        self._publisher = await asyncpg.connect(self._url)
        self._listen_lock = asyncio.Lock()
        self._publish_lock = asyncio.Lock()

    async def disconnect(self) -> None:
        await self._publisher.close()
        await super().disconnect()

    async def subscribe(self, channel: str) -> None:
        async with self._listen_lock:
            await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._listen_lock:
            await super().unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        async with self._publish_lock:
            await self._publisher.execute("SELECT pg_notify($1, $2)", channel, message)


def create_broadcast(url: str) -> Broadcast:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return Broadcast(backend=PostgresNotifyBackend("postgresql://" + url[len(prefix) :]))
    if url.startswith(("redis://", "rediss://")):
        return Broadcast(backend=RedisDoorbellBackend(url))
    return Broadcast(url)


def account_channel(account_id) -> str:
    # A Postgres channel is an identifier of at most 63 bytes: "account_" and 32 hex digits.
    return f"account_{account_id.hex}"
