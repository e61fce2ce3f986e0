"""The README's client examples, the files in docs/clients/ as a reader copies them, run against a
desk with the demo's data (served in this process; the demo's SQLite copy: these test the clients,
not the storage): Apollo Client and Python's gql log in as the demo's admin, print the queue's first
escalation, then the next one raised, which a junior raises once they listen; graphql-codegen
types an operation from the desk's introspection with `DateTime` as a string, and tsc checks the
code that uses those types; Apollo Client's relayStylePagination and urql Graphcache's
relayPagination page the desk's connections into the whole lists (pagination.mjs).

The node packages are docs/clients/package.json's, installed in docs/clients/node_modules/ by
scripts/setup; without node (or them) the node tests skip, naming what is missing (and fail in CI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests import services
from tests.http import GraphQLClient
from tests.system.test_graphiql_e2e import ALEX, VPN, subscriptions_open
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "docs" / "clients"
MODULES = CLIENTS / "node_modules"

# What the demo's admin sees first in the queue: the urgent, unclaimed escalation.
FIRST = "First: [URGENT] Shared printer offline for the finance team"


def _node(package: str) -> str:
    """node, with `package` installed beside the examples; skips (fails in CI) naming what is
    missing."""
    node = shutil.which("node")
    if node is None:
        services.unavailable("node", "not on PATH (apt-get install nodejs npm, then scripts/setup)")
    if not (MODULES / package / "package.json").is_file():
        services.unavailable(package, f"not in {MODULES} (scripts/setup installs it)")
    return node


def _env(server) -> dict[str, str]:
    """This process's environment, the desk's settings and logins left out, and the URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    return {**env, "HANDOFF_URL": f"{server.url}/graphql"}


async def _finish(process: asyncio.subprocess.Process, seen: list[str]) -> list[str]:
    """The rest of what `process` prints, once it ends (seen: the lines read before)."""
    try:
        async with asyncio.timeout(120):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines = seen + out.decode().splitlines()
    assert process.returncode == 0, "\n".join([*lines, err.decode()])
    return lines


async def _run(server, *argv: str) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=CLIENTS,
        env=_env(server),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return await _finish(process, [])


async def _listens_then_hears_an_escalation(server, demo, *argv: str) -> list[str]:
    """Runs an example until it waits for a new escalation, has Alex (a junior) escalate his VPN
    session, and returns what the example printed, having heard of it."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=CLIENTS,
        env=_env(server),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[str] = []
    try:
        async with asyncio.timeout(120):
            assert process.stdout is not None
            while not seen or seen[-1] != "Waiting for a new escalation...":
                line = await process.stdout.readline()
                if not line:
                    break  # ended early: _finish says how
                seen.append(line.decode().rstrip("\n"))
        if seen and seen[-1] == "Waiting for a new escalation...":
            await wait_for(lambda: subscriptions_open(server, 1), "the example's subscription")
            async with GraphQLClient(server.url) as client:
                sessions = await client.data(
                    "{ mySessions(status: ACTIVE) { id problemSummary } }", token=demo.tokens[ALEX]
                )
                [vpn] = [s for s in sessions["mySessions"] if s["problemSummary"] == VPN]
                await client.escalate(demo.tokens[ALEX], vpn["id"])
    finally:
        lines = await _finish(process, seen)
    return lines


async def test_the_apollo_client_example(server, demo):
    node = _node("@apollo/client")
    lines = await _listens_then_hears_an_escalation(server, demo, node, "apollo.mjs")
    assert lines[0] == "Signed in as Dana Whitfield"
    assert lines[2].startswith(FIRST), lines
    assert lines[-1] == f"New escalation: [NORMAL] {VPN}"


async def test_the_python_gql_example(server, demo):
    lines = await _listens_then_hears_an_escalation(server, demo, sys.executable, "gql_example.py")
    assert lines[0] == "Signed in as Dana Whitfield"
    assert lines[2].startswith(FIRST), lines
    assert lines[-1] == f"New escalation: [NORMAL] {VPN}"


async def test_the_codegen_example_types_datetime_as_a_string(server):
    node = _node("@graphql-codegen/cli")
    generated = CLIENTS / "generated"
    shutil.rmtree(generated, ignore_errors=True)  # what an earlier run wrote
    await _run(server, node, str(MODULES / ".bin" / "graphql-codegen"), "--config", "codegen.ts")
    types = (generated / "graphql.ts").read_text()
    # The Queue query's type, its createdAt (a DateTime) a string as codegen.ts maps it.
    [queue] = [line for line in types.splitlines() if line.startswith("export type QueueQuery =")]
    assert "createdAt: string," in queue, queue
    # The code that uses the generated types compiles (strict), createdAt being a string.
    await _run(
        server,
        node,
        str(MODULES / ".bin" / "tsc"),
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",  # as a bundled front end (Vite, webpack) resolves imports
        "queue.ts",
    )


async def test_apollo_and_urql_page_the_desks_connections_into_the_whole_lists(server, demo):
    """Relay's conventions, as two clients' own pagination helpers rely on them: Apollo Client's
    relayStylePagination (fetchMore) and urql Graphcache's relayPagination page the account's
    users and a session's conversation (reached through node(id:)) one item a page, and the
    merged lists equal the whole lists in order (the script checks; it fails otherwise)."""
    _node("@apollo/client")
    node = _node("@urql/exchange-graphcache")
    lines = await _run(server, node, "pagination.mjs")
    assert [line.split(":")[0] for line in lines] == [
        "Apollo Client, users",
        "Apollo Client, messages",
        "urql, users",
        "urql, messages",
    ], lines
    assert (
        lines[0]
        == lines[2].replace("urql", "Apollo Client")
        == ("Apollo Client, users: 4 in 4 pages, in order")
    ), lines
    assert all(line.endswith(" pages, in order") for line in lines), lines
