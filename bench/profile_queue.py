"""Where a cold queue read's time goes: the queue screen's `handoffQueue(first: 50)` executed in
process (answer cache off) on PostgreSQL with the queue benchmark's data, under cProfile.

    .venv/bin/python -m bench.profile_queue [--requests 300] [--top 30]

Prints the mean time per request and the functions that take it (own time, then cumulative).
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
from bench.queue_read import QUEUE_SCREEN
from bench.seed import seed
from db.engine import normalize_database_url
from handoff_desk.app import create_app
from handoff_desk.settings import Settings

DATABASE = "handoff_bench_profile"


async def _requests(url: str, tokens: list[str], count: int) -> tuple[float, cProfile.Profile]:
    settings = Settings(
        database_url=normalize_database_url(url), token_secret=TOKEN_SECRET, query_cache_mb=0
    )
    app = create_app(settings)
    body = json.dumps({"query": QUEUE_SCREEN, "variables": {"first": 50}})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:

            async def read(n: int) -> None:
                headers = {
                    "authorization": f"Bearer {tokens[n % len(tokens)]}",
                    "content-type": "application/json",
                }
                response = await client.post("/graphql", content=body, headers=headers)
                assert response.status_code == 200 and b'"errors"' not in response.content

            for n in range(50):  # warm-up: pools, caches of parsed documents and statements
                await read(n)
            started = time.perf_counter()
            for n in range(count):
                await read(n)
            plain = (time.perf_counter() - started) / count
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            for n in range(count):
                await read(n)
            profile.disable()
            return plain, (time.perf_counter() - started) / count, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    url = fresh_postgres_database(DATABASE)
    try:
        accounts = asyncio.run(seed(url, accounts=20, handoffs_per_account=500))
        tokens = [account.tokens[1] for account in accounts]
        plain, profiled, profile = asyncio.run(_requests(url, tokens, args.requests))
    finally:
        drop_postgres_database(DATABASE)
    print(
        f"{args.requests} cold queue reads in process: {plain * 1000:.2f} ms each "
        f"({profiled * 1000:.2f} ms under the profiler)"
    )
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
