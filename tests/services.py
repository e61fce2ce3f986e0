"""The real services the tests talk to, and what happens when one is missing.

In CI (CI=true) a missing service fails the run; elsewhere the test skips, naming the service.
"""

from __future__ import annotations

import asyncio
import os
import socket
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


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_postgres_database(prefix: str = "handoff_test") -> str:
    """A new, empty database beside the configured one; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return with_database(POSTGRES_URL, name)


def drop_postgres_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
