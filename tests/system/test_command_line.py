"""`handoff-desk` as an operator meets it at a terminal: the password prompt, and what
`serve --demo` tells and how `--reset` starts the demo over (tests/api/test_cli.py runs the
commands' `main()` in process for everything that needs no terminal and no server)."""

import json
import os
import subprocess
import sys

import httpx
import pytest

from handoff_desk.demo import DEMO_PASSWORD
from tests.server import ROOT

pytestmark = pytest.mark.anyio

# Makes the pseudo-terminal on stdin the controlling terminal of a new session (getpass talks
# to /dev/tty), then runs the program.
_ON_A_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'handoff_desk.cli', *sys.argv[1:]])"
)


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> None:
    """Reads until `wanted` comes after what was read before (getpass discards what is typed
    before it asks)."""
    start = len(seen)
    while wanted not in seen[start:]:
        chunk = os.read(fd, 4096)  # the program answers within the test's timeout or fails it
        if not chunk:
            raise AssertionError(f"{wanted!r} never came: {bytes(seen)!r}")
        seen += chunk


def _read_rest(fd: int, seen: bytearray) -> None:
    try:
        while chunk := os.read(fd, 4096):
            seen += chunk
    except OSError:  # EIO: the program closed the terminal's other end
        pass


async def test_create_account_asks_for_the_password_twice_without_echoing_it(settings, desk):
    from resolvers.auth import login

    terminal, program_side = os.openpty()
    args = ["create-account", "--name", "Initech", "--admin-name", "Peter Gibbons"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    process = subprocess.Popen(
        [sys.executable, "-c", _ON_A_TERMINAL, *args, "--admin-email", "peter@initech.test"],
        stdin=program_side,
        stdout=program_side,
        stderr=program_side,
        cwd=ROOT,
        env={**env, "HANDOFF_DATABASE_URL": settings.database_url},
        start_new_session=True,
    )
    os.close(program_side)
    seen = bytearray()
    try:
        for prompt, typed in ((b"Admin password: ", b"one-thing\n"), (b"Again: ", b"another\n")):
            _read_until(terminal, prompt, seen)
            os.write(terminal, typed)
        _read_until(terminal, b"once more", seen)  # the two differed: asked again
        for prompt in (b"Admin password: ", b"Again: "):
            _read_until(terminal, prompt, seen)
            os.write(terminal, b"typed-at-a-tty-42\n")
        _read_rest(terminal, seen)
        assert process.wait(60) == 0, bytes(seen)
    finally:
        process.kill()
        os.close(terminal)
    output = bytes(seen).decode()
    assert "typed-at-a-tty-42" not in output and "one-thing" not in output  # never echoed
    ids = json.loads(output[output.index("{") :].splitlines()[0])
    assert set(ids) == {"account_id", "admin_id"}
    assert await login(desk, "peter@initech.test", "typed-at-a-tty-42") is not None


LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on LoginSuccess { token } } }"""
ADD_USER = """mutation($i: AddUserInput!) { addUser(input: $i) { __typename } }"""


async def _login(client: httpx.AsyncClient, email: str, password: str) -> str | None:
    variables = {"e": email, "p": password}
    answer = (await client.post("/graphql", json={"query": LOGIN, "variables": variables})).json()
    return answer["data"]["login"].get("token")


async def test_serve_demo_tells_where_and_who_and_a_reset_starts_the_demo_over(serve, settings):
    first = serve(options=("--demo",))
    told = first.log_path.read_text()
    assert f"console: http://127.0.0.1:{first.port}/" in told, told
    assert f"GraphiQL: http://127.0.0.1:{first.port}/graphql" in told
    assert "dana@northwind.example (admin)" in told and "vic@northwind.example (viewer)" in told
    assert repr(DEMO_PASSWORD) in told
    newcomer = {"name": "Nell New", "email": "nell@northwind.example", "role": "ENGINEER"}
    async with httpx.AsyncClient(base_url=first.url) as client:
        token = await _login(client, "dana@northwind.example", DEMO_PASSWORD)
        added = await client.post(
            "/graphql",
            json={"query": ADD_USER, "variables": {"i": {**newcomer, "password": "nell-pass-1"}}},
            headers={"authorization": f"Bearer {token}"},
        )
        assert added.json()["data"]["addUser"]["__typename"] == "AddUserSuccess", added.text
        assert await _login(client, "nell@northwind.example", "nell-pass-1")
    first.stop()
    again = serve(options=("--demo", "--reset"))
    async with httpx.AsyncClient(base_url=again.url) as client:
        assert await _login(client, "nell@northwind.example", "nell-pass-1") is None  # gone
        assert await _login(client, "dana@northwind.example", DEMO_PASSWORD)  # seeded afresh
    assert "demo data: seeded" in again.log_path.read_text()
