"""Escalation latency with an assessor that takes 5 s against an instant one, in one run: the
assessment happens after the escalation commits, so the escalation must not notice.

    .venv/bin/python -m bench.escalate_slow_assessor [--escalations 200] [--delay 5]

The assessor is the OpenAI-compatible one, talking to a local chat-completions server
(tests/fake_llm.py) whose reply the script makes instant or slow, block by block.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import asyncpg

from bench.common import (
    HTTPConnection,
    desk_server,
    drop_postgres_database,
    fresh_postgres_database,
    percentile,
    post_request,
    ratio_line,
)
from bench.seed import seed
from tests.fake_llm import FakeChatCompletions  # a real local HTTP server

DATABASE = "handoff_bench_escalate"
START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "VPN drops",
  problemSummary: "VPN drops every ten minutes"}) {
  ... on StartSessionSuccess { session { id } } } }"""
ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  engineerNotes: "Reinstalled the client"}) { __typename
  ... on CreateHandoffSuccess { handoff { id assessment { status } } } } }"""


async def _escalate_block(conn, token, count) -> tuple[list[float], list[str]]:
    latencies, ids = [], []
    for _ in range(count):
        _, body = await conn.request(post_request("/graphql", {"query": START}, token))
        session_id = json.loads(body)["data"]["startSession"]["session"]["id"]
        raw = post_request("/graphql", {"query": ESCALATE, "variables": {"s": session_id}}, token)
        started = time.perf_counter()
        _, body = await conn.request(raw)
        latencies.append(time.perf_counter() - started)
        answer = json.loads(body)["data"]["createHandoff"]
        assert answer["__typename"] == "CreateHandoffSuccess", answer
        ids.append(answer["handoff"]["id"])
    return latencies, ids


async def run(args, port, token, llm, url) -> dict:
    conn = HTTPConnection(port)
    await conn.open()
    results = {"instant": [], "slow": []}
    pending_while_returned = 0
    slow_total = 0
    block = max(1, args.escalations // 10)
    await _escalate_block(conn, token, 10)  # warm-up
    try:
        for n in range(args.escalations // block):
            mode = "slow" if n % 2 else "instant"
            llm.set("slow", delay=args.delay) if mode == "slow" else llm.set("ok")
            latencies, ids = await _escalate_block(conn, token, block)
            results[mode] += latencies
            if mode == "slow":
                slow_total += len(ids)
                pending_while_returned += await _still_pending(url, ids)
    finally:
        await conn.close()
    return {"latencies": results, "pending": pending_while_returned, "slow_total": slow_total}


async def _still_pending(url, ids) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM handoff WHERE id = ANY($1::uuid[]) "
            "AND assessment_status = 'pending'",
            ids,
        )
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=200)
    parser.add_argument("--delay", type=float, default=5.0)
    args = parser.parse_args()
    url = fresh_postgres_database(DATABASE)
    server = None
    try:
        with FakeChatCompletions() as llm:
            accounts = asyncio.run(seed(url, accounts=1, handoffs_per_account=1))
            token = accounts[0].tokens[1]
            server = desk_server(
                "escalate",
                url,
                HANDOFF_ASSESSOR="openai",
                HANDOFF_OPENAI_BASE_URL=llm.base_url,
                HANDOFF_OPENAI_MODEL="bench",
                HANDOFF_ASSESSMENT_TIMEOUT_SECONDS="30",
                HANDOFF_ASSESSMENT_WORKERS="8",
            )
            outcome = asyncio.run(run(args, server.port, token, llm, url))
            asked = len(llm.requests)
    finally:
        if server is not None:
            server.stop()
        drop_postgres_database(DATABASE)

    lat = outcome["latencies"]
    print(f"\nescalation latency, {args.delay:g} s assessor vs instant, blocks alternating")
    for name in ("instant", "slow"):
        values = lat[name]
        print(
            f"{name:<8} p50 {percentile(values, 50) * 1000:7.2f} ms   "
            f"p99 {percentile(values, 99) * 1000:7.2f} ms   "
            f"mean {statistics.fmean(values) * 1000:7.2f} ms   ({len(values)} escalations)"
        )
    for p in (50, 99):
        print(ratio_line(f"escalation p{p} slow / instant", percentile(lat["slow"], p),
                         percentile(lat["instant"], p), "1.0 within noise"))  # fmt: skip
    print(
        f"slow escalations whose assessment was still pending when the next block began: "
        f"{outcome['pending']} of {outcome['slow_total']}; the assessor was asked {asked} times"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
