"""Request ids and JSON log lines, as an operator reads them."""

from __future__ import annotations

import contextlib
import json
import re

import httpx
import pytest
from sqlalchemy import text

from db.engine import create_engine
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.server import logging_as_configured_by_main
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

QUEUE = "{ handoffQueue(first: 5) { unreadCount edges { node { id unread } } } }"
GENERATED = re.compile(r"[0-9a-f]{16}")


async def test_a_sane_request_id_is_kept_and_any_other_is_replaced(api):
    async def request_id(given: str | None) -> str:
        headers = {"x-request-id": given} if given is not None else {}
        body = {"query": "{ me { name } }"}
        response = await api.client.post("/graphql", json=body, headers=headers)
        return response.headers["x-request-id"]

    assert await request_id("abc-123") == "abc-123"
    assert await request_id("Trace.0_a-B") == "Trace.0_a-B"
    made = [await request_id(None), await request_id(None)]
    assert all(GENERATED.fullmatch(m) for m in made) and made[0] != made[1]
    for insane in ("two words", "x" * 65, "a/b", "<script>", ""):
        assert GENERATED.fullmatch(await request_id(insane)), insane
    health = await api.client.get("/healthz", headers={"x-request-id": "probe-1"})
    assert health.headers["x-request-id"] == "probe-1"


@contextlib.asynccontextmanager
async def table_missing(desk, table: str):
    """The database loses a table under a running server: an unexpected error, for real."""
    engine = create_engine(desk.settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
        await engine.dispose()


async def test_an_unexpected_error_is_logged_as_json_with_the_request_id_and_error_id(
    in_process, desk, team, settings
):
    # Served in the test's process, logging as `handoff-desk serve` with HANDOFF_LOG_FORMAT=json
    # does (tests/system/test_secrets.py reads a real server's JSON log).
    server = await in_process()
    headers = {
        "authorization": f"Bearer {team.acme['sam'].token}",
        "x-request-id": "abc-123",
        "accept": "application/json",
    }
    with logging_as_configured_by_main("json", settings) as log:
        async with (
            table_missing(desk, "handoff_seen"),
            httpx.AsyncClient(base_url=server.url) as c,
        ):
            response = await c.post("/graphql", json={"query": QUEUE}, headers=headers)
    assert response.headers["x-request-id"] == "abc-123"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert error_id in error["message"] and "handoff_seen" not in error["message"]

    def entries() -> list[dict]:
        lines = log.getvalue().splitlines()
        return [json.loads(line) for line in lines]  # every line is one JSON object

    async def logged():
        return [e for e in entries() if error_id in e["message"]]

    [entry] = await wait_for(logged, "the error's log line")
    assert entry["request_id"] == "abc-123"
    assert entry["level"] == "ERROR" and entry["logger"] == "handoff_desk.errors"
    assert "handoff_seen" in entry["exception"]  # the cause is in the log, not the answer
    assert entry["timestamp"].endswith("+00:00")
    fields = {"timestamp", "level", "logger", "message", "request_id"}
    assert all(fields <= e.keys() for e in entries())
