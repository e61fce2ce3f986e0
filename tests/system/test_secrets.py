"""Secrets an operator hands the desk stay secret: its system-tier tests (the whole story:
tests/api/test_secrets.py)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest
import websockets
from sqlalchemy import make_url

from handoff_desk import token_secret
from handoff_desk.demo import DEMO_PASSWORD
from tests.server import ROOT, ServerProcess, stop_together
from tests.support.secrets import HOW_TO_MAKE, PASSWORD
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio


LOGIN = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
  __typename ... on LoginSuccess { token } } }"""


def cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """`handoff-desk` as an operator runs it, with only the HANDOFF_ settings given here."""
    return cli_together([args, env], timeout=timeout)[0]


def cli_together(*runs: tuple[tuple[str, ...], dict], timeout: float = 60):
    """Several `handoff-desk` commands (arguments, settings) run side by side: what each did."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "handoff_desk.cli", *args],
            cwd=ROOT,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, env in runs
    ]
    done = []
    for process, (args, _) in zip(running, runs, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in running:
                other.kill()
            raise
        done.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return done


@pytest.fixture
def servers(tmp_path):
    """Starts `handoff-desk serve` with the given options and settings (ready=False: launched,
    not waited for); stops them after."""
    started: list[ServerProcess] = []

    def start(*options: str, ready: bool = True, **env: str) -> ServerProcess:
        log = tmp_path / f"server-{len(started)}.log"
        process = ServerProcess(env, log, options=options)
        started.append(process)
        return process.start(timeout=60) if ready else process.launch()

    yield start
    stop_together(*started)


async def test_the_server_that_refused_a_weak_secret_starts_with_a_strong_one_and_logs_no_secret(
    servers, settings
):
    """Logging at info as JSON, the server started with a strong secret logs no query string and
    no password (one server for both: the secret it starts with has nothing to do with what it
    logs)."""
    url = settings.database_url
    if not settings.is_sqlite:
        url = with_password(url)  # trust authentication ignores it
    if shutil.which("openssl"):  # as an operator makes one
        made = subprocess.run(["openssl", "rand", "-hex", "32"], capture_output=True, text=True)
        strong = made.stdout.strip()
    else:  # what `openssl rand -hex 32` writes (see test_32_random_bytes_pass_...)
        strong = secrets.token_hex(32)
    server = servers(
        "--log-level",
        "info",
        ready=False,  # it starts while the program refuses the weak secret, below
        HANDOFF_DATABASE_URL=url,
        HANDOFF_TOKEN_SECRET=strong,
        HANDOFF_LOG_FORMAT="json",
    )
    env = {"HANDOFF_DATABASE_URL": settings.database_url, "HANDOFF_PORT": "1"}
    weak = cli("serve", HANDOFF_TOKEN_SECRET="a" * 64, **env)
    assert weak.returncode == 2 and HOW_TO_MAKE in weak.stderr
    [line] = weak.stderr.splitlines()  # the program's whole stderr: one line
    assert line.startswith("error: HANDOFF_TOKEN_SECRET ") and weak.stdout == ""
    server.wait_ready(timeout=60)
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.post("/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}
    await _no_query_string_and_no_password_in_the_log(server)


async def test_the_demo_makes_a_secret_once_per_database_and_its_tokens_survive_a_restart(
    servers, settings, tmp_path
):
    env = {
        "HANDOFF_DATABASE_URL": settings.database_url,
        "HANDOFF_TOKEN_SECRET": "",  # unset
        "XDG_STATE_HOME": str(tmp_path / "state"),  # where a PostgreSQL demo keeps it
    }
    demo = ("--demo", "--log-level", "warning")
    first = servers(*demo, **env)
    # The next process starts once the first has made the secret, and serves once the first has
    # stopped: a rolling restart. Only what the first kept can sign for both.
    second = servers(*demo, ready=False, **env)
    variables = {"e": "dana@northwind.example", "p": DEMO_PASSWORD}
    async with httpx.AsyncClient(base_url=first.url) as client:
        answer = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
    token = answer.json()["data"]["login"]["token"]
    first.stop()

    second.wait_ready(timeout=60)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=second.url) as client:
        me = await client.post("/graphql", json={"query": "{ me { email } }"}, headers=headers)
    assert me.json() == {"data": {"me": {"email": "dana@northwind.example"}}}

    # Signed with a secret made for this database, kept where only its owner reads it.
    path = token_secret.demo_secret_path(settings.database_url, env)
    if settings.is_sqlite:
        database = Path(settings.database_url.split(":///", 1)[1])
        assert path == database.with_name("desk.db.token-secret")
    else:
        assert path.is_relative_to(tmp_path / "state")
    kept = path.read_text().strip()
    assert token_secret.weakness(kept) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    jwt.decode(token, kept, algorithms=["HS256"], options={"verify_aud": False})


def with_password(url: str, **changes) -> str:
    url = make_url(url).set(drivername="postgresql", password=PASSWORD, **changes)
    return url.render_as_string(hide_password=False)


def test_migrate_never_prints_the_password_of_the_database_url(postgres_database):
    good = with_password(postgres_database)
    failing = [
        with_password(postgres_database, port=1),  # nobody listens
        with_password(postgres_database, database="no_such_desk_database"),
        good.replace(":5432/", ":no-port/"),  # not a URL the driver can use
    ]
    # The program itself, each run side by side: everything it writes, start-up included.
    done, *failed = cli_together(
        *((("migrate",), {"HANDOFF_DATABASE_URL": u}) for u in [good, *failing])
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"migrated {good.replace(PASSWORD, '***')}\n".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    for url, done in zip(failing, failed, strict=True):
        assert done.returncode != 0, url
        assert done.stderr and PASSWORD not in done.stdout + done.stderr, done.stderr


async def _no_query_string_and_no_password_in_the_log(server: ServerProcess) -> None:
    """Asked to log in by GET (refused) and by a websocket's query string, the server (logging at
    info, as JSON, its database's URL holding PASSWORD) logs neither the query string nor a
    password, and every line is one JSON object naming its request."""
    login = (
        'mutation { login(input: { email: "a@b.test", password: "hunter2-secret" }) { '
        "__typename } }"
    )
    async with httpx.AsyncClient(base_url=server.url) as client:
        refused = await client.get("/graphql", params={"query": login})
    assert refused.status_code == 405
    ws_url = server.url.replace("http://", "ws://") + "/graphql?password=hunter2-secret"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]):
        pass

    def entries() -> list[dict]:
        return [json.loads(line) for line in server.log_path.read_text().splitlines()]

    async def logged():
        access = [e for e in entries() if e.get("method") == "GET" and e.get("status") == 405]
        websocket = [e for e in entries() if "WebSocket /graphql" in e["message"]]
        return access and websocket and (access, websocket)

    [access], [websocket] = await wait_for(logged, "the request's access log line")
    assert access["path"] == "/graphql"
    assert '"WebSocket /graphql"' in websocket["message"]
    text = server.log_path.read_text()
    assert "hunter2-secret" not in text and PASSWORD not in text
    assert "login" not in text  # nothing of the query string at all
    fields = {"timestamp", "level", "logger", "message", "request_id"}
    assert all(fields <= e.keys() for e in entries())
