"""Soak: a steady mixed load for a set time on two server processes (PostgreSQL, Redis broadcast,
workers on): queue reads, escalations, claim races, releases and markHandoffSeen over HTTP, and
N websocket subscribers that check every event arrives once and in seq order. It reports
requests and errors by kind (expected outcomes such as AlreadyClaimed are not errors), server
memory at start, middle and end, open PostgreSQL connections, open websockets and subscriptions,
and the subscribers' gaps, duplicates and disorder. It asserts nothing; it tells.

    .venv/bin/python -m bench.soak [--seconds 60] [--subscribers 200] [--accounts 3]
        [--escalations 3] [--reads 40] [--seen 10] [--racers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import asyncpg
import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from bench.common import (
    PG_ADMIN_URL,
    REDIS_URL,
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    fresh_postgres_database,
    percentile,
    pin_self_to_client_core,
    post_request,
    raise_open_file_limit,
)
from bench.seed import seed

DATABASE = "handoff_bench_soak"
QUEUE = """{ handoffQueue(first: 20) { unreadCount edges { node {
  id priority unread claimedBy { id } session { problemSummary } } } } }"""
START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "Soak case",
  problemSummary: "VPN drops on home Wi-Fi"}) { ... on StartSessionSuccess { session { id } } } }"""
ESCALATE = """mutation($s: ID!, $p: Priority!) { createHandoff(input: {sessionId: $s,
  intent: ESCALATE, priority: $p, engineerNotes: "soak"}) {
  __typename ... on CreateHandoffSuccess { handoff { id } } } }"""
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"
RELEASE = "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }"
SEEN = "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { __typename } }"
CREATED = "subscription($a: Int) { handoffCreated(after: $a) { seq handoff { id } } }"
CLAIMED = "subscription($a: Int) { handoffClaimChanged(after: $a) { seq kind handoff { id } } }"
PRIORITIES = ["LOW", "NORMAL", "HIGH", "URGENT"]
MAX_IN_FLIGHT = 500  # past it the client is behind its schedule: the action is skipped, counted


# --- what happened --------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.requests: Counter = Counter()
        self.outcomes: Counter = Counter()
        self.errors: Counter = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)

    def error(self, kind: str, what: str) -> None:
        self.errors[f"{kind}: {what}"] += 1


@dataclass
class Account:
    id: str
    tokens: list[str]
    handoffs: list[str]
    created: list[str] = field(default_factory=list)  # escalations subscribers must hear of
    claim_events: int = 0  # claims and releases subscribers must hear of


class Pool:
    """Keep-alive HTTP connections to one process, opened as needed, at most `size` at once."""

    IDLE_SECONDS = 3.0  # uvicorn closes a keep-alive connection idle for 5 s

    def __init__(self, port: int, size: int = 24) -> None:
        self.port = port
        self.idle: list[tuple[float, HTTPConnection]] = []
        self.slots = asyncio.Semaphore(size)

    @contextlib.asynccontextmanager
    async def connection(self):
        async with self.slots:
            conn = None
            while self.idle and conn is None:
                since, conn = self.idle.pop()
                if time.monotonic() - since > self.IDLE_SECONDS:
                    await conn.close()  # the server may be closing it as we send
                    conn = None
            if conn is None:
                conn = HTTPConnection(self.port)
                await conn.open()
            try:
                yield conn
            except BaseException:
                await conn.close()  # in an unknown state: never reused
                raise
            self.idle.append((time.monotonic(), conn))


class Desk:
    """GraphQL over HTTP to either process; every answer tallied."""

    def __init__(self, ports: list[int], tally: Tally) -> None:
        self.pools = [Pool(port) for port in ports]
        self.tally = tally

    async def data(self, kind: str, query: str, variables: dict, token: str) -> dict | None:
        """The answer's data; None once its error is counted."""
        raw = post_request("/graphql", {"query": query, "variables": variables}, token)
        started = time.perf_counter()
        try:
            async with random.choice(self.pools).connection() as conn:
                status, body = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            self.tally.error(kind, f"transport {type(error).__name__}")
            return None
        self.tally.requests[kind] += 1
        self.tally.latency[kind].append(time.perf_counter() - started)
        if status != 200:
            self.tally.error(kind, f"HTTP {status}")
            return None
        answer = json.loads(body)
        for error in answer.get("errors") or ():
            self.tally.error(kind, (error.get("extensions") or {}).get("code", "no code"))
        return None if answer.get("errors") else answer["data"]

    async def close(self) -> None:
        for pool in self.pools:
            for _, conn in pool.idle:
                await conn.close()


# --- the load -------------------------------------------------------------------------------


class Load:
    def __init__(self, desk: Desk, accounts: list[Account], args) -> None:
        self.desk = desk
        self.accounts = accounts
        self.args = args
        self.tally = desk.tally
        self.in_flight: set[asyncio.Task] = set()

    async def read_queue(self) -> None:
        account = random.choice(self.accounts)
        data = await self.desk.data("handoffQueue", QUEUE, {}, random.choice(account.tokens))
        if data is not None:
            self.tally.outcomes["handoffQueue: read"] += 1

    async def mark_seen(self) -> None:
        account = random.choice(self.accounts)
        handoff = random.choice(account.handoffs)
        data = await self.desk.data(
            "markHandoffSeen", SEEN, {"h": handoff}, random.choice(account.tokens)
        )
        self._outcome("markHandoffSeen", data, "MarkHandoffSeenSuccess")

    async def escalate(self, account: Account, race: bool = True) -> str | None:
        junior = random.choice(account.tokens[1:])
        data = await self.desk.data("startSession", START, {}, junior)
        if data is None or "session" not in data["startSession"]:
            return None
        variables = {"s": data["startSession"]["session"]["id"], "p": random.choice(PRIORITIES)}
        data = await self.desk.data("createHandoff", ESCALATE, variables, junior)
        if not self._outcome("createHandoff", data, "CreateHandoffSuccess"):
            return None
        handoff = data["createHandoff"]["handoff"]["id"]
        account.handoffs.append(handoff)
        account.created.append(handoff)
        if race:
            await self.claim_race(account, handoff)
        return handoff

    async def claim_race(self, account: Account, handoff: str) -> None:
        """Several seniors claim at once: exactly one may win, the others hear AlreadyClaimed."""
        racers = random.sample(account.tokens, min(self.args.racers, len(account.tokens)))
        answers = await asyncio.gather(
            *(self.desk.data("claimHandoff", CLAIM, {"h": handoff}, token) for token in racers)
        )
        names = [a["claimHandoff"]["__typename"] for a in answers if a is not None]
        for name in names:
            self.tally.outcomes[f"claimHandoff: {name}"] += 1
            if name not in ("ClaimHandoffSuccess", "AlreadyClaimed"):
                self.tally.error("claimHandoff", f"unexpected {name}")
        winners = [t for t, a in zip(racers, answers, strict=True) if _won(a)]
        if len(names) == len(racers) and len(winners) != 1:
            self.tally.error("claim race", f"{len(winners)} winners")
        account.claim_events += len(winners)
        if winners and random.random() < 1 / 3:
            await asyncio.sleep(0.2)
            data = await self.desk.data("releaseHandoff", RELEASE, {"h": handoff}, winners[0])
            if self._outcome("releaseHandoff", data, "ReleaseHandoffSuccess"):
                account.claim_events += 1

    def _outcome(self, kind: str, data: dict | None, expected: str) -> bool:
        if data is None:
            return False
        name = data[kind]["__typename"]
        self.tally.outcomes[f"{kind}: {name}"] += 1
        if name != expected:
            self.tally.error(kind, f"unexpected {name}")
        return name == expected

    async def paced(self, rate: float, seconds: float, action) -> None:
        """`action()` started `rate` times a second on schedule, whatever the answers' pace."""
        if rate <= 0:
            return
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            if len(self.in_flight) >= MAX_IN_FLIGHT:
                self.tally.error("client", "behind schedule, action skipped")
                continue
            task = asyncio.create_task(action())
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def run(self, seconds: float) -> None:
        turn = iter(range(10**9))

        def next_escalation():
            return self.escalate(self.accounts[next(turn) % len(self.accounts)])

        await asyncio.gather(
            self.paced(self.args.reads, seconds, self.read_queue),
            self.paced(self.args.seen, seconds, self.mark_seen),
            self.paced(self.args.escalations, seconds, next_escalation),
        )
        while self.in_flight:
            await asyncio.gather(*list(self.in_flight), return_exceptions=True)


def _won(answer: dict | None) -> bool:
    return answer is not None and answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"


# --- subscribers ----------------------------------------------------------------------------


@dataclass
class Stream:
    """One subscription's view: what arrived, and whether it came once and in order."""

    last: int | None = None
    seqs: set[int] = field(default_factory=set)
    handoffs: list[str] = field(default_factory=list)
    duplicates: int = 0
    out_of_order: int = 0

    def receive(self, seq: int, handoff: str) -> None:
        if seq in self.seqs:
            self.duplicates += 1
            return
        if self.last is not None and seq < self.last:
            self.out_of_order += 1
        self.seqs.add(seq)
        self.handoffs.append(handoff)
        self.last = seq if self.last is None else max(self.last, seq)


class Subscriber:
    def __init__(self, url: str, account: Account, token: str, tally: Tally) -> None:
        self.url = url
        self.account = account
        self.token = token
        self.tally = tally
        self.streams = {"1": Stream(), "2": Stream()}
        self.ws = None
        self.task: asyncio.Task | None = None
        self.stopping = False
        self.reconnects = 0

    async def connect(self) -> None:
        self.ws = await websockets.connect(
            self.url, subprotocols=["graphql-transport-ws"], compression=None, max_queue=None
        )
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
        await self.ws.send(json.dumps(init))
        ack = json.loads(await self.ws.recv())
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        for op, query in (("1", CREATED), ("2", CLAIMED)):
            # After a reconnect, `a` replays what was missed (as a real client would).
            payload = {"query": query, "variables": {"a": self.streams[op].last}}
            await self.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))

    def start(self) -> None:
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                async for raw in self.ws:
                    await self._frame(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            if self.stopping:
                return
            code = self.ws.close_code
            self.tally.error("subscriber", f"closed by the server ({code})")
            try:
                await self.connect()
                self.reconnects += 1
            except Exception as error:  # counted; this subscriber is lost
                self.tally.error("subscriber", f"reconnect failed: {type(error).__name__}")
                return

    async def _frame(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.ws.send('{"type":"pong"}')
        elif kind == "next":
            payload = message["payload"]
            if payload.get("errors"):
                self.tally.error("subscription", json.dumps(payload["errors"])[:80])
                return
            event = next(iter(payload["data"].values()))
            self.streams[message["id"]].receive(event["seq"], event["handoff"]["id"])
        elif kind in ("error", "complete"):
            self.tally.error("subscription", f"{kind} from the server")

    async def close(self) -> None:
        self.stopping = True
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


async def connect_fleet(urls: list[str], accounts: list[Account], count: int, tally) -> list:
    fleet = []
    for n in range(count):
        account = accounts[n % len(accounts)]
        url = urls[(n // len(accounts)) % len(urls)].replace("http", "ws") + "/graphql"
        fleet.append(Subscriber(url, account, account.tokens[n % len(account.tokens)], tally))
    for start in range(0, count, 50):  # in batches: do not flood the accept queue
        await asyncio.gather(*(s.connect() for s in fleet[start : start + 50]))
    for subscriber in fleet:
        subscriber.start()
    return fleet


async def until(check, limit: float) -> bool:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


async def quiet(fleet, still: float = 2.0, limit: float = 60.0) -> None:
    """Until no event arrived for `still` seconds (at most `limit`): late ones count."""
    deadline = time.perf_counter() + limit
    seen = -1
    while time.perf_counter() < deadline:
        total = sum(len(s.seqs) for sub in fleet for s in sub.streams.values())
        if total == seen:
            return
        seen = total
        await asyncio.sleep(still)


# --- the servers' side ----------------------------------------------------------------------


async def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def summed(samples: dict, name: str, label: str) -> Counter:
    totals: Counter = Counter()
    for (sample, labels), value in samples.items():
        if sample == name:
            totals[dict(labels).get(label, "")] += value
    return totals


async def postgres_connections(database: str) -> Counter:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        rows = await conn.fetch(
            "SELECT coalesce(state, 'none') AS state, count(*) AS n FROM pg_stat_activity "
            "WHERE datname = $1 GROUP BY 1",
            database,
        )
    finally:
        await conn.close()
    return Counter({row["state"]: row["n"] for row in rows})


# --- the run --------------------------------------------------------------------------------


async def soak(args, servers, accounts: list[Account]) -> None:
    tally = Tally()
    desk = Desk([s.port for s in servers], tally)
    load = Load(desk, accounts, args)
    memory: dict[str, list[int]] = {}
    connections: dict[str, Counter] = {}

    fleet = await connect_fleet([s.url for s in servers], accounts, args.subscribers, tally)
    # A sentinel escalation and claim per account: once every subscriber has both, all are live.
    sentinels = [await load.escalate(account, race=False) for account in accounts]
    for account, handoff in zip(accounts, sentinels, strict=True):
        if handoff is not None:
            await load.claim_race(account, handoff)
    live = await until(
        lambda: all(len(s.streams["1"].seqs) >= 1 and len(s.streams["2"].seqs) >= 1 for s in fleet),
        30,
    )
    if not live:
        tally.error("subscriber", "not live 30 s after connecting")
    memory["start"] = [s.rss_kib() for s in servers]
    cpu = [s.cpu_seconds() for s in servers]
    started = time.perf_counter()

    async def midpoint() -> None:
        await asyncio.sleep(args.seconds / 2)
        memory["middle"] = [s.rss_kib() for s in servers]
        connections["middle"] = await postgres_connections(DATABASE)

    await asyncio.gather(load.run(args.seconds), midpoint())
    elapsed = time.perf_counter() - started
    cpu = [s.cpu_seconds() - before for s, before in zip(servers, cpu, strict=True)]
    await quiet(fleet)
    memory["end"] = [s.rss_kib() for s in servers]
    connections["end"] = await postgres_connections(DATABASE)
    during = [await scrape(s.url) for s in servers]
    open_clients = sum(1 for s in fleet if s.ws is not None and s.ws.close_code is None)

    await asyncio.gather(*(s.close() for s in fleet))
    await desk.close()
    await asyncio.sleep(1)
    after = [await scrape(s.url) for s in servers]
    connections["after"] = await postgres_connections(DATABASE)

    moments = {"memory": memory, "connections": connections, "during": during, "after": after}
    moments["cpu"] = cpu
    report(args, servers, accounts, tally, fleet, open_clients, moments, elapsed)


def report(args, servers, accounts, tally, fleet, open_clients, moments, elapsed) -> None:
    memory, connections = moments["memory"], moments["connections"]
    during, after = moments["during"], moments["after"]
    print(f"\nsoak: {elapsed:.0f} s on {len(servers)} processes (PostgreSQL, Redis broadcast, "
          f"workers on), {len(accounts)} accounts, {args.subscribers} subscribers; "
          f"per second: {args.reads:g} queue reads, {args.seen:g} markHandoffSeen, "
          f"{args.escalations:g} escalations each raced by {args.racers} claimers")  # fmt: skip

    print("\nrequests by kind              count      p50 ms     p99 ms")
    for kind in sorted(tally.requests):
        values = tally.latency[kind]
        print(f"  {kind:<24} {tally.requests[kind]:>8} {percentile(values, 50) * 1000:>11.1f} "
              f"{percentile(values, 99) * 1000:>10.1f}")  # fmt: skip
    print("outcomes")
    for outcome, count in sorted(tally.outcomes.items()):
        print(f"  {outcome:<48} {count:>8}")
    print(f"errors: {sum(tally.errors.values())}")
    for error, count in sorted(tally.errors.items()):
        print(f"  {error:<48} {count:>8}")

    print("\nserver memory (RSS, MiB)   start   middle      end   growth   growth middle->end"
          "   CPU during the load")  # fmt: skip
    for n, server in enumerate(servers):
        start, middle, end = (memory[k][n] / 1024 for k in ("start", "middle", "end"))
        busy = moments["cpu"][n]
        print(f"  {server.name:<22} {start:>7.1f} {middle:>8.1f} {end:>8.1f} "
              f"{end - start:>+8.1f} {end - middle:>+20.1f}"
              f"   {busy:.1f} s ({busy / elapsed:.0%} of a core)")  # fmt: skip

    print("\nopen PostgreSQL connections (pg_stat_activity, this database)")
    for moment in ("middle", "end", "after"):
        counts = connections[moment]
        states = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
        label = "after the clients left" if moment == "after" else f"at the {moment}"
        print(f"  {label:<24} {sum(counts.values()):>4}   ({states})")

    print("\nper process (its /metrics)       websockets  subscriptions  "
          "lag p50/p99 ms  events  pending jobs")  # fmt: skip
    for server, now, later in zip(servers, during, after, strict=True):
        sockets, streams = "handoff_desk_websockets_open", "handoff_desk_subscriptions_open"
        events = metric(now, "handoff_desk_event_delivery_lag_seconds_count")
        jobs = dict(summed(now, "handoff_desk_pending_jobs", "kind"))
        print(f"  {server.name:<14} at the end     {metric(now, sockets):>6.0f}"
              f" {metric(now, streams):>14.0f} {lag(now):>16} {events:>7.0f}  {jobs}")  # fmt: skip
        print(f"  {'':<14} clients gone   {metric(later, sockets):>6.0f}"
              f" {metric(later, streams):>14.0f}")  # fmt: skip
        requests = summed(now, "handoff_desk_requests_total", "outcome")
        codes = summed(now, "handoff_desk_graphql_errors_total", "code")
        print(f"  {'':<14} requests by outcome {dict(requests)}; error codes {dict(codes)}")

    print(f"\nsubscribers: {len(fleet)} ({open_clients} still open before the clients left), "
          f"{sum(s.reconnects for s in fleet)} reconnects")  # fmt: skip
    gaps = duplicates = disorder = foreign = 0
    delivered = expected = 0
    for subscriber in fleet:
        account = subscriber.account
        created, claims = subscriber.streams["1"], subscriber.streams["2"]
        got = set(created.handoffs)
        gaps += len(set(account.created) - got)
        foreign += len(got - set(account.created))
        gaps += max(0, account.claim_events - len(claims.seqs))
        duplicates += created.duplicates + claims.duplicates
        disorder += created.out_of_order + claims.out_of_order
        delivered += len(created.seqs) + len(claims.seqs)
        expected += len(account.created) + account.claim_events
    print(f"  events delivered {delivered} ({expected} expected)   gaps {gaps}   "
          f"duplicates {duplicates}   out of order {disorder}   "
          f"not of the subscriber's account or before it was live {foreign}")  # fmt: skip


def lag(samples: dict) -> str:
    """p50/p99 of the delivery lag from the histogram's buckets (their upper bounds)."""
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == "handoff_desk_event_delivery_lag_seconds_bucket"
    )
    total = buckets[-1][1] if buckets else 0
    if not total:
        return "n/a"

    def at(q: float) -> str:
        bound = next(b for b, count in buckets if count >= q * total)
        return "inf" if bound == float("inf") else f"{bound * 1000:g}"

    return f"<={at(0.5)}/<={at(0.99)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--escalations", type=float, default=3, help="per second, in all")
    parser.add_argument("--reads", type=float, default=40, help="queue reads per second")
    parser.add_argument("--seen", type=float, default=10, help="markHandoffSeen per second")
    parser.add_argument("--racers", type=int, default=4, help="claimers per escalation")
    args = parser.parse_args()
    raise_open_file_limit()

    url = fresh_postgres_database(DATABASE)
    servers = []
    try:
        seeded = asyncio.run(
            seed(url, accounts=args.accounts, handoffs_per_account=50, users_per_account=6)
        )
        accounts = [Account(str(a.id), a.tokens, [str(h) for h in a.handoffs]) for a in seeded]
        env = {"HANDOFF_BROADCAST_URL": REDIS_URL, "HANDOFF_RETRY_BASE_SECONDS": "0.5"}
        servers = [desk_server(f"soak-{n}", url, **env) for n in (1, 2)]
        pin_self_to_client_core()
        asyncio.run(soak(args, servers, accounts))
        for server in servers:
            if server.popen.poll() is not None:
                print(f"!! {server.name} exited with {server.popen.returncode} (see its log)")
    finally:
        for server in servers:
            server.stop()
        drop_postgres_database(DATABASE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
