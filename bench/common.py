"""Shared plumbing for the benchmarks: a bench database, pinned server processes, a lean load
generator, and statistics. Every benchmark measures the desk and its baseline in the same run
and prints the ratio; nothing here asserts a time."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVER_CORE = os.environ.get("BENCH_SERVER_CORES", "0")
CLIENT_CORE = os.environ.get("BENCH_CLIENT_CORES", "1")
# Made once per run and inherited by every process it starts (the baseline server reads it
# from here too): the desk refuses a placeholder or a weak secret.
TOKEN_SECRET = os.environ.setdefault("BENCH_TOKEN_SECRET", secrets.token_urlsafe(48))


def pin_self_to_client_core() -> None:
    """The load generator runs on its own core; servers are pinned to the other."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in CLIENT_CORE.split(",")})


def raise_open_file_limit() -> None:
    """Thousands of websockets need as many descriptors; servers started after this inherit it."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the bench database ---------------------------------------------------------------------


def _pg_dsn(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_postgres_database(name: str) -> str:
    """Drops and creates `name`, migrates it; returns its URL (postgresql://...)."""
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _pg_dsn(name)
    from db.engine import create_engine, normalize_database_url
    from db.migrate import upgrade

    async def migrate() -> None:
        engine = create_engine(normalize_database_url(url))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return url


def drop_postgres_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- processes ------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def rss_kib(self) -> int:
        """Resident memory of the process, from /proc (KiB)."""
        with open(f"/proc/{self.popen.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        with open(f"/proc/{self.popen.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def start_process(
    name: str,
    args: list[str],
    env: dict[str, str] | None = None,
    *,
    port: int | None = None,
    cores: str = SERVER_CORE,
    log_dir: Path | None = None,
    ready_path: str = "/healthz",
    timeout: float = 60,
) -> Process:
    log_dir = log_dir or Path(os.environ.get("BENCH_LOG_DIR", "/tmp/handoff-bench"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115  (lives as long as the process)
    command = [*(["taskset", "-c", cores] if shutil.which("taskset") else []), *args]
    popen = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    process = Process(name, popen, port)
    if port is not None:
        wait_http(process, ready_path, timeout)
    return process


def desk_server(
    name: str, database_url: str, port: int | None = None, cores: str = SERVER_CORE, **env: str
) -> Process:
    """`handoff-desk serve` (uvicorn, one process) pinned to `cores`."""
    port = port or free_port()
    settings = {
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_TOKEN_SECRET": TOKEN_SECRET,
        "HANDOFF_PORT": str(port),
        "HANDOFF_GRAPHIQL": "false",
        **env,
    }
    return start_process(
        name,
        [sys.executable, "-m", "handoff_desk.cli", "serve", "--log-level", "warning"],
        settings,
        port=port,
        cores=cores,
    )


def wait_http(process: Process, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early (see its log)")
        try:
            with socket.create_connection(("127.0.0.1", process.port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not become ready")


# --- a lean HTTP/1.1 load generator ---------------------------------------------------------


def post_request(path: str, body: dict, token: str | None = None) -> bytes:
    payload = json.dumps(body).encode()
    headers = [
        f"POST {path} HTTP/1.1",
        "Host: bench",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + payload


class HTTPConnection:
    """One keep-alive connection sending pre-encoded requests and reading whole responses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            return status, body
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.rps:9.1f} req/s   p50 {self.percentile(50) * 1000:7.2f} ms"
            f"   p99 {self.percentile(99) * 1000:7.2f} ms   errors {self.errors}"
        )


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def closed_loop(
    name: str,
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    seconds: float,
    check=None,
) -> LoadResult:
    """`concurrency` connections, each sending the next request as soon as its answer arrives,
    for `seconds`. Requests are taken round-robin from `requests`."""
    connections = [HTTPConnection(port) for _ in range(concurrency)]
    for conn in connections:
        await conn.open()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def drive(conn: HTTPConnection, offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < deadline:
            raw = requests[i % len(requests)]
            i += concurrency
            started = time.perf_counter()
            status, body = await conn.request(raw)
            latencies.append(time.perf_counter() - started)
            if status != 200 or (check is not None and not check(body)):
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(drive(c, n) for n, c in enumerate(connections)))
    elapsed = time.perf_counter() - started
    for conn in connections:
        await conn.close()
    return LoadResult(name, len(latencies), errors, elapsed, latencies)


def ratio_line(label: str, ours: float, baseline: float, goal: str) -> str:
    ratio = ours / baseline if baseline else float("nan")
    return f"RATIO {label:<42} {ratio:6.3f}   (goal {goal})"


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"n={len(values)} p50={percentile(values, 50) * 1000:.1f}ms "
        f"p99={percentile(values, 99) * 1000:.1f}ms mean={statistics.fmean(values) * 1000:.1f}ms"
    )


def new_id() -> uuid.UUID:
    return uuid.uuid4()
