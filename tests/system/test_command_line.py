"""`handoff-desk` as an operator meets it at a terminal: the password prompt, and what
`serve --demo` tells and how `--reset` starts the demo over (tests/api/test_cli.py runs the
commands' `main()` in process for everything that needs no terminal and no server)."""

import json
import os
import select
import subprocess
import sys
import time

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


class _Terminal:
    """The test's end of the program's terminal: waits for what it writes, types to it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = bytearray()
        self._after = 0  # where the next awaited text may start

    def expect(self, wanted: bytes) -> None:
        """Waits until `wanted` comes after what was awaited before (getpass discards what is
        typed before it asks, so each answer waits for its own prompt)."""
        deadline = time.monotonic() + 30
        while (found := self.seen.find(wanted, self._after)) < 0:
            ready, _, _ = select.select([self.fd], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"{wanted!r} did not come in 30 s: {bytes(self.seen)!r}")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError(f"{wanted!r} never came: {bytes(self.seen)!r}")
            self.seen += chunk
        self._after = found + len(wanted)

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def read_to_the_end(self) -> str:
        try:
            while chunk := os.read(self.fd, 4096):
                self.seen += chunk
        except OSError:  # EIO: the program closed the terminal's other end
            pass
        return bytes(self.seen).decode()


async def test_create_account_asks_for_the_password_twice_without_echoing_it(settings, desk):
    from resolvers.auth import login

    terminal_fd, program_side = os.openpty()
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
    terminal = _Terminal(terminal_fd)
    try:
        for prompt, typed in ((b"Admin password: ", b"one-thing\n"), (b"Again: ", b"another\n")):
            terminal.expect(prompt)
            terminal.type(typed)
        terminal.expect(b"once more")  # the two differed: asked again
        for prompt in (b"Admin password: ", b"Again: "):
            terminal.expect(prompt)
            terminal.type(b"typed-at-a-tty-42\n")
        output = terminal.read_to_the_end()
        assert process.wait(60) == 0, output
    finally:
        process.kill()
        os.close(terminal_fd)
    assert "typed-at-a-tty-42" not in output and "one-thing" not in output  # never echoed
    ids = json.loads(output[output.index("{") :].splitlines()[0])
    assert set(ids) == {"account_id", "admin_id"}
    assert await login(desk, "peter@initech.test", "typed-at-a-tty-42") is not None


LOGIN = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
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
