"""Secrets an operator hands the desk stay secret: no command that signs tokens starts without a
strong token secret (only the demo makes its own, once per database), and no password of a URL
or query string reaches the output or the logs."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys

import httpx
import jwt
import pytest
import websockets
from sqlalchemy import make_url

from handoff_desk import token_secret
from handoff_desk.demo import DEMO_PASSWORD
from handoff_desk.logs import JsonFormatter
from handoff_desk.redact import Redactor, settings_secrets
from handoff_desk.settings import Settings
from tests.server import ROOT, ServerProcess, run_main, stop_together
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

HOW_TO_MAKE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
PASSWORD = "s3cret-pw"

LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
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


# --- The token secret --------------------------------------------------------------------------

REFUSED = {
    "unset": None,
    "empty": "",
    "placeholder": "change-me",
    "the old test secret": "test-secret-not-for-production-0123456789",
    "a repeated character": "a" * 64,
    "a repeated phrase": "0123456789abcdef" * 4,
    "16 random bytes": secrets.token_urlsafe(16),
}


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("secret", REFUSED.values(), ids=REFUSED.keys())
def test_a_missing_or_weak_token_secret_is_refused_in_one_line(command, secret, tmp_path):
    # The command's main() in this process (the program itself is run by the test after next).
    env = {"HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path}/desk.db", "HANDOFF_PORT": "1"}
    if secret is not None:
        env["HANDOFF_TOKEN_SECRET"] = secret
    done = run_main(command, **env)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: HANDOFF_TOKEN_SECRET ") and line.endswith(HOW_TO_MAKE), line
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []  # refused before anything was opened


def test_no_value_of_the_documented_settings_passes_as_a_token_secret():
    lines = (ROOT / ".env.example").read_text().splitlines()
    values = [line.partition("=")[2] for line in lines if re.match(r"#? ?HANDOFF_\w+=", line)]
    assert len(values) > 20
    assert [v for v in values if token_secret.weakness(v) is None] == []


GENERATED = {
    "secrets.token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "openssl rand -hex 32": lambda: secrets.token_hex(32),
    "openssl rand -base64 32": lambda: base64.b64encode(os.urandom(32)).decode(),
    "the suggested token_urlsafe(48)": lambda: secrets.token_urlsafe(48),
}


@pytest.mark.parametrize("make", GENERATED.values(), ids=GENERATED.keys())
def test_32_random_bytes_pass_however_they_are_written(make):
    values = [make() for _ in range(5_000)]
    assert [v for v in values if token_secret.weakness(v)] == []


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
        assert path.parent == tmp_path and path.name == "desk.db.token-secret"
    else:
        assert path.is_relative_to(tmp_path / "state")
    kept = path.read_text().strip()
    assert token_secret.weakness(kept) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    jwt.decode(token, kept, algorithms=["HS256"], options={"verify_aud": False})


# --- Secrets in output and logs -----------------------------------------------------------------


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
    login = 'mutation { login(email: "a@b.test", password: "hunter2-secret") { __typename } }'
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


def test_a_log_line_that_quotes_a_secret_shows_stars_instead():
    settings = Settings(
        database_url=f"postgresql+asyncpg://desk:{PASSWORD}@db.internal/desk",
        broadcast_url="redis://:p%40ss-word@cache.internal:6379/0",
        token_secret=secrets.token_urlsafe(48),
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(settings_secrets(settings))))
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"cannot reach {settings.database_url}")
        except ConnectionError:
            logger.exception("broadcast %s lost", settings.broadcast_url)
        logger.error("signed with %s", settings.token_secret)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "broadcast redis://:***@cache.internal:6379/0 lost"
    assert "postgresql+asyncpg://desk:***@db.internal/desk" in lines[0]["exception"]
    assert lines[1]["message"] == "signed with ***"
    for secret in (PASSWORD, "p%40ss-word", "p@ss-word", settings.token_secret):
        assert secret not in stream.getvalue()
