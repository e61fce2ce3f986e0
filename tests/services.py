"""The real services the tests talk to, and what happens when one is missing.

In CI (CI=true) a missing service fails the run; elsewhere the test skips, naming the service.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "HANDOFF_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("HANDOFF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(service: str, why: str) -> None:
    message = f"{service} is not available: {why}"
    if in_ci():
        pytest.fail(f"{message} (CI requires it)", pytrace=False)
    pytest.skip(message)


def _reachable(url: str, default_port: int) -> str | None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as error:
        return f"{host}:{port} refused ({error})"


def require_postgres() -> None:
    problem = _reachable(POSTGRES_URL, 5432)
    if problem:
        unavailable("PostgreSQL", problem)


def require_redis() -> None:
    problem = _reachable(REDIS_URL, 6379)
    if problem:
        unavailable("Redis", problem)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = urlparse(url.replace("postgresql+asyncpg://", "postgresql://"))
    if database is not None:
        parsed = parsed._replace(path="/" + database)
    return parsed.geturl()


def with_database(url: str, database: str) -> str:
    return _asyncpg_dsn(url, database).replace("postgresql://", "postgresql+asyncpg://")


async def _admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def create_postgres_database(prefix: str = "handoff_test") -> str:
    """A new, empty database beside the configured one; returns its SQLAlchemy URL.

    Its commits do not wait for the disk (synchronous_commit off, set on this database only,
    never the server's default): a server crash could lose its last commits, which a throwaway
    database does not mind; what every session sees, and when, is the same."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(
        _admin(
            f'CREATE DATABASE "{name}"',
            f'ALTER DATABASE "{name}" SET synchronous_commit = off',
        )
    )
    return with_database(POSTGRES_URL, name)


def drop_postgres_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Emptier:
    """Empties a migrated PostgreSQL database before each test, through one connection kept open
    on an event loop of its own, in a thread (a test's loop ends with the test; a connection per
    test costs a handshake and a backend). DELETE, dependents first, in one transaction (the
    statements of one simple query make one): on tables of a few rows it takes a millisecond or
    two, where TRUNCATE, which gives every table and index a new file, took 25 to 170 ms."""

    def __init__(self, url: str, tables_dependents_first: list[str]) -> None:
        self.url = url
        self._dsn = _asyncpg_dsn(url)
        self._sql = "; ".join(f"DELETE FROM {table}" for table in tables_dependents_first)
        self._connection = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="database emptier", daemon=True
        )
        self._thread.start()

    def empty(self) -> None:
        asyncio.run_coroutine_threadsafe(self._empty(), self._loop).result()

    async def _empty(self) -> None:
        import asyncpg

        for attempt in (1, 2):
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._dsn)
            try:
                await self._connection.execute(self._sql)
                return
            except (
                OSError,
                asyncpg.InterfaceError,  # the connection is gone
                asyncpg.PostgresConnectionError,
                asyncpg.exceptions.OperatorInterventionError,  # the server was restarted
            ):
                if attempt == 2:
                    raise
                self._connection.terminate()  # once more, on a new connection

    def close(self) -> None:
        async def close() -> None:
            if self._connection is not None and not self._connection.is_closed():
                await self._connection.close()

        try:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
