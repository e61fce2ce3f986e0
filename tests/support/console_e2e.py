"""The web console, driven the way a person uses it: what its tests share (the whole story:
tests/api/test_console_e2e.py)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator

import pytest

from db.engine import Database
from handoff_desk.app import create_app
from handoff_desk.demo import seed_demo
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from tests.inprocess import serving
from tests.server import free_port

SECRET = secrets.token_urlsafe(48)  # made per run: servers refuse a placeholder


@pytest.fixture
async def demo_settings(sqlite_template, tmp_path) -> Settings:
    """A migrated SQLite file with the demo's accounts, users and sessions, as `serve --demo`
    seeds them."""
    path = tmp_path / "desk.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        token_secret=SECRET,
        retry_base_seconds=0.1,
        # Assessments run in a worker the test starts when it wants them to land, on a desk of
        # its own: the server hears of them through its poll of the event log.
        run_workers=False,
        event_poll_seconds=0.2,
    )
    desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
    try:
        assert await seed_demo(desk)
    finally:
        await desk.db.dispose()
    return settings


class ConsoleServer:
    """The app on real sockets at a fixed address: stopped, it can come back at the same one
    (the page reconnects to where it was loaded from)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self._running: contextlib.AsyncExitStack | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(serving(create_app(self.settings), self.port))
            self._running = stack.pop_all()

    async def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()


@pytest.fixture
async def server(demo_settings) -> AsyncIterator[ConsoleServer]:
    console = ConsoleServer(demo_settings)
    await console.start()
    try:
        yield console
    finally:
        await console.stop()
