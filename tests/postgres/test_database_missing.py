"""A database renamed under a running desk (PostgreSQL), or its file moved away (SQLite): every
request is answered 503, retryable, with an error id the log shares; never a bare 500 nor an
answer from a file the path no longer names. Brought back, the desk serves again."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from db.engine import Database
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from tests import services
from tests.conftest import _migrate
from tests.factories import make_escalation, make_team

pytestmark = pytest.mark.anyio

SECRET = "test-secret-not-for-production-0123456789"
ME = "{ me { name } }"
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"


async def _admin_sql(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(services._asyncpg_dsn(services.POSTGRES_URL))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class PostgresDatabase:
    def __init__(self) -> None:
        services.require_postgres()
        self.url = services.create_postgres_database("handoff_gone")
        self.name = urlparse(self.url).path.lstrip("/")
        _migrate(self.url)

    async def take_away(self) -> None:
        """Renamed, as an operator would: its sessions ended first (RENAME requires it)."""
        await _admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
            f'ALTER DATABASE "{self.name}" RENAME TO "{self.name}_x"',
        )

    async def bring_back(self) -> None:
        await _admin_sql(f'ALTER DATABASE "{self.name}_x" RENAME TO "{self.name}"')

    def close(self) -> None:
        services.drop_postgres_database(self.url)
        services.drop_postgres_database(services.with_database(self.url, self.name + "_x"))


class SqliteDatabase:
    def __init__(self, template: str, directory: Path) -> None:
        self.path = directory / "desk.db"
        shutil.copy(template, self.path)
        self.url = f"sqlite+aiosqlite:///{self.path}"
        self.aside = directory / "aside"
        self.aside.mkdir()

    async def take_away(self) -> None:
        """Moved away (a restore gone wrong, a volume unmounted): the path names no file."""
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(self.aside / source.name)

    async def bring_back(self) -> None:
        for moved in self.aside.iterdir():
            moved.rename(self.path.parent / moved.name)

    def close(self) -> None:
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def gone(request, tmp_path):
    if request.param == "sqlite":
        database = SqliteDatabase(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        database = PostgresDatabase()
    yield database
    database.close()


async def test_a_database_taken_away_is_503_retryable_with_an_error_id(gone, caplog):
    caplog.set_level(logging.WARNING)
    settings = Settings(database_url=gone.url, token_secret=SECRET, run_workers=False)
    desk = Desk(settings=settings, db=Database.from_url(gone.url))
    try:
        team = await make_team(desk)
        handoff = await make_escalation(desk, team.acme["alex"])
    finally:
        await desk.db.dispose()
    kim = team.acme["kim"]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:

            async def ask(query: str, variables: dict | None = None) -> httpx.Response:
                body = {"query": query, "variables": variables or {}}
                headers = {"authorization": f"Bearer {kim.token}"}
                return await http.post("/graphql", json=body, headers=headers)

            assert (await ask(ME)).json() == {"data": {"me": {"name": "Kim Senior"}}}
            await gone.take_away()
            caplog.clear()
            # A query (its caller read before execution, for the answer cache) and a mutation.
            for query, variables in [(ME, None), (CLAIM, {"h": str(handoff.id)})] * 2:
                response = await ask(query, variables)
                _assert_retry_later(response, caplog.text)
            await gone.bring_back()
            answer = await ask(CLAIM, {"h": str(handoff.id)})
            assert answer.json() == {
                "data": {"claimHandoff": {"__typename": "ClaimHandoffSuccess"}}
            }


def _assert_retry_later(response: httpx.Response, logged: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    assert "Traceback" not in response.text and "Internal error" not in response.text
    (error,) = response.json()["errors"]
    assert "retry" in error["message"]
    extensions = error["extensions"]
    assert (extensions["code"], extensions["retryable"]) == ("SERVICE_UNAVAILABLE", True)
    assert len(extensions["errorId"]) == 12
    assert f"error {extensions['errorId']}" in logged  # the log line the id points at
