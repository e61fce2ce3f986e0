"""Queue read, cold and warm: `handoffQueue(first: 50)` with what a queue screen shows, on
PostgreSQL with 10,000 handoffs across 20 accounts, against a hand-written Starlette + asyncpg
baseline running the same SQL and returning the same bytes, in the same run.

    .venv/bin/python -m bench.queue_read [--seconds 8] [--concurrency 16] [--rounds 2]
        [--executor lean|off]

Cold: the desk with its answer cache off, so every read executes the query (what a read costs
when the data changed since the last one). Warm: the cache on, nothing changing. Each server is
one uvicorn process pinned to the server core; this load generator runs on the other core.
`--executor` picks the desk's execution: lean (schema/execution.py, the default) or off (plain
graphql-core, HANDOFF_LEAN_EXECUTOR=false), to see what the lean executor earns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys

from bench.common import (
    HTTPConnection,
    closed_loop,
    desk_server,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
    pin_self_to_client_core,
    post_request,
    ratio_line,
    start_process,
)
from bench.seed import seed

QUEUE_SCREEN = """query Queue($first: Int!) { handoffQueue(first: $first) {
  unreadCount totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id priority createdAt claimedAt unread engineerNotes
    session { id problemSummary status }
    createdBy { id name }
    claimedBy { id name }
    assessment { status summary likelyCause suggestedSteps confidence } } } } }"""
DATABASE = "handoff_bench_queue"
EXECUTORS = {"lean": "true", "off": "false"}  # --executor: HANDOFF_LEAN_EXECUTOR


def _ok(body: bytes) -> bool:
    return body.startswith(b'{"data":{"handoffQueue"')


async def _same_answers(ports: dict[str, int], requests: list[bytes]) -> bool:
    """The desk and the baseline answer every sampled request with the same bytes."""
    answers: dict[str, list[bytes]] = {}
    for name, port in ports.items():
        conn = HTTPConnection(port)
        await conn.open()
        answers[name] = [(await conn.request(raw))[1] for raw in requests[:10]]
        await conn.close()
    first, *rest = answers.values()
    return all(other == first for other in rest)


async def measure(args, ports: dict[str, int], requests: list[bytes]) -> dict[str, list]:
    results: dict[str, list] = {name: [] for name in ports}
    for name, port in ports.items():  # warm-up: connections, caches, JIT-free but still
        await closed_loop(name, port, requests, concurrency=args.concurrency, seconds=2)
    for _ in range(args.rounds):  # interleaved, so drift hits all three alike
        for name, port in ports.items():
            result = await closed_loop(
                name, port, requests, concurrency=args.concurrency, seconds=args.seconds, check=_ok
            )
            results[name].append(result)
            print("  " + result.line(), flush=True)
    return results


def _combined(results) -> tuple[float, float, float, int]:
    rps = statistics.fmean(r.rps for r in results)
    latencies = [x for r in results for x in r.latencies]
    p50 = sorted(latencies)[len(latencies) // 2]
    p99 = sorted(latencies)[int(len(latencies) * 0.99)]
    return rps, p50, p99, sum(r.errors for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--executor", choices=list(EXECUTORS), default="lean")
    args = parser.parse_args()

    print("seeding 10,000 handoffs across 20 accounts on PostgreSQL ...", flush=True)
    url = fresh_postgres_database(DATABASE)
    processes = []
    try:
        accounts = asyncio.run(seed(url, accounts=20, handoffs_per_account=500))
        requests = [
            post_request(
                "/graphql",
                {"query": QUEUE_SCREEN, "variables": {"first": args.first}},
                token=account.tokens[n],
            )
            for account in accounts
            for n in (1, 2, 3)
        ]
        baseline_port = free_port()
        processes.append(
            start_process(
                "baseline-queue",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.baseline_queue:app",
                    "--port",
                    str(baseline_port),
                    "--log-level",
                    "warning",
                ],
                {"HANDOFF_DATABASE_URL": url},
                port=baseline_port,
            )
        )
        lean = EXECUTORS[args.executor]
        cold = desk_server(
            "desk-cold",
            url,
            HANDOFF_QUERY_CACHE_MB="0",
            HANDOFF_RUN_WORKERS="false",
            HANDOFF_LEAN_EXECUTOR=lean,
        )
        warm = desk_server(
            "desk-warm", url, HANDOFF_RUN_WORKERS="false", HANDOFF_LEAN_EXECUTOR=lean
        )
        processes += [cold, warm]
        ports = {"baseline": baseline_port, "desk cold": cold.port, "desk warm": warm.port}
        pin_self_to_client_core()

        identical = asyncio.run(_same_answers(ports, requests))
        print(f"desk and baseline answer with identical bytes: {'yes' if identical else 'NO'}")
        results = asyncio.run(measure(args, ports, requests))
    finally:
        for process in processes:
            process.stop()
        drop_postgres_database(DATABASE)

    print(
        f"\nqueue read, first: {args.first}, {args.concurrency} connections, closed loop, "
        f"executor {args.executor}"
    )
    summary = {}
    for name, runs in results.items():
        rps, p50, p99, errors = _combined(runs)
        summary[name] = rps
        print(
            f"{name:<12} {rps:9.1f} req/s   p50 {p50 * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms"
            f"   errors {errors}"
        )
    print(
        ratio_line(
            "queue read cold / baseline (req/s)",
            summary["desk cold"],
            summary["baseline"],
            ">= 0.35",
        )
    )
    print(
        ratio_line(
            "queue read warm / baseline (req/s)",
            summary["desk warm"],
            summary["baseline"],
            ">= 1.0",
        )
    )
    rounded = {k: round(v, 1) for k, v in summary.items()}
    print(json.dumps({"bench": "queue_read", "executor": args.executor, **rounded}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
