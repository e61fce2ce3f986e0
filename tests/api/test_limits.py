"""Query limits (depth, tokens, aliases), introspection by setting, and the health endpoints."""

import httpx
import pytest

from handoff_desk.app import create_app
from tests.conftest import Api

pytestmark = pytest.mark.anyio


@pytest.fixture
async def strict(settings):
    """The app with tight limits and introspection off, on the same database."""
    app = create_app(
        settings.model_copy(
            update=dict(
                max_query_depth=4, max_query_tokens=200, max_query_aliases=2, introspection=False
            )
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://strict.test") as client:
            yield Api(client)


DEEP = "{ handoffQueue { edges { node { session { owner { name } } } } } }"
ALIASES = "{ a: me { name } b: me { name } c: me { name } }"
MANY_TOKENS = "{ me { " + " ".join(["name"] * 250) + " } }"
INTROSPECTION = "{ __schema { types { name } } }"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (DEEP, "exceeds maximum operation depth"),
        (ALIASES, "aliases"),
        (MANY_TOKENS, "token"),
        (INTROSPECTION, "introspection"),
    ],
)
async def test_a_document_over_a_limit_is_refused_with_a_clear_error(strict, team, query, says):
    body = await strict.post(query, token=team.acme["sam"].token)
    assert body.get("data") is None, body
    assert says.lower() in body["errors"][0]["message"].lower(), body


async def test_within_the_limits_queries_run(strict, team):
    data = await strict.data("{ me { name } }", token=team.acme["sam"].token)
    assert data == {"me": {"name": "Sam Senior"}}


async def test_the_default_limits_admit_what_a_client_asks(api, team):
    # The deepest documents the README shows, and introspection (GraphiQL needs it).
    await api.data(INTROSPECTION, token=team.acme["sam"].token)
    await api.data(
        "{ handoffQueue { edges { node { history { actor { name } } session { owner { name } "
        "messages { content } } } } } }",
        token=team.acme["sam"].token,
    )


async def test_health_and_readiness(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broadcast": "ok"}}


async def test_not_ready_without_a_database(settings, tmp_path):
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"
    app = create_app(settings.model_copy(update=dict(database_url=unreachable)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unavailable")
    assert ready.json()["checks"]["broadcast"] == "ok"
