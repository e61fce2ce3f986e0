"""A real server process (`handoff-desk serve`) on a free port, for black-box tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from argon2 import Parameters, Type

ROOT = Path(__file__).parent.parent
# The argon2id parameters tests hash passwords with: a production hash costs a quarter of a second
# of CPU and 64 MiB, and the suite hashes and checks thousands. tests/test_password_hashing.py
# checks the production parameters (resolvers.auth.PRODUCTION_HASHING) themselves.
CHEAP_HASHING = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=1,
    memory_cost=8,  # KiB: argon2's minimum for one lane
    parallelism=1,
)
# How ServerProcess starts `handoff-desk`: the same command line, with the cheap profile swapped
# in before it runs, so that no setting or variable of production can ever weaken its hashing.
_LAUNCH = "import sys; from tests.server import run_cli; sys.exit(run_cli())"


def run_cli() -> int:
    from handoff_desk import cli
    from resolvers import auth

    auth.use_hashing(CHEAP_HASHING)
    return cli.main()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        port: int | None = None,
        command: str = "serve",
        options: tuple[str, ...] = ("--log-level", "warning"),
    ) -> None:
        self.command = command
        self.options = options  # of `serve`
        self.port = port or free_port()
        self.env = {**os.environ, **env, "HANDOFF_PORT": str(self.port)}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *self._arguments()],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if self.command != "serve":
            return self  # no HTTP to wait for: tests wait for what the process does
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def _arguments(self) -> list[str]:
        if self.command == "serve":
            return ["serve", *self.options]
        return [self.command]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crash would leave it."""
        self.stop(signal.SIGKILL)
