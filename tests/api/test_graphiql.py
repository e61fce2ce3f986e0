"""GraphiQL at /graphql comes from the desk itself: its page, its script and the vendored
releases (web/graphiql/vendor/VERSIONS.json), nothing from a CDN; HANDOFF_GRAPHIQL=false
turns all of it off. (In a browser with no internet: tests/system/test_graphiql_e2e.py.)"""

from __future__ import annotations

import hashlib
import json
import re

import httpx
import pytest

from handoff_desk.app import create_app
from handoff_desk.http.graphiql import GRAPHIQL_DIR

pytestmark = pytest.mark.anyio

RECORD = json.loads((GRAPHIQL_DIR / "vendor" / "VERSIONS.json").read_text())
VENDORED = {target: e["sha256"] for p in RECORD["packages"] for target, e in p["files"].items()}


async def test_the_page_and_everything_it_loads_are_served_here(api):
    page = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Handoff Desk · GraphiQL</title>" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # no CDN
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "connect-src 'self'" in policy  # the queries, and the subscriptions' websocket
    loaded = re.findall(r'(?:src|href)="(/graphiql/[^"]+)"', page.text)
    assert len(loaded) == 8
    for url in loaded:
        asset = await api.client.get(url)
        assert asset.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].startswith(kind), url
        assert asset.headers["x-content-type-options"] == "nosniff"
        target = url.removeprefix("/graphiql/vendor/")
        if target in VENDORED:  # the bytes served are the recorded ones
            assert hashlib.sha256(asset.content).hexdigest() == VENDORED[target], url


async def test_the_licences_are_served_beside_the_files(api):
    for target in VENDORED:
        if target.endswith("/LICENSE"):
            licence = await api.client.get(f"/graphiql/vendor/{target}")
            assert licence.status_code == 200 and "MIT License" in licence.text, target


async def test_only_through_graphql_and_graphiql(api):
    # The page has its headers at /graphql only; the console's folder does not serve GraphiQL.
    for path in ("/graphiql/index.html", "/graphiql/", "/console/graphiql/page.js"):
        assert (await api.client.get(path)).status_code == 404, path
    assert (await api.client.get("/graphiql/nope.js")).status_code == 404


@pytest.fixture
async def without_graphiql(settings):
    app = create_app(settings.model_copy(update=dict(graphiql=False)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            yield client


async def test_handoff_graphiql_false_turns_the_page_and_its_files_off(without_graphiql):
    client = without_graphiql
    assert (await client.get("/graphql", headers={"accept": "text/html"})).status_code == 404
    for url in ("/graphiql/page.js", "/graphiql/vendor/graphiql/graphiql.min.js"):
        assert (await client.get(url)).status_code == 404, url
    answer = await client.post("/graphql", json={"query": "{ __typename }"})
    assert answer.json() == {"data": {"__typename": "Query"}}
