"""Input and memory are bounded: request bodies (413 before they are read whole), the caches
documents and answers go into (by bytes, keyed by digests, documents too large never kept), and
JSON nesting (400 over HTTP, 4400 over websockets, on both protocols)."""

from __future__ import annotations

import contextlib
import gc
import json

import httpx
import pytest

from handoff_desk.app import create_app
from handoff_desk.cli import _settle_garbage_collector
from handoff_desk.http.json_depth import MAX_DEPTH
from handoff_desk.settings import Settings
from schema.documents import live_caches
from tests.conftest import Api
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.input_bounds import MiB
from tests.ws import LEGACY_WS, TRANSPORT_WS, GraphQLSocket

pytestmark = pytest.mark.anyio


START_SESSION = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "c",
    problemSummary: "Padded"}) { __typename } }"""


MY_SESSIONS = "{ mySessions { problemSummary } }"


GRAPHQL_RESPONSE = "application/graphql-response+json"


def _padded_body(document: str, size: int) -> bytes:
    """A well-formed request body of `size` bytes: the document, padded with spaces."""
    body = json.dumps({"query": document + " "})
    return body.replace(' "}', " " * (size - len(body)) + ' "}', 1).encode()


def _headers(token: str, accept: str = "application/json") -> dict:
    return {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "accept": accept,
    }


async def _nothing_ran(api: Api, token: str) -> None:
    assert await api.data(MY_SESSIONS, token=token) == {"mySessions": []}


async def test_a_body_longer_than_the_limit_by_its_length_gets_413_and_never_runs(api, team):
    alex = team.acme["alex"].token
    body = _padded_body(START_SESSION, 2 * MiB)
    assert len(body) == 2 * MiB
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await api.client.post("/graphql", content=body, headers=_headers(alex, accept))
        assert response.status_code == 413
        assert response.headers["content-type"].startswith(accept)
        assert "larger than the limit of 1048576 bytes" in response.json()["errors"][0]["message"]
    await _nothing_ran(api, alex)
    # Under the limit, the same request runs.
    small = _padded_body(START_SESSION, MiB)
    response = await api.client.post("/graphql", content=small, headers=_headers(alex))
    assert response.json() == {"data": {"startSession": {"__typename": "StartSessionSuccess"}}}


async def test_a_chunked_body_is_stopped_where_it_passes_the_limit(api, team):
    alex = team.acme["alex"].token
    body = _padded_body(START_SESSION, 2 * MiB)
    chunk = 64 * 1024
    sent = 0

    async def stream():  # no Content-Length: sent chunked
        nonlocal sent
        for start in range(0, len(body), chunk):
            sent += 1
            yield body[start : start + chunk]

    response = await api.client.post("/graphql", content=stream(), headers=_headers(alex))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"].startswith("The request body is larger")
    # The server read up to the chunk that crossed the limit, and no further.
    assert sent == MiB // chunk + 1
    await _nothing_ran(api, alex)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_json_nested_too_deeply_gets_400_not_500(api, team):
    alex = team.acme["alex"].token
    query = "query($v: String) { me { name } }"
    bodies = {
        "a body of brackets": "[" * 100_000,
        "deep variables": f'{{"query": "{query}", "variables": {{"v": {_nested(900)}}}}}',
        "variables just over the limit": (
            f'{{"query": "{query}", "variables": {{"v": {_nested(MAX_DEPTH - 1)}}}}}'
        ),
    }
    for case, body in bodies.items():
        for accept in ("application/json", GRAPHQL_RESPONSE):
            response = await api.client.post(
                "/graphql", content=body, headers=_headers(alex, accept)
            )
            assert response.status_code == 400, (case, response.text)
            assert "nested too deeply" in response.json()["errors"][0]["message"], case
    response = await api.client.get(
        "/graphql",
        params={"query": query, "variables": f'{{"v": {_nested(5000)}}}'},
        headers=_headers(alex),
    )
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["errors"][0]["message"]
    # At the limit, the request is an ordinary one (answered with its GraphQL errors).
    at_limit = f'{{"query": "{query}", "variables": {{"v": {_nested(MAX_DEPTH - 2)}}}}}'
    response = await api.client.post("/graphql", content=at_limit, headers=_headers(alex))
    assert response.status_code == 200 and "nested too deeply" not in response.text


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_websocket_message_nested_too_deeply_closes_with_4400(in_process, team, protocol):
    server = await in_process()
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    deep_variables = {"query": "subscription { queueEvents { kind } }", "variables": {}}
    frames = [
        "[" * 100_000,  # a RecursionError in json.loads
        json.dumps({"id": "1", "type": kind, "payload": deep_variables}).replace(
            '"variables": {}', f'"variables": {{"v": {_nested(500)}}}'
        ),
    ]
    for frame in frames:
        async with GraphQLSocket(server.url, protocol) as ws:
            await ws.connect(team.acme["dana"].token)
            await ws._ws.send(frame)
            closed = await ws.wait_closed()
        assert (closed.code, closed.reason) == (4400, "the message is nested too deeply")


@pytest.fixture
async def small_bodies(tmp_path):
    """An app whose bodies may be 64 KiB: the flood below sends 1,000 documents of up to half
    that (1 MiB documents, the default limit, would make the test slow, not different). Its
    requests are anonymous `__typename` queries: no database is touched."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db",
        token_secret="test-secret-not-for-production-0123456789",
        run_workers=False,
        max_body_bytes=64 * 1024,
    )
    app = create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://desk.test")
        )


def _distinct_document(n: int) -> str:
    """Documents that all parse and run anonymously: one in a hundred has 1,793 tokens (its tree
    is too large to keep; each costs as much to parse and validate as eight of the others), the
    others a few tokens and 32 KiB of white space (together over twice the parse cache's budget:
    it keeps about 450 of them)."""
    if n % 100 == 0:
        return f"query Q{n} {{ " + "...F " * 891 + "} fragment F on Query { __typename }"
    return f"query Q{n} {{ __typename }}" + " " * (32 * 1024)


@contextlib.contextmanager
def collector_as_served():
    """The cyclic garbage collector as `handoff-desk serve` settles it once started (startup's
    objects frozen, young ones collected less often); the test process's own afterwards. The
    flood leaves cyclic garbage (token lists): with the defaults, in a test process far larger
    than a server's, a fifth of the flood went on collecting it."""
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    _settle_garbage_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if not enabled:
            gc.disable()


async def test_a_flood_of_distinct_documents_leaves_every_cache_within_its_budget(small_bodies):
    with collector_as_served():
        for n in range(1000):
            response = await small_bodies.post("/graphql", json={"query": _distinct_document(n)})
            assert response.json() == {"data": {"__typename": "Query"}}, response.text
    caches = {cache.name: cache for cache in live_caches() if len(cache)}
    assert {"parsed documents", "validation results"} <= set(caches)
    for cache in live_caches():
        assert cache.bytes <= cache.max_bytes, (cache.name, cache.bytes, cache.max_bytes)
    parsed = [c for c in live_caches() if c.name == "parsed documents" and c.skipped]
    assert parsed, "the documents with 1,793 tokens were too large to keep"
