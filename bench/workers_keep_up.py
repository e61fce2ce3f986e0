"""Workers keep up: a steady rate of escalations, each emailing every engineer of its account
(25 by default), for a set time; the API, its in-process workers and a local SMTP sink (aiosmtpd)
share the machine. It prints the backlog of assessments and emails over time, the job
throughput of the worker process, and how long the backlog takes to drain once the load stops
(issue 17 point 2: within 30 s of the load stopping). It asserts nothing; it tells.

    .venv/bin/python -m bench.workers_keep_up [--rate 5] [--recipients 25] [--seconds 300]
        [--accounts 5] [--email-workers 4] [--assessment-workers 4]

Needs PostgreSQL (a fresh bench database, dropped afterwards). The assessor is the rule-based one;
timers' jobs (due later by design) are not counted as backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time

import asyncpg

from bench.common import (
    CLIENT_CORE,
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
    percentile,
    pin_self_to_client_core,
    post_request,
    start_process,
)
from bench.seed import seed

DATABASE = "handoff_bench_workers"
START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "Printer jams",
  problemSummary: "Label printer jams on floor 3"}) {
  ... on StartSessionSuccess { session { id } } } }"""
ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  engineerNotes: "Swapped the toner"}) { __typename } }"""
BACKLOG = """SELECT kind, count(*) FILTER (WHERE state IN ('pending', 'running')
                                        AND run_after <= now()) AS waiting,
                    count(*) FILTER (WHERE state = 'done') AS done,
                    count(*) FILTER (WHERE state = 'failed') AS failed
             FROM job WHERE kind IN ('assess', 'email') GROUP BY kind"""
DRAIN_LIMIT = 300.0


async def backlog(db: asyncpg.Connection) -> dict[str, tuple[int, int, int]]:
    rows = await db.fetch(BACKLOG)
    found = {r["kind"]: (r["waiting"], r["done"], r["failed"]) for r in rows}
    return {kind: found.get(kind, (0, 0, 0)) for kind in ("assess", "email")}


async def escalate(conn: HTTPConnection, token: str) -> bool:
    _, body = await conn.request(post_request("/graphql", {"query": START}, token))
    session = json.loads(body)["data"]["startSession"]["session"]["id"]
    raw = post_request("/graphql", {"query": ESCALATE, "variables": {"s": session}}, token)
    _, body = await conn.request(raw)
    return json.loads(body)["data"]["createHandoff"]["__typename"] == "CreateHandoffSuccess"


async def load(args, port: int, tokens: list[str], made: list[int], lags: list[float]) -> None:
    """Open loop: escalation n is due at n / rate seconds, on the next free connection."""
    free: asyncio.Queue[HTTPConnection] = asyncio.Queue()
    connections = [HTTPConnection(port) for _ in range(16)]
    for conn in connections:
        await conn.open()
        free.put_nowait(conn)
    began = time.monotonic()
    tasks = set()

    async def one(n: int) -> None:
        conn = await free.get()
        lags.append(time.monotonic() - (began + n / args.rate))
        try:
            if await escalate(conn, tokens[n % len(tokens)]):
                made[0] += 1
            else:
                made[1] += 1
        finally:
            free.put_nowait(conn)

    total = int(args.rate * args.seconds)
    for n in range(total):
        delay = began + n / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    for conn in connections:
        await conn.close()


async def run(args, url: str, port: int, server, sink, tokens: list[str]) -> None:
    db = await asyncpg.connect(url)
    made = [0, 0]
    lags: list[float] = []
    samples: list[tuple[float, dict]] = []
    cpu_at_start = (server.cpu_seconds(), sink.cpu_seconds())
    began = time.monotonic()
    loading = asyncio.create_task(load(args, port, tokens, made, lags))
    print(
        f"{'t (s)':>6} {'escalated':>9} {'assess waiting':>15} {'emails waiting':>15}"
        f" {'emails sent':>12}"
    )
    try:
        while not loading.done():
            await asyncio.wait({loading}, timeout=args.every)
            now = await backlog(db)
            samples.append((time.monotonic() - began, now))
            t = time.monotonic() - began
            print(
                f"{t:6.0f} {made[0]:9d} {now['assess'][0]:15d} {now['email'][0]:15d}"
                f" {now['email'][1]:12d}",
                flush=True,
            )
        loading.result()
        stopped = time.monotonic()
        load_seconds = stopped - began
        # The drain: until nothing due is waiting.
        while True:
            now = await backlog(db)
            waiting = now["assess"][0] + now["email"][0]
            if waiting == 0 or time.monotonic() - stopped > DRAIN_LIMIT:
                break
            await asyncio.sleep(0.2)
        drained = time.monotonic() - stopped
        final = await backlog(db)
    finally:
        await db.close()
    cpu = (server.cpu_seconds() - cpu_at_start[0], sink.cpu_seconds() - cpu_at_start[1])
    total_seconds = load_seconds + drained
    assessed, emailed = final["assess"][1], final["email"][1]
    peak = max((s["assess"][0] + s["email"][0] for _, s in samples), default=0)
    print()
    print(
        f"load: {made[0]} escalations in {load_seconds:.0f} s ({made[0] / load_seconds:.2f}/s,"
        f" asked {args.rate}/s), {made[1]} refused; start lag p99"
        f" {percentile(lags, 99) * 1000:.0f} ms"
    )
    print(
        f"jobs done: {assessed} assessments, {emailed} emails"
        f" ({final['assess'][2]} and {final['email'][2]} failed) by one worker process:"
        f" {(assessed + emailed) / total_seconds:.1f} jobs/s"
        f" ({emailed / total_seconds:.1f} emails/s) over load and drain"
    )
    print(
        f"backlog: peak {peak} jobs waiting; drained {drained:.1f} s after the load stopped"
        f" (goal <= 30 s){'' if waiting == 0 else ' -- NOT drained, gave up'}"
    )
    print(
        f"CPU: server (API + workers) {cpu[0]:.0f} s, SMTP sink {cpu[1]:.0f} s"
        f" over {total_seconds:.0f} s"
    )


def wait_listening(process, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early (see its log)")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} is not listening")


def smtp_sink(port: int):
    """A local SMTP server that accepts every email and keeps none (aiosmtpd's Sink), on the
    load generator's core, once it listens."""
    sink = start_process(
        "smtp-sink",
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        cores=CLIENT_CORE,
    )
    wait_listening(sink, port)
    return sink


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="escalations per second")
    parser.add_argument("--recipients", type=int, default=25, help="emails per escalation")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--email-workers", type=int, default=4)
    parser.add_argument("--assessment-workers", type=int, default=4)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    args = parser.parse_args()
    pin_self_to_client_core()
    url = fresh_postgres_database(DATABASE)
    server = sink = None
    try:
        # Each account: an admin and engineers; each escalation emails all of them but its
        # escalator: `recipients` + 1 users.
        accounts = asyncio.run(
            seed(
                url,
                accounts=args.accounts,
                handoffs_per_account=2,
                users_per_account=args.recipients + 1,
            )
        )
        tokens = [t for a in accounts for t in a.tokens[1:]]
        smtp_port = free_port()
        sink = smtp_sink(smtp_port)
        server = desk_server(
            "workers-keep-up",
            url,
            HANDOFF_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
            HANDOFF_ASSESSOR="rules",
            HANDOFF_EMAIL_WORKERS=str(args.email_workers),
            HANDOFF_ASSESSMENT_WORKERS=str(args.assessment_workers),
            HANDOFF_LOG_FORMAT="text",
        )
        print(
            f"{args.rate}/s escalations x {args.recipients} recipients"
            f" = {args.rate * args.recipients:.0f} emails/s for {args.seconds:.0f} s;"
            f" {args.email_workers} email and {args.assessment_workers} assessment slots"
        )
        asyncio.run(run(args, url, server.port, server, sink, tokens))
    finally:
        for process in (server, sink):
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stop()
        drop_postgres_database(DATABASE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
