"""Starts `handoff-desk` processes without paying for an interpreter's start-up each time.

A system test starts a hundred-odd `serve` and `worker` processes, and each spent about 1.3 s of
CPU importing the desk before it did anything (Strawberry building the schema, SQLModel the
tables, alembic, uvicorn). Here one *zygote* per test process imports all that once, then forks a
child per start: the child sets its environment, working folder and output as
`subprocess.Popen` would have, and runs `tests.server.run_cli()` (the same `main()` the entry
point runs). It is a real separate process with its own pid, signals and exit status, so a test
kills, freezes or SIGTERMs it as before; only the imports are shared, copy-on-write.

The zygote imports modules only: no thread, event loop, connection or setting exists before a
fork (settings are read from the environment in the child, by `main()`). Requests and replies are
JSON lines over its stdin and stdout; it reaps its children and reports each exit status.
`HANDOFF_TESTS_FORK=0` makes `ServerProcess` start each process from a fresh interpreter again.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent

# What `serve`, `worker` and `migrate` import sooner or later: imported before any fork.
_PRELOAD = (
    "handoff_desk.cli",
    "handoff_desk.app",
    "handoff_desk.demo",
    "handoff_desk.live.broadcast",
    "handoff_desk.live.hub",
    "handoff_desk.live.notifier",
    "workers",
    "db.migrate",
    "schema.schema",
    "resolvers.auth",
    "tests.server",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.loops.asyncio",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "redis.asyncio",
)


# --- the zygote's side ---------------------------------------------------------------------


def serve() -> None:
    """The zygote: preloads, then forks a child per request until its stdin closes."""
    import importlib

    for name in _PRELOAD:
        importlib.import_module(name)
    # Reaping is driven by SIGCHLD through a wake-up pipe, so one select() waits for both.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    requests = sys.stdin.buffer.raw  # unbuffered: select() sees what is unread
    pending = b""
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([requests, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
        _reap(children, replies)
        if requests in ready:
            chunk = requests.read(65536)
            if not chunk:
                break  # the test process is gone
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    os.close(wake_r)
                    os.close(wake_w)
                    _child(request, replies)  # never returns
                children.add(pid)
                replies.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
    for pid in children:  # the test process went away without stopping them
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _reap(children: set[int], replies) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            replies.write(json.dumps({"exited": pid, "code": code}) + "\n")


def _child(request: dict, replies) -> None:
    """In the forked child: become the process `subprocess.Popen` would have started."""
    code = 1
    try:
        replies.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_zygote()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        # Python's own choices for a non-terminal stdout (block-buffered) and stderr (lines).
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", 1, "utf-8", "backslashreplace", closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["-c", *request["argv"]]
        from tests.server import run_cli

        code = run_cli()
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if not isinstance(exit.code, int | None):
            print(exit.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with_zygote() -> None:
    """SIGKILL when the zygote dies (Linux's PR_SET_PDEATHSIG): nothing outlives the tests."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- the test process's side ---------------------------------------------------------------


class Zygote:
    """The test process's handle on its zygote: launches children and learns their exits."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from tests.launcher import serve; serve()"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._lock = threading.Lock()  # tests wait for processes from worker threads too
        self._pending = b""
        self._next_id = 0
        self._launched: dict[int, int] = {}
        self.exits: dict[int, int] = {}

    def launch(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> int:
        with self._lock:
            self._next_id += 1
            request = {"id": self._next_id, "argv": argv, "env": env, "cwd": str(cwd)}
            request["log"] = str(log)
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
            deadline = time.monotonic() + 30
            while self._next_id not in self._launched:
                self._read(deadline)
            return self._launched.pop(self._next_id)

    def collect(self, timeout: float) -> None:
        """Reads what the zygote reported within `timeout` seconds (0: only what is there)."""
        with self._lock:
            self._read(deadline=time.monotonic() + timeout, once=True)

    def _read(self, deadline: float, once: bool = False) -> None:
        """Reads one batch of replies; waits for it until `deadline` (once: then returns)."""
        out = self._process.stdout.raw
        ready, _, _ = select.select([out], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            if once:
                return
            raise RuntimeError("the test zygote did not answer")
        chunk = out.read(65536)
        if not chunk:
            raise RuntimeError("the test zygote exited")
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            reply = json.loads(line)
            if "exited" in reply:
                self.exits[reply["exited"]] = reply["code"]
            else:
                self._launched[reply["id"]] = reply["pid"]


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def zygote() -> Zygote:
    """This test process's zygote, started at first use."""
    global _zygote
    with _zygote_lock:
        if _zygote is None:
            _zygote = Zygote()
        return _zygote


def forking() -> bool:
    return os.environ.get("HANDOFF_TESTS_FORK", "1") != "0"


class ForkedProcess:
    """What `ServerProcess.process` is for a forked child: the part of `subprocess.Popen` that
    tests use (pid, poll, wait, send_signal, kill, returncode)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self._zygote = zygote()
        self.pid = self._zygote.launch(argv, env, cwd, log)
        self.args = argv

    @property
    def returncode(self) -> int | None:
        return self._zygote.exits.get(self.pid)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._zygote.collect(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self._zygote.collect(min(left, 1.0))
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
