"""Fixtures: every database test runs on SQLite and on PostgreSQL, against migrated schemas."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import db.models  # noqa: F401  (tables on the metadata)
from db.engine import Database, create_engine
from db.migrate import upgrade
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from tests import services
from tests.factories import Team, make_team
from tests.private_services import (  # noqa: F401  (fixtures: throwaway PostgreSQL, Redis)
    private_postgres,
    private_postgres_cluster,
    private_redis,
)

DATABASES = ["sqlite", "postgresql"]


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


@pytest.fixture(scope="session")
def postgres_database() -> AsyncIterator[str]:
    services.require_postgres()
    url = services.create_postgres_database()
    try:
        _migrate(url)
        yield url
    finally:
        services.drop_postgres_database(url)


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "desk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def settings(request, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        token_secret="test-secret-not-for-production-0123456789",
        run_workers=False,
        query_cache_mb=0 if request.node.get_closest_marker("no_query_cache") else 64,
    )


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
    yield desk
    await desk.db.dispose()


@dataclass
class Api:
    """Speaks GraphQL over HTTP to the app, as a client would."""

    client: httpx.AsyncClient

    async def post(self, query: str, variables: dict | None = None, token: str | None = None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
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


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            yield Api(client)


@pytest.fixture
async def team(desk: Desk) -> Team:
    """Two accounts: 'Acme' (admin, three engineers, a viewer) and 'Globex' (admin, engineer)."""
    return await make_team(desk)


@pytest.fixture
def serve(settings: Settings, tmp_path):
    """Starts real `handoff-desk serve` processes on this test's database; stops them after."""
    started: list = []

    def start(command: str = "serve", **env: str):
        from tests.server import ServerProcess

        base = {
            "HANDOFF_DATABASE_URL": settings.database_url,
            "HANDOFF_TOKEN_SECRET": settings.token_secret,
            "HANDOFF_RETRY_BASE_SECONDS": "0.1",
        }
        log = tmp_path / f"server-{len(started)}.log"
        process = ServerProcess({**base, **env}, log, command=command).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
