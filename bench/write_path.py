"""The write path: escalations/s and claims/s (200 concurrent claims on distinct escalations, and
200 on one), on PostgreSQL, the desk (`handoff-desk serve`, workers off) against a hand-written
Starlette + asyncpg baseline (bench/baseline_writes.py) that runs the same statements in one
transaction and answers with the same JSON; rounds alternate between the two in one run.

    .venv/bin/python -m bench.write_path [--rounds 4] [--warmup 1] [--claimers 200]
        [--escalations 200] [--escalators 20] [--team 12] [--waits]

Escalations: `--escalators` connections, each escalating its own seeded open sessions (two
messages each) one after another, `--escalations` a round, in one account of `--team` users (so
each escalation emails the team's other `--team - 1` members). Claims: as bench/claim_storm.py,
every claimer fires at once, on one escalation (contended: exactly one winner) or each on its
own (uncontended). Throughput is answers over the wall time from the first request to the last
answer; p50/p99 are per request. Each server is one uvicorn process pinned to the server core
with a pool of 20 connections; this load generator runs on the other core.

Everything happens in one account on purpose (a busy team): every write there bumps the
account's row (`last_seq` and `version`, in the statement that inserts the event), so writers
of one account take turns on that row lock, held from that statement to the commit.
`--waits` samples pg_stat_activity during the storms and
prints what the backends do (running, waiting for a lock, or idle in a transaction: waiting for
the app while holding its locks).

What the desk runs, per request (captured with a `before_cursor_execute` listener, no
notification preferences or defaults set, so everyone hears of everything by email and in the
desk; the baseline runs each one, in this order, with the same columns and values). Before the
storms the bench captures both sides' statements for one escalation and two claims (won, lost)
in process (bench/write_statements.py, which prints them side by side), prints their counts,
and fails unless the two sides run the same statements in the same order.

createHandoff (escalate), 15 statements with 11 recipients besides BEGIN/COMMIT:
   1 SELECT app_user JOIN account (authenticate; autocommit, before the transaction)
   2 SELECT troubleshooting_session ... FOR UPDATE (the session, in the caller's account)
   3 INSERT handoff (every column; assessment_number 1)
   4 UPDATE troubleshooting_session SET status, handoff_count, escalation_package, updated_at
   5 INSERT handoff_seen ... ON CONFLICT DO NOTHING RETURNING (the escalator's read mark)
   6 SELECT app_user LEFT JOIN notification_preference, notification_defaults (the
     recipients, active engineers and admins but the escalator, with their preferences)
   7 INSERT notification, every recipient's in one statement
   8 SELECT timer_settings (the account's timers; none: the defaults)
   9 INSERT assessment_version (number 1, pending)
  10 INSERT job, executemany (assess, an email each, the timer)
  11 INSERT email_message, executemany (one a recipient)
  12 INSERT handoff_timer
  13 DELETE FROM notification: every recipient's beyond their newest 200 (FOR UPDATE SKIP
     LOCKED: rows another transaction is trimming are left to it)
  14 WITH bumped AS (UPDATE account SET last_seq + 1, version + 1 RETURNING last_seq)
     INSERT account_event (escalated) ... FROM bumped (the account's row is locked from here)
  -- COMMIT
  15 SELECT handoff JOIN session, creator, claimer + EXISTS(seen) (the answer's view; autocommit)

claimHandoff, won (13): 1 authenticate; 2 SELECT app_user.role ... FOR SHARE (still may claim);
3 SELECT handoff JOIN account (allow_self_claim: refusals before trying); 4 UPDATE handoff SET
claimed_by_id, claimed_at WHERE free RETURNING the row; 5 UPDATE troubleshooting_session SET
assignee, status, updated_at RETURNING the row; 6 INSERT handoff_seen ON CONFLICT DO NOTHING
RETURNING; the escalator's news: 7 SELECT app_user with their preferences (as 6 above), 8 INSERT
notification, 9 INSERT email_message, 10 INSERT job (email), 11 DELETE FROM notification (as 13
above); 12 the counter and the event (claimed) as 14 above; COMMIT; 13 the view SELECT.
claimHandoff, lost (7): 1-4 as above (4 matches nothing); 5 SELECT handoff ... FOR UPDATE (the
holder, under the row lock); 6 SELECT handoff (fresh); 7 SELECT app_user (the claimer); COMMIT.

The bench checks that both sides wrote the same rows per escalation and per won claim (but the
in-app notifications, trimmed to each user's newest 200 whoever wrote them), and answered with
the same JSON (ids aside).

What the baseline skips: GraphQL (parse, validate, execute), the desk's input checks beyond
what these requests need, the live notification after the commit (in-memory broadcast, nobody
subscribed) and metrics. Workers are off on both sides (jobs and emails stay pending).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import uuid

import asyncpg

from bench.common import (
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
    percentile,
    pin_self_to_client_core,
    post_request,
    ratio_line,
    start_process,
)
from bench.seed import add_sessions, add_users, seed
from bench.write_statements import capture_both, compare, plan_statements

DATABASE = "handoff_bench_writes"
SIDES = ("desk", "baseline")
NOTES = "Reinstalled the client; drops persist."
ESCALATE = """mutation($s: ID!, $n: String!) { createHandoff(input: {sessionId: $s,
  intent: ESCALATE, engineerNotes: $n}) { __typename
  ... on CreateHandoffSuccess { handoff { id assessment { status } } } } }"""
CLAIM = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename
  ... on ClaimHandoffSuccess { handoff { claimedBy { id } } }
  ... on AlreadyClaimed { claimedBy { id } } } }"""
# Rows an escalation writes, counted per escalated handoff (the two sides must agree). Not the
# in-app notifications: each user keeps their newest 200, so which survive depends on the order.
ROWS = {
    "email_message": "SELECT count(*) FROM email_message WHERE handoff_id = ANY($1::uuid[])",
    "email jobs": """SELECT count(*) FROM job
        JOIN email_message ON email_message.id = job.subject_id
        WHERE job.kind = 'email' AND email_message.handoff_id = ANY($1::uuid[])""",
    "assess jobs": """SELECT count(*) FROM job
        WHERE kind = 'assess' AND subject_id = ANY($1::uuid[])""",
    "handoff_timer": "SELECT count(*) FROM handoff_timer WHERE handoff_id = ANY($1::uuid[])",
    "timer jobs": """SELECT count(*) FROM job
        JOIN handoff_timer ON handoff_timer.id = job.subject_id
        WHERE job.kind = 'timer' AND handoff_timer.handoff_id = ANY($1::uuid[])""",
    "assessment_version": """SELECT count(*) FROM assessment_version
        WHERE handoff_id = ANY($1::uuid[]) AND number = 1""",
    "handoff_seen": "SELECT count(*) FROM handoff_seen WHERE handoff_id = ANY($1::uuid[])",
    "account_event": """SELECT count(*) FROM account_event
        WHERE kind = 'escalated' AND handoff_id = ANY($1::uuid[])""",
    "escalated sessions": """SELECT count(*) FROM handoff JOIN troubleshooting_session
        ON troubleshooting_session.id = handoff.session_id
        WHERE handoff.id = ANY($1::uuid[]) AND troubleshooting_session.status = 'escalated'
          AND handoff.assessment_number = 1""",
}

# Rows a won claim writes, counted per claimed handoff (the escalator's news: email, job, in-app).
CLAIM_ROWS = {
    "email_message": "SELECT count(*) FROM email_message WHERE handoff_id = ANY($1::uuid[])",
    "email jobs": """SELECT count(*) FROM job
        JOIN email_message ON email_message.id = job.subject_id
        WHERE job.kind = 'email' AND email_message.handoff_id = ANY($1::uuid[])""",
    "account_event": """SELECT count(*) FROM account_event
        WHERE kind = 'claimed' AND handoff_id = ANY($1::uuid[])""",
    "active sessions": """SELECT count(*) FROM handoff JOIN troubleshooting_session
        ON troubleshooting_session.id = handoff.session_id
        WHERE handoff.id = ANY($1::uuid[]) AND troubleshooting_session.status = 'active'
          AND troubleshooting_session.assignee_id = handoff.claimed_by_id""",
}


async def _fire(port: int, count: int, requests) -> tuple[float, list[float], list[bytes]]:
    """`count` fresh connections (an idle one would meet uvicorn's keep-alive timeout while the
    other side is measured) each send their share of the requests one after another, all
    starting at once. The wall time from the start to the last answer, each request's latency,
    each answer."""
    connections = [HTTPConnection(port) for _ in range(count)]
    for conn in connections:
        await conn.open()
    try:
        return await _storm(connections, requests)
    finally:
        for conn in connections:
            await conn.close()


async def _storm(connections, requests) -> tuple[float, list[float], list[bytes]]:
    gun = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def drive(conn, mine):
        await gun.wait()
        out = []
        for raw in mine:
            started = loop.time()
            _, body = await conn.request(raw)
            out.append((loop.time() - started, body))
        return out

    per_conn = [requests[n :: len(connections)] for n in range(len(connections))]
    tasks = [
        asyncio.create_task(drive(c, mine)) for c, mine in zip(connections, per_conn, strict=True)
    ]
    await asyncio.sleep(0.05)  # every task is waiting on the gun
    started = loop.time()
    gun.set()
    results = [x for chunk in await asyncio.gather(*tasks) for x in chunk]
    wall = loop.time() - started
    return wall, [t for t, _ in results], [b for _, b in results]


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _shapes(bodies: list[bytes]) -> set[bytes]:
    """The distinct answers, ids aside: the two sides must answer alike."""
    return {_UUID.sub(b"<id>", body) for body in bodies}


WAITS = """
SELECT state, coalesce(wait_event_type, 'CPU') AS waiting, count(*) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1, 2
"""


class Waits:
    """`--waits`: what the database's backends do while a storm runs, sampled every 10 ms from
    pg_stat_activity (backends running or waiting for a lock; or idle in a transaction, which is
    waiting for the app while holding its locks)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.samples: dict[str, int] = {}
        self.counts: dict[tuple[str, str], dict[str, int]] = {}

    async def during(self, key: tuple[str, str], storm):
        if self.url is None:
            return await storm
        conn = await asyncpg.connect(self.url)
        seen = self.counts.setdefault(key, {})
        task = asyncio.ensure_future(storm)
        try:
            while not task.done():
                for row in await conn.fetch(WAITS, DATABASE):
                    name = f"{row['state']}/{row['waiting']}"
                    seen[name] = seen.get(name, 0) + row["count"]
                seen["samples"] = seen.get("samples", 0) + 1
                await asyncio.sleep(0.01)
        finally:
            await conn.close()
        return await task

    def lines(self) -> list[str]:
        out = []
        for (side, what), seen in sorted(self.counts.items()):
            n = seen.get("samples", 1)
            parts = ", ".join(
                f"{name} {count / n:.1f}"
                for name, count in sorted(seen.items(), key=lambda kv: -kv[1])
                if name != "samples"
            )
            out.append(f"  {side:<9}{what:<12} backends on average: {parts}")
        return out


class Tally:
    def __init__(self) -> None:
        self.walls: list[float] = []
        self.counts: list[int] = []
        self.cpu = 0.0  # the server process's CPU seconds over the counted storms
        self.latencies: list[float] = []

    def add(self, wall: float, latencies: list[float], cpu: float) -> None:
        self.cpu += cpu
        self.walls.append(wall)
        self.counts.append(len(latencies))
        self.latencies += latencies

    @property
    def rate(self) -> float:
        return sum(self.counts) / sum(self.walls) if self.walls else float("nan")

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000 if self.latencies else float("nan")

    def line(self, name: str) -> str:
        return (
            f"{name:<34} {self.rate:8.1f} /s   p50 {percentile(self.latencies, 50) * 1000:8.1f} ms"
            f"   p99 {percentile(self.latencies, 99) * 1000:8.1f} ms"
            f"   server CPU {self.cpu_ms:6.2f} ms each   ({len(self.latencies)})"
        )


async def run(args, servers, plan, waits: Waits) -> dict:
    ports = {side: server.port for side, server in servers.items()}
    tallies = {
        (side, what): Tally() for side in SIDES for what in ("escalate", "contended", "uncontended")
    }
    checks = {"one_winner": True, "claims_won": True, "escalated": True}
    contended: list[tuple[str, str]] = []
    escalated: dict[str, list[str]] = {side: [] for side in SIDES}
    claimed: dict[str, list[str]] = {side: [] for side in SIDES}
    shapes: dict[tuple[str, str], set[bytes]] = {}
    handoffs = iter(plan["handoffs"])
    sessions = iter(plan["sessions"])
    for round_number in range(args.warmup + args.rounds):
        counted = round_number >= args.warmup
        order = SIDES if round_number % 2 == 0 else SIDES[::-1]  # drift hits both alike
        for side in order:
            # Escalations: each escalator's connection works through its share.
            requests = []
            for _ in range(args.escalations):
                session_id, token = next(sessions)
                variables = {"s": session_id, "n": NOTES}
                requests.append(
                    post_request("/graphql", {"query": ESCALATE, "variables": variables}, token)
                )
            cpu = servers[side].cpu_seconds()
            wall, took, bodies = await waits.during(
                (side, "escalate"), _fire(ports[side], args.escalators, requests)
            )
            shapes.setdefault((side, "escalate"), set()).update(_shapes(bodies))
            answers = [json.loads(b)["data"]["createHandoff"] for b in bodies]
            if any(a["__typename"] != "CreateHandoffSuccess" for a in answers):
                checks["escalated"] = False
            escalated[side] += [a["handoff"]["id"] for a in answers if "handoff" in a]
            if counted:
                tallies[side, "escalate"].add(wall, took, servers[side].cpu_seconds() - cpu)
            # Contended: every claimer on one escalation.
            target = next(handoffs)
            requests = [post_request("/graphql", {"query": CLAIM, "variables": {"h": target}}, t)
                        for t in plan["claim_tokens"]]  # fmt: skip
            cpu = servers[side].cpu_seconds()
            wall, took, bodies = await waits.during(
                (side, "contended"), _fire(ports[side], len(requests), requests)
            )
            shapes.setdefault((side, "contended"), set()).update(_shapes(bodies))
            answers = [json.loads(b)["data"]["claimHandoff"] for b in bodies]
            winners = [a for a in answers if a["__typename"] == "ClaimHandoffSuccess"]
            losers = [a for a in answers if a["__typename"] == "AlreadyClaimed"]
            winner = winners[0]["handoff"]["claimedBy"]["id"] if len(winners) == 1 else None
            if not winner or len(losers) != len(answers) - 1:
                checks["one_winner"] = False
            if any(a["claimedBy"]["id"] != winner for a in losers):
                checks["one_winner"] = False
            contended.append((target, winner))
            claimed[side].append(target)
            if counted:
                tallies[side, "contended"].add(wall, took, servers[side].cpu_seconds() - cpu)
            # Uncontended: the same claimers, each on an escalation of their own.
            own = [next(handoffs) for _ in plan["claim_tokens"]]
            requests = [post_request("/graphql", {"query": CLAIM, "variables": {"h": h}}, t)
                        for h, t in zip(own, plan["claim_tokens"], strict=True)]  # fmt: skip
            cpu = servers[side].cpu_seconds()
            wall, took, bodies = await waits.during(
                (side, "uncontended"), _fire(ports[side], len(requests), requests)
            )
            shapes.setdefault((side, "uncontended"), set()).update(_shapes(bodies))
            answers = [json.loads(b)["data"]["claimHandoff"] for b in bodies]
            if any(a["__typename"] != "ClaimHandoffSuccess" for a in answers):
                checks["claims_won"] = False
            claimed[side] += own
            if counted:
                tallies[side, "uncontended"].add(wall, took, servers[side].cpu_seconds() - cpu)
    checks["same_answers"] = all(
        shapes[SIDES[0], what] == shapes[SIDES[1], what]
        for what in ("escalate", "contended", "uncontended")
    )
    return {
        "tallies": tallies,
        "checks": checks,
        "contended": contended,
        "escalated": escalated,
        "claimed": claimed,
    }


async def database_agrees(url: str, contended: list[tuple[str, str]]) -> bool:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id, claimed_by_id FROM handoff WHERE id = ANY($1::uuid[])",
            [uuid.UUID(h) for h, _ in contended],
        )
    finally:
        await conn.close()
    stored = {str(r["id"]): str(r["claimed_by_id"]) for r in rows}
    return all(stored.get(h) == winner for h, winner in contended)


async def rows_per_handoff(url: str, handoff_ids: list[str], rows: dict) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    ids = [uuid.UUID(h) for h in handoff_ids]
    try:
        return {name: await conn.fetchval(sql, ids) / len(ids) for name, sql in rows.items()}
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--claimers", type=int, default=200)
    parser.add_argument("--escalations", type=int, default=200, help="a round, each side")
    parser.add_argument("--escalators", type=int, default=20, help="concurrent connections")
    parser.add_argument("--team", type=int, default=12, help="users of the escalating account")
    parser.add_argument("--waits", action="store_true", help="sample pg_stat_activity")
    args = parser.parse_args()
    args.escalators = min(args.escalators, args.claimers)

    rounds = (args.rounds + args.warmup) * len(SIDES)
    url = fresh_postgres_database(DATABASE)
    processes = []
    try:
        print("seeding ...", flush=True)
        claims = asyncio.run(
            seed(url, accounts=1, handoffs_per_account=rounds * (args.claimers + 1),
                 claimed_fraction=0.0)
        )[0]  # fmt: skip
        _, claim_tokens = asyncio.run(add_users(url, claims.id, args.claimers))
        team = asyncio.run(
            seed(url, accounts=1, handoffs_per_account=1, users_per_account=args.team)
        )[0]
        owners = team.users[1:]  # engineers (the first is the admin)
        token_of = dict(zip(team.users, team.tokens, strict=True))
        pairs = asyncio.run(add_sessions(url, team.id, owners, rounds * args.escalations))
        plan = {
            "claim_tokens": claim_tokens,
            "handoffs": [str(h) for h in claims.handoffs],
            "sessions": [(str(s), token_of[o]) for s, o in pairs],
        }
        # One escalation and two claims (won, lost) on each side in this process, their
        # statements captured: the two sides must run the same ones.
        captured = asyncio.run(capture_both(url, asyncio.run(plan_statements(url))))
        baseline_port = free_port()
        processes.append(
            start_process(
                "baseline-writes",
                [sys.executable, "-m", "uvicorn", "bench.baseline_writes:app",
                 "--port", str(baseline_port), "--log-level", "warning"],
                {"HANDOFF_DATABASE_URL": url},
                port=baseline_port,
            )
        )  # fmt: skip
        processes.append(desk_server("desk-writes", url, HANDOFF_RUN_WORKERS="false"))
        servers = {"desk": processes[1], "baseline": processes[0]}
        pin_self_to_client_core()
        waits = Waits(url if args.waits else None)
        outcome = asyncio.run(run(args, servers, plan, waits))
        agrees = asyncio.run(database_agrees(url, outcome["contended"]))
        written = {
            side: asyncio.run(rows_per_handoff(url, outcome["escalated"][side], ROWS))
            for side in SIDES
        }
        claim_rows = {
            side: asyncio.run(rows_per_handoff(url, outcome["claimed"][side], CLAIM_ROWS))
            for side in SIDES
        }
    finally:
        for process in processes:
            process.stop()
        drop_postgres_database(DATABASE)

    t = outcome["tallies"]
    print(
        f"\nwrite path: {args.escalations} escalations a round by {args.escalators} connections "
        f"({args.team - 1} recipients each); {args.claimers} concurrent claims a round; "
        f"{args.rounds} rounds each side (+{args.warmup} warm-up)"
    )
    for what in ("escalate", "uncontended", "contended"):
        for side in SIDES:
            label = {
                "escalate": "escalations",
                "uncontended": "claims uncontended",
                "contended": "claims contended",
            }[what]
            print(t[side, what].line(f"{side:<9}{label}"))
    print(
        ratio_line(
            "escalations/s desk / baseline",
            t["desk", "escalate"].rate,
            t["baseline", "escalate"].rate,
            ">= 0.6",
        )
    )
    for what in ("uncontended", "contended"):
        print(
            ratio_line(
                f"claims/s {what} desk / baseline",
                t["desk", what].rate,
                t["baseline", what].rate,
                ">= 0.6",
            )
        )
    for what in ("uncontended", "contended"):
        print(
            ratio_line(
                f"claim p99 {what} desk / baseline",
                percentile(t["desk", what].latencies, 99),
                percentile(t["baseline", what].latencies, 99),
                "<= 1.5",
            )
        )
    if args.waits:
        print("PostgreSQL backends during the storms (state/wait event type, mean over samples):")
        print("\n".join(waits.lines()))
    same_statements, statement_lines = compare(captured)
    print("\n".join(statement_lines))
    print(f"desk and baseline run the same statements: {'yes' if same_statements else 'NO'}")
    checks = outcome["checks"]
    same_rows = written["desk"] == written["baseline"]
    same_claim_rows = claim_rows["desk"] == claim_rows["baseline"]
    print(f"exactly one winner in every contended round: {'yes' if checks['one_winner'] else 'NO'}")
    print(f"the database agrees with every winner: {'yes' if agrees else 'NO'}")
    made = checks["claims_won"] and checks["escalated"]
    print(f"every uncontended claim won, every escalation made: {'yes' if made else 'NO'}")
    print(f"desk and baseline write the same rows per escalation: {'yes' if same_rows else 'NO'}")
    alike = checks["same_answers"]
    print(f"desk and baseline answer with the same JSON (ids aside): {'yes' if alike else 'NO'}")
    if not same_rows:
        print(f"  desk {written['desk']}\n  baseline {written['baseline']}")
    print(f"... and per won claim: {'yes' if same_claim_rows else 'NO'}")
    if not same_claim_rows:
        print(f"  desk {claim_rows['desk']}\n  baseline {claim_rows['baseline']}")
    summary = {
        f"{side} {what}": round(t[side, what].rate, 1)
        for side in SIDES
        for what in ("escalate", "uncontended", "contended")
    }
    summary.update(
        {f"{side} {what} p99 ms": round(percentile(t[side, what].latencies, 99) * 1000, 1)
         for side in SIDES for what in ("uncontended", "contended")}
    )  # fmt: skip
    summary.update(
        {f"{side} {what} cpu ms": round(t[side, what].cpu_ms, 2)
         for side in SIDES for what in ("escalate", "uncontended", "contended")}
    )  # fmt: skip
    print(json.dumps({"bench": "write_path", **summary}))
    ok = all(checks.values()) and agrees and same_rows and same_claim_rows and same_statements
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
