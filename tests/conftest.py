"""Fixtures: every database test runs on SQLite and on PostgreSQL, against migrated schemas."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from sqlmodel import SQLModel

import db.models  # noqa: F401  (tables on the metadata)
from db.engine import Database, create_engine
from db.migrate import upgrade
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from resolvers import auth
from resolvers.desk import Desk
from tests import services, tiers
from tests.factories import Team, make_team
from tests.private_services import (  # noqa: F401  (fixtures: throwaway PostgreSQL, Redis)
    private_postgres,
    private_postgres_cluster,
    private_redis,
)
from tests.server import CHEAP_HASHING

# Fixtures that tests of several tiers share (tests/support/).
pytest_plugins = ["tests.support.console_e2e", "tests.support.fuzz"]

# Passwords hashed in this process use the cheap profile (servers the tests start do too, see
# tests/server.py); tests/api/test_password_hashing.py switches back to production's for its test.
auth.use_hashing(CHEAP_HASHING)

DATABASES = ["sqlite", "postgresql"]
# Made once per test session: servers refuse a placeholder or a weak one.
TOKEN_SECRET = secrets.token_urlsafe(48)
# Which execution the apps under test use. By default, on SQLite graphql-core's own (the lean
# executor off, HANDOFF_LEAN_EXECUTOR=false) and on PostgreSQL the lean executor (production's
# default): the whole API suite runs once with each, and every query is also answered by a
# shadow app with the other and compared as text (`Shadow`). HANDOFF_TEST_LEAN_EXECUTOR=true or
# false puts every app on one.
_LEAN_OVERRIDE = os.environ.get("HANDOFF_TEST_LEAN_EXECUTOR", "").lower()


def _lean_executor(database_url: str) -> bool:
    if _LEAN_OVERRIDE:
        return _LEAN_OVERRIDE not in ("0", "false", "no", "off")
    return not database_url.startswith("sqlite")


# Before pytest-xdist's own hook, which reads the xdist_group markers given here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "private_postgres_cluster" in fixtures:
            # A module's private cluster is made once per worker that runs its tests (initdb
            # costs seconds): under `--dist loadgroup` one worker runs them all.
            item.add_marker(pytest.mark.xdist_group(f"cluster:{item.module.__name__}"))
        # One tier each (README, "Test tiers"), unless the test names its own.
        if (why := tiers.misplaced(item)) is not None:
            raise pytest.UsageError(why)
        item.add_marker(tiers.folder_tier(item))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "desk.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return str(path)


def _migrated_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated; dropped when the fixture ends."""
    services.require_postgres()
    url = services.create_postgres_database()
    try:
        _migrate(url)
        yield url
    finally:
        services.drop_postgres_database(url)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    yield from _migrated_postgres_database()


@pytest.fixture(scope="session")
def postgres_emptier(postgres_database: str) -> Iterator[services.Emptier]:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    emptier = services.Emptier(postgres_database, tables_dependents_first=tables)
    try:
        yield emptier
    finally:
        emptier.close()


@pytest.fixture(scope="session")
def sqlite_in_memory() -> Iterator[Path | None]:
    """Where this worker keeps its tests' SQLite files: a directory of /dev/shm (tmpfs) when there
    is one, where a commit waits for no disk (an fsync took 1 to 5 ms on a busy machine, and a
    test commits dozens of times). The PostgreSQL databases have synchronous_commit off for the
    same reason: what a test sees never depends on surviving a crash of the machine."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="handoff-tests-", dir=shm))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_home(sqlite_in_memory, tmp_path_factory) -> Path:
    """Where this worker's SQLite tests keep their database, one test after another: one path,
    so that one engine (`sqlite_engine`) serves them all."""
    return (sqlite_in_memory or tmp_path_factory.mktemp("sqlite")) / "desk.db"


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path: Path = request.getfixturevalue("sqlite_home")
        # What the test before this one left: its file, the -wal and -shm files beside it, and
        # anything a server kept beside them (a token secret).
        for left in path.parent.glob(f"{path.name}*"):
            left.unlink()
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        (tmp_path / path.name).symlink_to(path)  # in the test's own folder too, as a test expects
        return f"sqlite+aiosqlite:///{path}"
    emptier = request.getfixturevalue("postgres_emptier")
    emptier.empty()  # every row of the tests before this one
    return emptier.url


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated database of each kind that one module's tests share, for what they only read:
    data built once per module (see `module_desk`), not once per test. A test that writes uses
    `database_url` instead, and the module checks its shared data is left as it was."""
    if request.param == "sqlite":
        in_memory = request.getfixturevalue("sqlite_in_memory")
        directory = Path(tempfile.mkdtemp(dir=in_memory or tmp_path_factory.mktemp("module")))
        path = directory / "desk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    yield request.getfixturevalue("module_postgres_database")


@pytest.fixture(scope="module")
def module_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own for one module (see `module_database_url`), migrated,
    and dropped when the module's tests are done."""
    yield from _migrated_postgres_database()


@pytest.fixture(params=DATABASES)
def empty_database(request, tmp_path):
    """An empty database of each kind, to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    services.require_postgres()
    url = services.create_postgres_database("handoff_migration")
    try:
        yield url
    finally:
        services.drop_postgres_database(url)


def _settings(database_url: str, *, query_cache: bool = True) -> Settings:
    return Settings(
        database_url=database_url,
        token_secret=TOKEN_SECRET,
        run_workers=False,
        query_cache_mb=64 if query_cache else 0,
        lean_executor=_lean_executor(database_url),
    )


@pytest.fixture(scope="session")
def engines() -> dict[str, Database]:
    """One engine per database this worker's tests use one after another (`database_url`): each
    test's connections are closed when it ends (`desk`), while the statements compiled for it
    (a third of an API test's time when each test compiled its own) and the dialect's
    first-connect queries are kept for the next."""
    return {}


@pytest.fixture
def settings(request, database_url: str) -> Settings:
    cold = request.node.get_closest_marker("no_query_cache") is not None
    return _settings(database_url, query_cache=not cold)


@pytest.fixture
async def desk(settings: Settings, engines: dict[str, Database]) -> AsyncIterator[Desk]:
    url = settings.database_url
    if url not in engines:
        engines[url] = Database.from_url(url)
    desk = Desk(settings=settings, db=engines[url])
    yield desk
    await desk.db.dispose()


@pytest.fixture(scope="module")
def module_settings(module_database_url: str) -> Settings:
    """The settings of the apps on the module's shared database (`module_database_url`)."""
    return _settings(module_database_url)


@pytest.fixture(scope="module")
async def module_desk(module_settings: Settings) -> AsyncIterator[Desk]:
    desk = Desk(settings=module_settings, db=Database.from_url(module_settings.database_url))
    yield desk
    await desk.db.dispose()


@pytest.fixture(scope="module")
async def module_team(module_desk: Desk) -> Team:
    """`team`, made once on the module's shared database."""
    return await make_team(module_desk)


def _is_query(document: str) -> bool:
    """Whether the document runs a query (the client sends no operationName): anything else is
    a mutation, which must not run twice, or is refused before anything executes."""
    try:
        operations = [
            d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
        ]
    except GraphQLError:
        return False
    return len(operations) == 1 and operations[0].operation is OperationType.QUERY


class Shadow:
    """A second app on the same database with the other executor (lean or graphql-core's) and
    no answer cache, built on the first query it is asked: every query is answered by both, and
    the two answers must be the same text, byte for byte (key order included)."""

    def __init__(
        self,
        settings: Settings,
        stack: contextlib.AsyncExitStack,
        database: Database | None = None,
    ) -> None:
        self.settings = settings.model_copy(
            update=dict(
                lean_executor=not settings.lean_executor, query_cache_mb=0, run_workers=False
            )
        )
        self.stack = stack
        self.database = database
        self.client: httpx.AsyncClient | None = None

    async def compare(self, body: dict, headers: dict, response: httpx.Response) -> None:
        if self.client is None:
            app = create_app(self.settings, self.database)
            await self.stack.enter_async_context(app.router.lifespan_context(app))
            self.client = await self.stack.enter_async_context(_client(app))
        twin = await self.client.post("/graphql", json=body, headers=headers)
        answers = {
            self.settings.lean_executor: (twin.status_code, twin.text),
            not self.settings.lean_executor: (response.status_code, response.text),
        }
        assert answers[True] == answers[False], (
            f"the lean executor answered {answers[True]}, graphql-core {answers[False]}"
        )


@dataclass
class Api:
    """Speaks GraphQL over HTTP to the app, as a client would. With a shadow, every query is
    also answered by the other executor, and must be answered the same."""

    client: httpx.AsyncClient
    shadow: Shadow | None = None

    async def post(self, query: str, variables: dict | None = None, token: str | None = None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables or {}}
        response = await self.client.post("/graphql", json=body, headers=headers)
        if self.shadow is not None and _is_query(query):
            await self.shadow.compare(body, headers, response)
        return response.json()

    async def data(self, query: str, variables: dict | None = None, token: str | None = None):
        body = await self.post(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict | None = None, token: str | None = None):
        """The single error a request answers with; the test expects one."""
        body = await self.post(query, variables, token)
        assert body.get("errors"), f"expected an error, got {body}"
        return body["errors"][0]


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk.test")


@contextlib.asynccontextmanager
async def _api(settings: Settings, database: Database) -> AsyncIterator[Api]:
    # The caller's engine: its statements are compiled once for it, not once per engine.
    app = create_app(settings, database)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(_client(app))
        # The lean executor's answers, checked against graphql-core's as the tests go.
        yield Api(client, Shadow(settings, stack, database))


@pytest.fixture
async def api(settings: Settings, desk: Desk) -> AsyncIterator[Api]:
    async with _api(settings, desk.db) as api:
        yield api


@pytest.fixture(scope="module")
async def module_api(module_settings: Settings, module_desk: Desk) -> AsyncIterator[Api]:
    """`api` on the module's shared database, checked against the other executor the same way:
    one app (and shadow) for the module's tests, on the module's engine (`module_desk`), set up
    once for the module rather than once per test. Its answer cache lives as long: a query a
    test repeats may be answered from it, while the shadow, which keeps no answers, still runs
    every query afresh and must answer the same text."""
    async with _api(module_settings, module_desk.db) as api:
        yield api


@pytest.fixture
async def fresh(settings):
    """The same database through an app that never reuses answers."""
    app = create_app(settings.model_copy(update=dict(query_cache_mb=0)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fresh.test") as client:
            yield Api(client)


@pytest.fixture
async def team(desk: Desk) -> Team:
    """Two accounts: 'Acme' (admin, three engineers, a viewer) and 'Globex' (admin, engineer)."""
    return await make_team(desk)


@pytest.fixture
def serve(settings: Settings, tmp_path):
    """Starts real `handoff-desk serve` processes on this test's database; stops them after."""
    started: list = []

    def start(command: str = "serve", *, ready: bool = True, options: tuple = (), **env: str):
        # ready=False: launched, not waited for, so that several start side by side
        # (tests.server.wait_ready waits for them). options: more of `serve`'s, e.g. ("--demo",).
        from tests.server import ServerProcess

        base = {
            "HANDOFF_DATABASE_URL": settings.database_url,
            "HANDOFF_TOKEN_SECRET": settings.token_secret,
            "HANDOFF_RETRY_BASE_SECONDS": "0.1",
        }
        log = tmp_path / f"server-{len(started)}.log"
        process = ServerProcess(
            {**base, **env}, log, command=command, options=("--log-level", "warning", *options)
        )
        started.append(process)
        return process.start() if ready else process.launch()

    yield start
    from tests.server import stop_together

    stop_together(*started)  # side by side
