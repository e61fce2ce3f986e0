"""The engine and the two kinds of transaction the desk uses: reads, and writes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, exc
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel.ext.asyncio.session import AsyncSession

_IMMEDIATE = "handoff_desk_sqlite_immediate"


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver the stack uses."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def create_engine(url: str, *, pool_size: int = 10, must_exist: bool = False) -> AsyncEngine:
    """`must_exist`: a SQLite file that is not there is an unavailable database, not a new one
    (migrations create it; a server must not answer from an empty file made in its place)."""
    if url.startswith("sqlite"):
        # Writers wait for each other (busy timeout) instead of failing with "database is locked".
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        if must_exist:
            _keep_to_the_file(engine)
        return engine
    # No pre-ping: it costs a round trip per checkout. A connection the server closed (a
    # restart) is known closed locally and replaced at checkout for free (below); one found dead
    # only on use fails that one request with a retryable error (`unavailable`), and SQLAlchemy
    # then invalidates the whole pool, so the next request connects afresh.
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _survive_restarts(engine)
    return engine


def _survive_restarts(engine: AsyncEngine) -> None:
    from asyncpg.exceptions import InternalClientError

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: DBAPIConnection,
        _record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        is_closed = getattr(dbapi_connection.driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            # Closed by the server (a restart, most likely): so are the others made before it.
            raise exc.InvalidatePoolError("the server closed this pooled connection")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A server shutting down sends each connection a FATAL error, then closes it; a
        # statement sent in between finds asyncpg's protocol still consuming that error
        # ("another operation is in progress"). Such a connection is unusable: a disconnect.
        cause = context.original_exception
        if isinstance(cause, InternalClientError) or isinstance(
            cause.__cause__, InternalClientError
        ):
            context.is_disconnect = True


_FILE = "handoff_desk_sqlite_file"


def _keep_to_the_file(engine: AsyncEngine) -> None:
    """Connections open the database file only if it exists, and a pooled connection is used
    only while the path still names the file it opened: one renamed, moved or deleted under a
    running server is answered as unavailable (SQLITE_CANTOPEN), not served from a file the
    path no longer names (whose writes a restart would not find). One stat per checkout."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).absolute()

    def identity() -> tuple[int, int] | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    @event.listens_for(engine.sync_engine, "do_connect")
    def _open_existing(
        _dialect: Dialect, _record: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        cargs[0] = path.as_uri() + "?mode=rw"  # read-write, never create
        cparams["uri"] = True

    @event.listens_for(engine.sync_engine, "connect")
    def _note_file(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_FILE] = identity()

    @event.listens_for(engine.sync_engine, "checkout")
    def _same_file(
        _dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        if identity() != record.info.get(_FILE):
            # Reconnecting finds the file, or fails as unavailable; so do the other pooled ones.
            raise exc.InvalidatePoolError("the database file moved or is gone")


# SQLSTATE classes and codes that mean "the server cannot be reached or is going away":
# connection exceptions, shutdowns and startup (57P01-57P03), too many connections, and a
# database renamed or dropped under a running server (3D000, on connecting).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "3D000")


def unavailable(error: BaseException | None) -> bool:
    """The database could not be reached, or dropped the connection: a later retry may
    succeed. False for every error a retry would only repeat (constraints, bad SQL)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, OSError | exc.TimeoutError | exc.DisconnectionError):
            return True  # refused, reset, timed out; or no pooled connection came free
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if getattr(error, "sqlite_errorname", None) == "SQLITE_CANTOPEN":
            return True  # the database file is not there (see `_keep_to_the_file`)
        error, seen = error.__cause__, seen + 1  # what the driver's error was raised from
    return False


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that we can choose BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first and
        # writes later cannot wait for the lock and fails at once when another writer holds it.
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Owns the engine; hands out one session per unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        write_engine = engine.execution_options(**{_IMMEDIATE: True}) if self.is_sqlite else engine
        # Reads on PostgreSQL run in autocommit: no BEGIN and ROLLBACK round trips around them.
        # Each statement sees what is committed when it runs; no read spans two statements
        # whose consistency matters (writes take their own transaction and locks).
        read_engine = (
            engine if self.is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read_engine = read_engine
        self._reads = async_sessionmaker(read_engine, class_=AsyncSession, expire_on_commit=False)
        self._writes = async_sessionmaker(write_engine, class_=AsyncSession, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url, must_exist=True))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reads() as session:
            yield session

    @asynccontextmanager
    async def read_rows(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection for reads of plain rows (no ORM entities to build)."""
        async with self._read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._writes() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
