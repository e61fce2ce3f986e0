"""How tests run `handoff-desk`: as real processes (`ServerProcess`: `serve` on a free port, or
`worker`), for black-box tests of processes; or its `main()` in the test's own process
(`run_main`), for what a command prints and answers, without an interpreter's start-up."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from argon2 import Parameters, Type

from tests.launcher import ForkedProcess, forking

ROOT = Path(__file__).parent.parent
# The argon2id parameters tests hash passwords with: a production hash costs a quarter of a second
# of CPU and 64 MiB, and the suite hashes and checks thousands. tests/api/test_password_hashing.py
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
        self.process: subprocess.Popen | ForkedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        """Launches the process and, for `serve`, waits until it answers /healthz."""
        return self.launch().wait_ready(timeout)

    def launch(self) -> ServerProcess:
        """Starts the process and returns at once (see `wait_ready`)."""
        if forking():  # forked from a zygote that imported the desk once (tests/launcher.py)
            self.process = ForkedProcess(self._arguments(), self.env, ROOT, self.log_path)
            return self
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *self._arguments()],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 30) -> ServerProcess:
        if self.command != "serve":
            return self  # no HTTP to wait for: tests wait for what the process does
        import httpx  # here, not at the top: the server processes import this module too

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def _arguments(self) -> list[str]:
        if self.command == "serve":
            return ["serve", *self.options]
        return [self.command]

    def send_signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        self.send_signal(sig)
        self._reap(timeout)

    def _reap(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crash would leave it."""
        self.stop(signal.SIGKILL)


def wait_ready(*processes: ServerProcess, timeout: float = 30) -> tuple[ServerProcess, ...]:
    """Waits until every launched process is ready (stopping them all if one is not): launched
    one after another, without waiting, they start side by side."""
    try:
        for process in processes:
            process.wait_ready(timeout)
    except BaseException:
        stop_together(*processes)
        raise
    return processes


def stop_together(*processes: ServerProcess, timeout: float = 15) -> None:
    """SIGTERM to every process, then waits for each: they shut down side by side."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process._reap(timeout)


# --- `handoff-desk` in the test's own process -----------------------------------------------


@dataclass(frozen=True)
class Ran:
    """What a command run by `run_main` did: its exit status and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


# What `main()` configures logging on (handoff_desk.ops.logs.logging_config): put back afterwards.
_CONFIGURED_LOGGERS = (
    "",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "strawberry.execution",
    "alembic.runtime.plugins",
    "asgi_correlation_id",
)


def run_main(*argv: str, stdin: str = "", **env: str) -> Ran:
    """`handoff-desk ARGV...` run by its `main()` in this process, as `python -m handoff_desk.cli`
    would run it with only the HANDOFF_ settings given here and `stdin` piped in (not a
    terminal): its exit status, its stdout and its stderr (log lines included). Blocking, and it
    runs its own event loops: an async test calls it with `await asyncio.to_thread(run_main,
    ...)`. Hashes with the suite's cheap profile."""
    from handoff_desk import cli

    saved_env = dict(os.environ)
    saved_loggers = [_logger_state(name) for name in _CONFIGURED_LOGGERS]
    saved_stdin = sys.stdin
    out, err = io.StringIO(), io.StringIO()
    try:
        for name in [k for k in os.environ if k.startswith("HANDOFF_")]:
            del os.environ[name]
        os.environ.update(env)
        sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                returncode = cli.main(list(argv))
            except SystemExit as exit:  # argparse's refusals
                returncode = exit.code if isinstance(exit.code, int) else 1
    finally:
        sys.stdin = saved_stdin
        os.environ.clear()
        os.environ.update(saved_env)
        for state in saved_loggers:
            _restore_logger(*state)
    return Ran(returncode, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def logging_as_configured_by_main(log_format: str, settings) -> Iterator[io.StringIO]:
    """This process logs as `handoff-desk` configures it (handoff_desk.ops.logs.configure: the
    format, the request id, no query strings, the settings' secrets scrubbed), into the buffer
    given, instead of stderr; as before afterwards. Configured after any in-process server has
    started: uvicorn configures its own loggers when it is set up."""
    from handoff_desk.ops import logs
    from handoff_desk.ops.redact import settings_secrets

    saved = [_logger_state(name) for name in _CONFIGURED_LOGGERS]
    stream = io.StringIO()
    try:
        with contextlib.redirect_stderr(stream):  # the handler's stream is sys.stderr
            logs.configure(log_format, secrets=settings_secrets(settings))
        yield stream
    finally:
        for state in saved:
            _restore_logger(*state)


def _logger_state(name: str) -> tuple:
    logger = logging.getLogger(name)
    return logger, list(logger.handlers), logger.level, logger.propagate, logger.disabled


def _restore_logger(logger: logging.Logger, handlers, level, propagate, disabled) -> None:
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate
    logger.disabled = disabled
