"""GraphQL over HTTP as the spec's own audit suite sees /graphql: graphql-http's `auditServer`
(tests/support/graphql_http_audit/, installed in .node/ by scripts/setup) against the app served
in this process, from a node process. Every audit is `ok`: no error, no warning, no notice.

`{ __typename }` and `__type` answer without a token, so the audit runs as it is; it runs again
signed in (the token added by the custom fetch the suite accepts), twice, so that the answers
taken from the answer cache are audited too.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests import services
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "tests" / "support" / "graphql_http_audit" / "audit.mjs"
MODULES = ROOT / ".node" / "node_modules"


def _node() -> str:
    """node, with graphql-http beside it; skips (fails in CI) naming what is missing."""
    node = shutil.which("node")
    if node is None:
        services.unavailable("node", "not on PATH (apt-get install nodejs npm, then scripts/setup)")
    if not (MODULES / "graphql-http" / "package.json").is_file():
        services.unavailable("graphql-http", f"not in {MODULES} (scripts/setup installs it)")
    return node


async def _audit(node: str, url: str, token: str | None = None) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "AUDIT_TOKEN"}
    if token:
        env["AUDIT_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        node,
        str(AUDIT),
        str(MODULES),
        f"{url}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        async with asyncio.timeout(120):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    results: list[dict] = json.loads(out)
    assert results, "the audit ran no audits"
    return results


def _not_ok(results: list[dict]) -> list[str]:
    return [
        f"{r['status']} {r['id']} {r['name']}: {r.get('reason')} "
        f"(status {r.get('responseStatus')}, body {r.get('body')})"
        for r in results
        if r["status"] != "ok"
    ]


async def test_every_audit_of_the_spec_is_ok_for_an_anonymous_caller(in_process):
    node = _node()
    server = await in_process()
    results = await _audit(node, server.url)
    assert not _not_ok(results), "\n".join(_not_ok(results))


async def test_every_audit_of_the_spec_is_ok_signed_in_and_from_the_answer_cache(in_process, team):
    node = _node()
    server = await in_process()
    cache = server.app.state.query_cache
    for _ in range(2):  # the second round reads the answers the first one kept
        results = await _audit(node, server.url, team.acme["sam"].token)
        assert not _not_ok(results), "\n".join(_not_ok(results))
    assert cache.hits > 0
