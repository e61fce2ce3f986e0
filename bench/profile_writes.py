"""Where an escalation's and a claim's time goes: bench/write_path.py's `createHandoff` and
(uncontended) `claimHandoff` executed in process on PostgreSQL, one after another, under cProfile.

    .venv/bin/python -m bench.profile_writes [--requests 300] [--top 30] [--only escalate|claim]
        [--callers NAME]

Prints the wall and CPU time per request (CPU: this process's, which is the desk's: the
database runs elsewhere), then the functions that take it (own time, then cumulative).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time

import httpx

from bench.common import TOKEN_SECRET, drop_postgres_database, fresh_postgres_database
from bench.seed import add_sessions, add_users, seed
from bench.write_path import CLAIM, ESCALATE, NOTES
from db.engine import normalize_database_url
from handoff_desk.app import create_app
from handoff_desk.settings import Settings

DATABASE = "handoff_bench_profile_writes"
WARMUP = 30


def _bodies(what: str, plan: dict, count: int) -> list[tuple[bytes, str]]:
    if what == "escalate":
        return [
            (json.dumps({"query": ESCALATE, "variables": {"s": s, "n": NOTES}}).encode(), token)
            for s, token in plan["sessions"][:count]
        ]
    tokens = plan["claim_tokens"]
    return [
        (json.dumps({"query": CLAIM, "variables": {"h": h}}).encode(), tokens[n % len(tokens)])
        for n, h in enumerate(plan["handoffs"][:count])
    ]


async def _measure(url: str, plan: dict, what: str, count: int):
    settings = Settings(
        database_url=normalize_database_url(url), token_secret=TOKEN_SECRET, run_workers=False
    )
    app = create_app(settings)
    bodies = _bodies(what, plan, WARMUP + 2 * count)
    expected = b"CreateHandoffSuccess" if what == "escalate" else b"ClaimHandoffSuccess"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:

            async def send(body: bytes, token: str) -> None:
                headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
                response = await client.post("/graphql", content=body, headers=headers)
                assert expected in response.content, response.content

            for body, token in bodies[:WARMUP]:  # pools, parsed documents, compiled statements
                await send(body, token)
            plain = bodies[WARMUP : WARMUP + count]
            wall, cpu = time.perf_counter(), time.process_time()
            for body, token in plain:
                await send(body, token)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            profile = cProfile.Profile()
            profile.enable()
            for body, token in bodies[WARMUP + count :]:
                await send(body, token)
            profile.disable()
    return wall / count, cpu / count, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--only", choices=["escalate", "claim"])
    parser.add_argument(
        "--callers", metavar="NAME", help="also print who calls the functions matching NAME"
    )
    args = parser.parse_args()
    needed = WARMUP + 2 * args.requests
    url = fresh_postgres_database(DATABASE)
    try:
        claims = asyncio.run(
            seed(url, accounts=1, handoffs_per_account=needed, claimed_fraction=0.0)
        )[0]
        _, claim_tokens = asyncio.run(add_users(url, claims.id, 20))
        team = asyncio.run(seed(url, accounts=1, handoffs_per_account=1))[0]
        token_of = dict(zip(team.users, team.tokens, strict=True))
        pairs = asyncio.run(add_sessions(url, team.id, team.users[1:], needed))
        plan = {
            "claim_tokens": claim_tokens,
            "handoffs": [str(h) for h in claims.handoffs],
            "sessions": [(str(s), token_of[o]) for s, o in pairs],
        }
        results = {
            what: asyncio.run(_measure(url, plan, what, args.requests))
            for what in ("escalate", "claim")
            if args.only in (None, what)
        }
    finally:
        drop_postgres_database(DATABASE)
    for what, (wall, cpu, profile) in results.items():
        print(
            f"\n{what}: {args.requests} in process, one at a time: {wall * 1000:.2f} ms wall, "
            f"{cpu * 1000:.2f} ms CPU each"
        )
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
