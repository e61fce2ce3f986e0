"""Claim storm: 200 concurrent claimHandoff calls by 200 different users on ONE handoff, against
the same 200 concurrent claims spread over 200 different handoffs (the same load without
contention), alternating round by round in one run, on PostgreSQL. Checks exactly one winner in
every contended round, and that the database agrees.

    .venv/bin/python -m bench.claim_storm [--rounds 10] [--claimers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import asyncpg

from bench.common import (
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    fresh_postgres_database,
    percentile,
    pin_self_to_client_core,
    post_request,
    ratio_line,
)
from bench.seed import add_users, seed

DATABASE = "handoff_bench_claims"
CLAIM = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename
  ... on ClaimHandoffSuccess { handoff { claimedBy { id } } }
  ... on AlreadyClaimed { claimedBy { id } } } }"""


async def _storm(connections, requests) -> tuple[list[float], list[dict]]:
    """Every connection sends its request at the same instant; each latency is recorded."""
    gun = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def fire(conn, raw):
        await gun.wait()
        started = loop.time()
        _, body = await conn.request(raw)
        return loop.time() - started, json.loads(body)["data"]["claimHandoff"]

    tasks = [asyncio.create_task(fire(c, r)) for c, r in zip(connections, requests, strict=True)]
    await asyncio.sleep(0.05)  # every task is waiting on the gun
    gun.set()
    results = await asyncio.gather(*tasks)
    return [latency for latency, _ in results], [answer for _, answer in results]


async def run(args, port, tokens, handoffs) -> dict:
    connections = [HTTPConnection(port) for _ in tokens]
    for conn in connections:
        await conn.open()
    pool = iter(handoffs)
    latencies = {"contended": [], "uncontended": []}
    one_winner = True
    contended_ids = []
    try:
        for round_number in range(args.warmup + args.rounds):
            counted = round_number >= args.warmup
            # Contended: everybody claims the same escalation.
            target = next(pool)
            requests = [post_request("/graphql", {"query": CLAIM, "variables": {"h": target}}, t)
                        for t in tokens]  # fmt: skip
            took, answers = await _storm(connections, requests)
            winners = [a for a in answers if a["__typename"] == "ClaimHandoffSuccess"]
            losers = [a for a in answers if a["__typename"] == "AlreadyClaimed"]
            winner = winners[0]["handoff"]["claimedBy"]["id"] if len(winners) == 1 else None
            if not (winner and len(losers) == len(tokens) - 1):
                one_winner = False
            if any(a["claimedBy"]["id"] != winner for a in losers):
                one_winner = False
            contended_ids.append((target, winner))
            # Uncontended: the same claimers, each on an escalation of their own.
            own = [next(pool) for _ in tokens]
            requests = [post_request("/graphql", {"query": CLAIM, "variables": {"h": h}}, t)
                        for h, t in zip(own, tokens, strict=True)]  # fmt: skip
            took_alone, answers = await _storm(connections, requests)
            if any(a["__typename"] != "ClaimHandoffSuccess" for a in answers):
                one_winner = False
            if counted:
                latencies["contended"] += took
                latencies["uncontended"] += took_alone
    finally:
        for conn in connections:
            await conn.close()
    return {"latencies": latencies, "one_winner": one_winner, "contended": contended_ids}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--claimers", type=int, default=200)
    args = parser.parse_args()

    rounds = args.rounds + args.warmup
    url = fresh_postgres_database(DATABASE)
    server = None
    try:
        accounts = asyncio.run(
            seed(url, accounts=1, handoffs_per_account=rounds * (args.claimers + 1),
                 claimed_fraction=0.0)
        )  # fmt: skip
        account = accounts[0]
        _, tokens = asyncio.run(add_users(url, account.id, args.claimers))
        server = desk_server("claim-storm", url, HANDOFF_RUN_WORKERS="false")
        pin_self_to_client_core()
        handoffs = [str(h) for h in account.handoffs]
        outcome = asyncio.run(run(args, server.port, tokens, handoffs))
        agrees = asyncio.run(database_agrees(url, outcome["contended"]))
    finally:
        if server is not None:
            server.stop()
        drop_postgres_database(DATABASE)

    lat = outcome["latencies"]
    print(f"\nclaim storm: {args.claimers} concurrent claims a round, {args.rounds} rounds each")
    for name in ("contended", "uncontended"):
        values = lat[name]
        print(
            f"{name:<12} p50 {percentile(values, 50) * 1000:8.1f} ms   "
            f"p99 {percentile(values, 99) * 1000:8.1f} ms   ({len(values)} claims)"
        )
    print(
        ratio_line(
            "claim p99 contended / uncontended",
            percentile(lat["contended"], 99),
            percentile(lat["uncontended"], 99),
            "<= 1.5",
        )
    )
    print(f"exactly one winner in every round: {'yes' if outcome['one_winner'] else 'NO'}")
    print(f"the database agrees with every winner: {'yes' if agrees else 'NO'}")
    return 0 if outcome["one_winner"] and agrees else 1


if __name__ == "__main__":
    raise SystemExit(main())
