"""The engine and the two kinds of transaction the desk uses: reads, and writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

_IMMEDIATE = "handoff_desk_sqlite_immediate"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Writers wait for each other (busy timeout) instead of failing with "database is locked".
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
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
    def _on_checkout(dbapi_connection, _record, _proxy) -> None:
        is_closed = getattr(dbapi_connection.driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            # Closed by the server (a restart, most likely): so are the others made before it.
            raise exc.InvalidatePoolError("the server closed this pooled connection")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context) -> None:
        # A server shutting down sends each connection a FATAL error, then closes it; a
        # statement sent in between finds asyncpg's protocol still consuming that error
        # ("another operation is in progress"). Such a connection is unusable: a disconnect.
        cause = context.original_exception
        if isinstance(cause, InternalClientError) or isinstance(
            cause.__cause__, InternalClientError
        ):
            context.is_disconnect = True


# SQLSTATE classes and codes that mean "the server cannot be reached or is going away":
# connection exceptions, shutdowns and startup (57P01-57P03), too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


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
        error, seen = error.__cause__, seen + 1  # what the driver's error was raised from
    return False


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control from the driver so that we can choose BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
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
        return cls(create_engine(url))

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
