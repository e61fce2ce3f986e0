"""The statements each side of bench/write_path.py runs for one escalation, one won claim and
one lost claim, captured in process: the desk's with a `before_cursor_execute` listener on its
engine, the baseline's with asyncpg's query logger on its pool's connections (BEGIN and COMMIT
left out on both sides). The bench prints the counts and fails its check if the two sides do not
run the same statements in the same order (each named by its verb and table).

    .venv/bin/python -m bench.write_statements   # the two lists, side by side
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import event

from bench.common import TOKEN_SECRET, drop_postgres_database, fresh_postgres_database

WHAT = ("escalate", "claim won", "claim lost")
_TABLE = r'"?(\w+)"?'
_SHAPES = (
    (re.compile(rf"^\s*INSERT\s+INTO\s+{_TABLE}", re.I | re.S), "INSERT {}"),
    (re.compile(rf"^\s*UPDATE\s+{_TABLE}", re.I | re.S), "UPDATE {}"),
    (re.compile(rf"^\s*DELETE\s+FROM\s+{_TABLE}", re.I | re.S), "DELETE {}"),
    (re.compile(rf"^\s*SELECT\b.*?\bFROM\s+{_TABLE}", re.I | re.S), "SELECT {}"),
)
_LOCK = re.compile(r"\bFOR\s+(UPDATE|SHARE)\s*$", re.I)
_TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.I)
# asyncpg's own, on a connection's first use of a type (the desk's run unseen by the listener).
_INTROSPECTION = re.compile(r"typeinfo_tree|set_config\('jit'|current_setting\('jit'\)")


def shape(sql: str) -> str:
    """A statement named by its verb and first table (and its row lock): what both sides must
    run alike, whatever their spelling."""
    for pattern, name in _SHAPES:
        if found := pattern.match(sql):
            locked = _LOCK.search(sql.strip())
            lock = f" FOR {locked.group(1).upper()}" if locked else ""
            return name.format(found.group(1)) + lock
    return sql.split(None, 1)[0].upper()


class Capture:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def add(self, sql: str) -> None:
        if not _TRANSACTION.match(sql) and not _INTROSPECTION.search(sql):
            self.statements.append(sql)

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


async def _send(client: httpx.AsyncClient, document: str, variables: dict, token: str) -> bytes:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    body = json.dumps({"query": document, "variables": variables})
    response = await client.post("/graphql", content=body, headers=headers)
    return response.content


async def _three(client: httpx.AsyncClient, capture: Capture, work: dict) -> dict[str, list[str]]:
    """One escalation, one won claim, one lost claim (another claimer on the same escalation),
    each answer checked; the statements of each."""
    from bench.write_path import CLAIM, ESCALATE, NOTES

    session_id, escalator = work["session"]
    handoff_id = work["handoff"]
    winner, loser = work["claimers"]
    out: dict[str, list[str]] = {}
    steps = (
        ("escalate", ESCALATE, {"s": session_id, "n": NOTES}, escalator, b"CreateHandoffSuccess"),
        ("claim won", CLAIM, {"h": handoff_id}, winner, b"ClaimHandoffSuccess"),
        ("claim lost", CLAIM, {"h": handoff_id}, loser, b"AlreadyClaimed"),
    )
    for what, document, variables, token, expected in steps:
        capture.take()
        answer = await _send(client, document, variables, token)
        await asyncio.sleep(0.01)  # asyncpg hands its query log over on the next loop turns
        assert expected in answer, (what, answer)
        out[what] = capture.take()
    return out


async def desk_statements(url: str, work: dict) -> dict[str, list[str]]:
    from db.engine import normalize_database_url
    from handoff_desk.app import create_app
    from handoff_desk.settings import Settings

    settings = Settings(
        database_url=normalize_database_url(url), token_secret=TOKEN_SECRET, run_workers=False
    )
    app = create_app(settings)
    capture = Capture()

    def log(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        capture.add(statement)

    engine = app.state.desk.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", log)
    try:
        async with app.router.lifespan_context(app), _client(app) as client:
            return await _three(client, capture, work)
    finally:
        event.remove(engine, "before_cursor_execute", log)


async def baseline_statements(url: str, work: dict) -> dict[str, list[str]]:
    os.environ["HANDOFF_DATABASE_URL"] = url
    from bench.baseline_writes import app

    capture = Capture()

    def log(record) -> None:
        capture.add(record.query)

    async with app.router.lifespan_context(app):
        pool = app.state.pool

        class Logged:
            """The pool, each connection it lends logging its queries."""

            @contextlib.asynccontextmanager
            async def acquire(self) -> AsyncIterator:
                async with pool.acquire() as conn:
                    conn.add_query_logger(log)
                    try:
                        yield conn
                    finally:
                        conn.remove_query_logger(log)

        app.state.pool = Logged()
        try:
            async with _client(app) as client:
                return await _three(client, capture, work)
        finally:
            app.state.pool = pool


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


def compare(captured: dict[str, dict[str, list[str]]]) -> tuple[bool, list[str]]:
    """Whether both sides ran the same statements (by shape, in order), and lines saying so."""
    same = True
    lines = []
    for what in WHAT:
        desk = [shape(s) for s in captured["desk"][what]]
        baseline = [shape(s) for s in captured["baseline"][what]]
        alike = desk == baseline
        same &= alike
        lines.append(
            f"  statements, {what:<10} desk {len(desk):3}   baseline {len(baseline):3}"
            f"   {'same' if alike else 'DIFFERENT'}"
        )
        if not alike:
            width = max(map(len, desk), default=0)
            for n in range(max(len(desk), len(baseline))):
                left = desk[n] if n < len(desk) else ""
                right = baseline[n] if n < len(baseline) else ""
                mark = " " if left == right else "*"
                lines.append(f"    {mark} {left:<{width}}   {right}")
    return same, lines


async def capture_both(url: str, work: dict[str, dict]) -> dict[str, dict[str, list[str]]]:
    """`work`, by side: a session to escalate (with its escalator's token), an unclaimed
    escalation, and two claimers' tokens."""
    return {
        "desk": await desk_statements(url, work["desk"]),
        "baseline": await baseline_statements(url, work["baseline"]),
    }


async def plan_statements(url: str) -> dict[str, dict]:
    from bench.seed import add_sessions, add_users, seed

    claims = (await seed(url, accounts=1, handoffs_per_account=2, claimed_fraction=0.0))[0]
    _, claimers = await add_users(url, claims.id, 4)
    team = (await seed(url, accounts=1, handoffs_per_account=1))[0]
    token_of = dict(zip(team.users, team.tokens, strict=True))
    pairs = await add_sessions(url, team.id, team.users[1:], 2)
    return {
        side: {
            "session": (str(pairs[n][0]), token_of[pairs[n][1]]),
            "handoff": str(claims.handoffs[n]),
            "claimers": claimers[2 * n : 2 * n + 2],
        }
        for n, side in enumerate(("desk", "baseline"))
    }


def main() -> None:
    database = "handoff_bench_write_statements"
    url = fresh_postgres_database(database)
    try:
        work = asyncio.run(plan_statements(url))
        captured = asyncio.run(capture_both(url, work))
    finally:
        drop_postgres_database(database)
    same, lines = compare(captured)
    for what in WHAT:
        for side in ("desk", "baseline"):
            print(f"\n--- {side}: {what} ({len(captured[side][what])} statements)")
            for n, sql in enumerate(captured[side][what], 1):
                print(f"{n:3} {' '.join(sql.split())}")
    print()
    print("\n".join(lines))
    print("same statements" if same else "THE SIDES DIFFER")


if __name__ == "__main__":
    main()
