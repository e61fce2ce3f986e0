"""The broadcaster backends the desk supports: memory, and two backends of ours that replace
broadcaster's Redis and Postgres backends for use by a long-running server: both keep listening
through outages and ring every channel once they are back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import asyncpg
from broadcaster import Broadcast, BroadcastBackend, Event
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
    # A SUBSCRIBE, with the connection it may have to open, on a path that answers nothing (a
    # dropped link) is given up after this: the listener retries it. Without a bound it would
    # hold `_lock`, and the hub's every new subscription behind it, until the kernel gives up.
    _COMMAND_SECONDS = 2.0

    def __init__(self, url: str) -> None:
        self._url = url
        self._channels: set[str] = set()  # wanted
        self._subscribed: set[str] = set()  # subscribed on the current connection
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._listener: asyncio.Task[None] | None = None
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
                async with asyncio.timeout(self._COMMAND_SECONDS):
                    await self._pubsub.subscribe(channel)
                self._subscribed.add(channel)
            except (RedisConnectionError, RedisTimeoutError, OSError):  # OSError: TimeoutError
                log.warning("Redis unreachable: %s is subscribed when it comes back", channel)
                await self._reset()  # and it rings, for what was committed meanwhile

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            self._subscribed.discard(channel)
            try:
                async with asyncio.timeout(self._COMMAND_SECONDS):
                    await self._pubsub.unsubscribe(channel)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await self._reset()  # the subscription goes with the connection

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
                async with self._lock, asyncio.timeout(self._READ_SECONDS + self._COMMAND_SECONDS):
                    message = await self._next_message()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever it was, a new connection is the way on
                if not isinstance(error, RedisConnectionError | RedisTimeoutError | OSError):
                    log.exception("Redis doorbell listener failed; reconnecting")
                log.warning("Redis connection lost (%r); retrying in %.1fs", error, backoff)
                async with self._lock:
                    await self._reset()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if message and message["type"] == "message":
                await self._queue.put(
                    Event(channel=message["channel"].decode(), message=message["data"].decode())
                )

    async def _next_message(self) -> dict[str, Any] | None:
        missing = self._channels - self._subscribed
        if missing:
            await self._pubsub.subscribe(*missing)
            self._subscribed |= missing
        if self._lost:  # every channel is subscribed again: catch up on what was missed
            self._lost = False
            log.warning("Redis connection back: every channel rings once")
            for channel in self._channels:
                await self._queue.put(Event(channel=channel, message="reconnected"))
        message: dict[str, Any] | None = await self._pubsub.get_message(timeout=self._READ_SECONDS)
        return message

    async def _reset(self) -> None:
        """Drops the pub/sub connection: the listener opens a new one, subscribes every channel
        and rings each once."""
        with contextlib.suppress(Exception):  # already broken; a new pubsub replaces it
            async with asyncio.timeout(self._COMMAND_SECONDS):
                await self._pubsub.aclose()
        self._pubsub = self._conn.pubsub(ignore_subscribe_messages=True)
        self._subscribed.clear()
        self._lost = True


class PostgresDoorbellBackend(BroadcastBackend):
    """PostgreSQL LISTEN/NOTIFY that keeps listening.

    broadcaster's Postgres backend LISTENs and NOTIFYs on one asyncpg connection, which fails
    with "another operation is in progress" when both happen at once (broadcaster #22), and dies
    with that connection: after a restart nothing is heard or published again. Here one
    connection listens and another publishes. A supervisor watches the listening one (asyncpg
    reports a closed socket at once; a ping finds a path that silently drops everything),
    reconnects with backoff, LISTENs every channel again and rings each once, so every process
    reads its event log at once: NOTIFYs sent while it was away are lost, the log is not. The
    publishing connection is opened again by the first publish that finds it gone.
    """

    _CONNECT_SECONDS = 5.0  # an unreachable server costs a reconnect attempt this long at most
    _COMMAND_SECONDS = 2.0  # LISTEN, UNLISTEN and the ping: a silent path is given up after this
    _PING_SECONDS = 5.0  # how often an idle listening connection proves it is still there
    _MAX_PENDING = 10_000  # doorbells not yet taken by broadcaster; a dropped one is polled for

    def __init__(self, url: str) -> None:
        self._url = url
        self._channels: set[str] = set()  # wanted; LISTENed on the current connection, if any
        self._queue: asyncio.Queue[Event] = asyncio.Queue(self._MAX_PENDING)
        self._listening: asyncpg.Connection | None = None
        self._publishing: asyncpg.Connection | None = None
        self._listen_lock = asyncio.Lock()  # one command at a time on the listening connection
        self._publish_lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        # In the background: a process starts (and serves from its log) while the broadcast is
        # away, and hears doorbells once it is back, like the Redis backend.
        self._supervisor = asyncio.create_task(self._supervise(), name="postgres doorbell listener")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await _close(self._listening)
        await _close(self._publishing)
        self._listening = self._publishing = None

    async def subscribe(self, channel: str) -> None:
        async with self._listen_lock:
            self._channels.add(channel)
            if self._listening is None:
                return  # LISTENed (and rung) when the connection is back
            try:
                async with asyncio.timeout(self._COMMAND_SECONDS):
                    await self._listening.add_listener(channel, self._notified)
            except _CONNECTION_ERRORS as error:
                log.warning("PostgreSQL broadcast lost during LISTEN %s: %s", channel, error)
                self._listening.terminate()  # the supervisor reconnects and LISTENs it again

    async def unsubscribe(self, channel: str) -> None:
        async with self._listen_lock:
            self._channels.discard(channel)
            if self._listening is None:
                return
            try:
                async with asyncio.timeout(self._COMMAND_SECONDS):
                    await self._listening.remove_listener(channel, self._notified)
            except _CONNECTION_ERRORS:
                self._listening.terminate()  # gone with the connection; a new one won't LISTEN

    async def publish(self, channel: str, message: str) -> None:
        async with self._publish_lock:
            try:
                await self._notify(channel, message)
            except _CONNECTION_ERRORS:
                # A connection the server closed (a restart) fails once, then is replaced:
                # without this second try the first doorbell after every restart is lost.
                await self._notify(channel, message)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _notify(self, channel: str, message: str) -> None:
        try:
            if self._publishing is None or self._publishing.is_closed():
                self._publishing = await asyncpg.connect(self._url, timeout=self._CONNECT_SECONDS)
            await self._publishing.execute("SELECT pg_notify($1, $2)", channel, message)
        except BaseException:
            # Failed, or cut short by the caller's deadline mid-way: the connection's state is
            # unknown, so the next publish starts on a new one.
            if self._publishing is not None:
                self._publishing.terminate()
                self._publishing = None
            raise

    def _notified(
        self, connection: asyncpg.Connection, pid: int | None, channel: str, payload: str
    ) -> None:
        try:
            self._queue.put_nowait(Event(channel=channel, message=payload))
        except asyncio.QueueFull:
            log.warning("doorbell of %s dropped: %d waiting", channel, self._MAX_PENDING)

    async def _supervise(self) -> None:
        backoff = 0.1
        while True:
            try:
                conn = await asyncpg.connect(self._url, timeout=self._CONNECT_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "PostgreSQL broadcast unreachable (%r); retrying in %.1fs", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                await self._listen_on(conn)
                backoff = 0.1
                await self._watch(conn)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever it was, a new connection is the way on
                if not isinstance(error, _CONNECTION_ERRORS):
                    log.exception("PostgreSQL broadcast listener failed; reconnecting")
                log.warning("PostgreSQL broadcast lost (%r); reconnecting", error)
            finally:
                async with self._listen_lock:
                    self._listening = None
                conn.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        """LISTENs every wanted channel on a new connection, then rings each once."""
        async with self._listen_lock:
            async with asyncio.timeout(self._COMMAND_SECONDS):
                for channel in self._channels:
                    await conn.add_listener(channel, self._notified)
            self._listening = conn
            channels = list(self._channels)
        if channels:
            log.warning("PostgreSQL broadcast back: each of %d channels rings once", len(channels))
        for channel in channels:
            self._notified(conn, None, channel, "reconnected")

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Returns (raising) when the connection is gone: closed, which asyncpg reports at once,
        or silent, which a ping finds."""
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _: closed.set())
        while not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._PING_SECONDS):
                    await closed.wait()
            if conn.is_closed():
                break
            async with self._listen_lock, asyncio.timeout(self._COMMAND_SECONDS):
                await conn.fetchval("SELECT 1")
        raise ConnectionResetError("the listening connection closed")


# What a lost or unreachable PostgreSQL raises (TimeoutError: a silent path, given up on).
_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # the server is shutting down
)


async def _close(conn: asyncpg.Connection | None) -> None:
    if conn is None:
        return
    try:
        await conn.close(timeout=2)  # a goodbye, unless the path is dead
    except Exception:
        conn.terminate()


def create_broadcast(url: str) -> Broadcast:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return Broadcast(backend=PostgresDoorbellBackend("postgresql://" + url[len(prefix) :]))
    if url.startswith(("redis://", "rediss://")):
        return Broadcast(backend=RedisDoorbellBackend(url))
    return Broadcast(url)


def account_channel(account_id: uuid.UUID) -> str:
    # A Postgres channel is an identifier of at most 63 bytes: "account_" and 32 hex digits.
    return f"account_{account_id.hex}"


def user_channel(user_id: uuid.UUID) -> str:
    """A user's own channel (their read marks): "user_" and 32 hex digits, an identifier too."""
    return f"user_{user_id.hex}"


def presence_channel(account_id: uuid.UUID) -> str:
    """Who has which of the account's escalations open (live/presence.py): "presence_" and 32 hex
    digits, an identifier too. Never in the event log: the account's doorbell rings for commits."""
    return f"presence_{account_id.hex}"
