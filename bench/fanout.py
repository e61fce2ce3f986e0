"""Fan-out: N websocket subscribers (graphql-transport-ws) over two server processes on Redis,
one account, escalations published at a steady rate; against a minimal websocket server that
forwards the broadcaster message unchanged, in the same run.

    .venv/bin/python -m bench.fanout [--subscribers 2000] [--rate 10] [--seconds 10]

Reports mutation-to-delivery latency (all deliveries, and the last subscriber per event),
deliveries per second, server CPU per delivery, and server memory per idle subscription (RSS of
both processes from /proc, after the subscribers connected, minus before, over N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
import uuid

from bench.common import (
    REDIS_URL,
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
    percentile,
    pin_self_to_client_core,
    post_request,
    raise_open_file_limit,
    ratio_line,
    start_process,
)
from bench.seed import seed
from bench.wsfleet import Fleet
from handoff_desk.live.broadcast import create_broadcast

DATABASE = "handoff_bench_fanout"
SUBSCRIPTION = "subscription { handoffCreated { seq handoff { id priority session { id } } } }"
START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "c",
  problemSummary: "Fan-out case"}) { ... on StartSessionSuccess { session { id } } } }"""
ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE}) {
  __typename } }"""
MARK = b'"session":{"id":"'


def _latencies(sent: dict[str, float], arrivals) -> tuple[list[float], list[float]]:
    every, last = [], []
    for key, at in sent.items():
        seen = arrivals.get(key, [])
        every += [t - at for t in seen]
        if seen:
            last.append(max(seen) - at)
    return every, last


class DeskPublisher:
    """Escalates the prepared sessions, one mutation each, over HTTP to the first process."""

    def __init__(self, port: int, token: str, sessions: list[str]) -> None:
        self.conn = HTTPConnection(port)
        self.token = token
        self.sessions = sessions
        self.count = len(sessions)

    async def open(self) -> None:
        await self.conn.open()

    def prepare(self, n: int):
        session_id = self.sessions[n]
        raw = post_request(
            "/graphql", {"query": ESCALATE, "variables": {"s": session_id}}, self.token
        )
        return session_id, lambda: self.conn.request(raw)

    async def close(self) -> None:
        await self.conn.close()


class BroadcastPublisher:
    """Publishes a payload like the desk's straight to the broadcaster channel."""

    def __init__(self, channel: str, count: int, payload_size: int) -> None:
        self.broadcast = create_broadcast(REDIS_URL)
        self.channel = channel
        self.count = count
        self.payload_size = payload_size

    async def open(self) -> None:
        await self.broadcast.connect()

    def prepare(self, n: int):
        key = str(uuid.uuid4())
        body = {"data": {"handoffCreated": {"seq": n, "handoff": {
            "id": str(uuid.uuid4()), "priority": "NORMAL", "session": {"id": key}}}}}  # fmt: skip
        message = json.dumps(body, separators=(",", ":"))
        message += " " * max(0, self.payload_size - len(message))
        return key, lambda: self.broadcast.publish(self.channel, message)

    async def close(self) -> None:
        await self.broadcast.disconnect()


async def measure(args, servers, token: str | None, publisher) -> dict:
    """Connect the fleet (memory measured around it), publish at the steady rate, and wait
    for the last deliveries (CPU measured around that)."""
    fleet = Fleet(SUBSCRIPTION, MARK)
    rss_before = sum(s.rss_kib() for s in servers)
    half = args.subscribers // 2
    for server, count in zip(servers, (half, args.subscribers - half), strict=True):
        await fleet.connect(server.url.replace("http", "ws") + "/graphql", token, count)
    await asyncio.sleep(2)
    rss_after = sum(s.rss_kib() for s in servers)
    cpu_before = sum(s.cpu_seconds() for s in servers)
    client_before = _own_cpu_seconds()
    await publisher.open()
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(publisher.count):
        await asyncio.sleep(max(0.0, started + n / args.rate - time.perf_counter()))
        key, send = publisher.prepare(n)
        sent[key] = time.perf_counter()
        await send()
    await fleet.drained()
    elapsed = time.perf_counter() - started
    cpu = sum(s.cpu_seconds() for s in servers) - cpu_before
    client_cpu = _own_cpu_seconds() - client_before
    await publisher.close()
    await fleet.close()
    every, last = _latencies(sent, fleet.arrivals)
    return {
        "deliveries": len(every),
        "expected": len(sent) * args.subscribers,
        "per_second": len(every) / elapsed,
        "every": every,
        "last": last,
        "cpu_us": cpu / max(1, len(every)) * 1e6,
        "kib_per_subscription": (rss_after - rss_before) / args.subscribers,
        "client_busy": client_cpu / elapsed,
    }


def _own_cpu_seconds() -> float:
    """This process's CPU time: the fleet's and the publisher's (one core)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _sessions(port, token, count) -> list[str]:
    conn = HTTPConnection(port)
    await conn.open()
    ids = []
    for _ in range(count):
        _, body = await conn.request(post_request("/graphql", {"query": START}, token))
        ids.append(json.loads(body)["data"]["startSession"]["session"]["id"])
    await conn.close()
    return ids


def _report(name: str, result: dict) -> None:
    print(
        f"{name:<9} delivered {result['deliveries']}/{result['expected']}  "
        f"{result['per_second']:8.0f} deliveries/s   "
        f"latency p50 {percentile(result['every'], 50) * 1000:7.1f} ms "
        f"p99 {percentile(result['every'], 99) * 1000:7.1f} ms   "
        f"last subscriber p50 {percentile(result['last'], 50) * 1000:7.1f} ms "
        f"p99 {percentile(result['last'], 99) * 1000:7.1f} ms   "
        f"CPU {result['cpu_us']:6.1f} us/delivery   "
        f"{result['kib_per_subscription']:5.1f} KiB/idle subscription (RSS)   "
        f"load generator {result['client_busy']:.0%} of its core"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    raise_open_file_limit()

    url = fresh_postgres_database(DATABASE)
    processes = []
    try:
        account = asyncio.run(seed(url, accounts=1, handoffs_per_account=1, users_per_account=3))[0]
        token = account.tokens[1]
        env = {
            "HANDOFF_BROADCAST_URL": REDIS_URL,
            "HANDOFF_RUN_WORKERS": "false",
            "HANDOFF_EVENT_POLL_SECONDS": "60",
        }
        desk = [desk_server(f"fanout-desk-{n}", url, **env) for n in (1, 2)]
        processes += desk
        sessions = asyncio.run(_sessions(desk[0].port, token, int(args.rate * args.seconds)))
        pin_self_to_client_core()
        ours = asyncio.run(measure(args, desk, token, DeskPublisher(desk[0].port, token, sessions)))
        for process in desk:
            process.stop()

        channel = f"fanout_{uuid.uuid4().hex}"
        baseline = []
        for n in (1, 2):
            port = free_port()
            baseline.append(
                start_process(
                    f"fanout-baseline-{n}",
                    [sys.executable, "-m", "uvicorn", "bench.baseline_fanout:app",
                     "--port", str(port), "--log-level", "warning",
                     "--ws-per-message-deflate", "false"],
                    {"BENCH_CHANNEL": channel, "BENCH_BROADCAST_URL": REDIS_URL},
                    port=port,
                )
            )  # fmt: skip
        processes += baseline
        publisher = BroadcastPublisher(channel, len(sessions), payload_size=180)
        theirs = asyncio.run(measure(args, baseline, None, publisher))
    finally:
        for process in processes:
            process.stop()
        drop_postgres_database(DATABASE)

    print(f"\nfan-out: {args.subscribers} subscribers on 2 processes, {args.rate:g} events/s")
    _report("desk", ours)
    _report("baseline", theirs)
    print(ratio_line("deliveries/s desk / baseline", ours["per_second"], theirs["per_second"],
                     ">= 0.5"))  # fmt: skip
    p99 = percentile(ours["every"], 99) * 1000
    print(f"GOAL desk p99 {p99:.0f} ms (goal < 250 ms); "
          f"{ours['kib_per_subscription']:.1f} KiB per idle subscription (goal < 40)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
