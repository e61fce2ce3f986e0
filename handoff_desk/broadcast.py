"""The broadcaster backends the desk supports, with the Postgres backend made safe to share."""

from __future__ import annotations

import asyncio

import asyncpg
from broadcaster import Broadcast
from broadcaster._backends.postgres import PostgresBackend


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
    return Broadcast(url)


def account_channel(account_id) -> str:
    # A Postgres channel is an identifier of at most 63 bytes: "account_" and 32 hex digits.
    return f"account_{account_id.hex}"
