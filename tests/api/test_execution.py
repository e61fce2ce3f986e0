"""The lean execution of plain fields answers exactly as graphql-core does: same data, same
errors at the same paths, same null propagation. Differential: one schema, two executors. Each
query runs twice on the lean one: once making its plans, once with the plans it shares."""

import httpx
import pytest

from db.engine import Database
from handoff_desk.http.view import DeskGraphQL
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from tests.support.execution import GUARDED, guarded_core, guarded_lean

pytestmark = pytest.mark.anyio


async def test_guarded_fields_through_the_desks_http_edge(tmp_path):
    # The app factory builds the desk's own schema, which has no such field; its HTTP edge
    # (negotiation, error handling, the answer's JSON) is given this test's schema instead.
    # No resolver here reads the database, so the desk's is never opened.
    settings = Settings(token_secret="test-secret-not-for-production-0123456789")
    owner = Desk(settings=settings, db=Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    apps = [
        DeskGraphQL(
            schema,
            owner,
            hub=None,
            cache=None,
            shared=None,
            graphql_ide=None,
        )
        for schema in (guarded_core, guarded_lean)
    ]
    try:
        for query in GUARDED.values():
            texts = []
            for app in apps:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    response = await client.post("/", json={"query": query})
                assert response.status_code == 200
                texts.append(response.text)
            assert "Not for you" in texts[0] and "the secret" not in texts[0]
            assert texts[1] == texts[0]
    finally:
        await owner.db.dispose()
