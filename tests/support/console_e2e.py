"""The web console, driven the way a person uses it: what its tests share (the whole story:
tests/api/test_console_e2e.py)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import col, select

from db.engine import Database
from db.enums import AssessmentStatus, HandoffIntent, IntakeType, Priority, SessionStatus
from db.models import Handoff, TroubleshootingSession, User
from handoff_desk.app import create_app
from handoff_desk.demo import seed_demo
from handoff_desk.settings import Settings
from resolvers.auth import issue_token
from resolvers.desk import Desk, transaction
from resolvers.handoffs import session_snapshot
from tests import services
from tests.inprocess import serving
from tests.server import free_port

SECRET = secrets.token_urlsafe(48)  # made per run: servers refuse a placeholder

CHROMIUM = Path("/usr/bin/chromium")

# Without the background-networking flags a machine without network makes Chromium slow.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The demo's data is seeded once and copied for each test, seeded again once it is this old: its
# escalations are timed from when they were raised (the urgent one is due 5 minutes after, and
# tests read "due in" and "overdue" badges), so a copy must not be much older than its test.
DEMO_MAX_AGE_SECONDS = 45.0


def demo_settings_for(path: Path | str) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        token_secret=SECRET,
        retry_base_seconds=0.1,
        # Assessments run in a worker the test starts when it wants them to land, on a desk of
        # its own: the server hears of them through its poll of the event log.
        run_workers=False,
        event_poll_seconds=0.2,
    )


@dataclass(frozen=True)
class SeededDemo:
    path: Path
    seeded_at: float  # time.monotonic()
    # A token per demo user (email): the users' ids are the same in every copy of the file.
    tokens: dict[str, str]


class DemoTemplates:
    """The demo's data seeded (as `serve --demo` seeds it) into a migrated SQLite file, kept to be
    copied: a copy costs a millisecond, seeding a third of a second."""

    def __init__(self, migrated: str, directory: Path) -> None:
        self._migrated = migrated
        self._directory = directory
        self._seeded: SeededDemo | None = None

    async def fresh(self) -> SeededDemo:
        seeded = self._seeded
        if seeded is None or time.monotonic() - seeded.seeded_at > DEMO_MAX_AGE_SECONDS:
            stale, seeded = seeded, await self._seed()
            self._seeded = seeded
            if stale is not None:
                shutil.rmtree(stale.path.parent, ignore_errors=True)
        return seeded

    async def _seed(self) -> SeededDemo:
        path = Path(tempfile.mkdtemp(dir=self._directory)) / "demo.db"
        shutil.copy(self._migrated, path)
        seeded_at = time.monotonic()
        desk = desk_on(demo_settings_for(path))
        try:
            assert await seed_demo(desk)
            async with desk.db.read() as db:
                users = (await db.exec(select(User))).all()
            tokens = {user.email: issue_token(desk, user).token for user in users}
        finally:
            await desk.db.dispose()  # the last connection closed: the file holds everything
        return SeededDemo(path=path, seeded_at=seeded_at, tokens=tokens)


def desk_on(settings: Settings) -> Desk:
    return Desk(settings=settings, db=Database.from_url(settings.database_url))


@pytest.fixture(scope="session")
def demo_templates(sqlite_template, sqlite_in_memory, tmp_path_factory) -> DemoTemplates:
    return DemoTemplates(sqlite_template, sqlite_in_memory or tmp_path_factory.mktemp("demo"))


@dataclass(frozen=True)
class Demo:
    settings: Settings
    tokens: dict[str, str]  # a demo user's token by email, as the login mutation gives it


@pytest.fixture
async def demo(demo_templates, sqlite_in_memory, tmp_path, request) -> Demo:
    """A migrated SQLite file of the test's own with the demo's accounts, users and sessions, as
    `serve --demo` seeds them (in memory where there is /dev/shm, linked from tmp_path)."""
    seeded = await demo_templates.fresh()
    path = tmp_path / "desk.db"
    if sqlite_in_memory is not None:
        file = Path(tempfile.mkdtemp(dir=sqlite_in_memory)) / path.name
        path.symlink_to(file)
        request.addfinalizer(lambda: shutil.rmtree(file.parent, ignore_errors=True))
    shutil.copy(seeded.path, path)
    return Demo(settings=demo_settings_for(path), tokens=seeded.tokens)


@pytest.fixture
def demo_settings(demo) -> Settings:
    return demo.settings


async def escalate_in_bulk(
    settings: Settings, email: str, summaries: Iterable[str], priority: Priority
) -> None:
    """Sessions of `email`'s escalated at `priority` in one transaction: their rows as
    `startSession` and `createHandoff` write them, without what those do besides that no test
    of the console's lists looks at (assessment jobs, emails, timers, events)."""
    desk = desk_on(settings)
    try:
        async with desk.db.read() as db:
            user = (await db.exec(select(User).where(col(User.email) == email))).one()
        async with transaction(desk) as tx:
            now = tx.now()
            sessions = [
                TroubleshootingSession(
                    account_id=user.account_id,
                    owner_id=user.id,
                    assignee_id=user.id,
                    intake_type=IntakeType.TICKET,
                    intake_content="-",
                    problem_summary=summary,
                    status=SessionStatus.ACTIVE,
                    created_at=now,
                    updated_at=now,
                )
                for summary in summaries
            ]
            handoffs = [
                Handoff(
                    account_id=user.account_id,
                    session_id=session.id,
                    intent=HandoffIntent.ESCALATE,
                    engineer_notes="stuck",
                    priority=priority,
                    priority_rank=priority.rank,
                    snapshot=session_snapshot(session, taken_at=now.isoformat()),
                    created_by_id=user.id,
                    created_at=now,
                    assessment_status=AssessmentStatus.PENDING,
                )
                for session in sessions
            ]
            for session, handoff in zip(sessions, handoffs, strict=True):
                session.handoff_count = 1
                session.status = SessionStatus.ESCALATED
                session.escalation_package = {
                    "handoff_id": str(handoff.id),
                    "escalated_at": now.isoformat(),
                }
            tx.session.add_all(sessions)
            await tx.session.flush()  # the sessions' rows before the handoffs that point at them
            tx.session.add_all(handoffs)
            tx.touch(user.account_id)  # the server's answers of the account move on
    finally:
        await desk.db.dispose()


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


@pytest.fixture(scope="session")
async def browser():
    """One Chromium for the session (a launch costs seconds): each test opens browser contexts
    of its own."""
    if not CHROMIUM.exists():
        services.unavailable("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright, expect
    except ImportError as error:
        services.unavailable("Chromium", f"playwright is not installed ({error})")
    expect.set_options(timeout=15_000)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def new_context(browser):
    """A fresh browser context (another person's browser), closed after the test."""
    contexts = []

    async def new_context():
        context = await browser.new_context(viewport={"width": 1280, "height": 860})
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        await context.close()
