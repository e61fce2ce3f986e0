"""Browsers on allowed origins may call the API; others get no CORS headers and no websocket.

Served in the test's process (real sockets): what is checked is the app's answers, not a process.
The allowed origins are read from HANDOFF_CORS_ORIGINS as an operator writes it."""

import httpx
import pytest
import websockets

from handoff_desk.settings import Settings
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

SPA = "https://desk.example.com"


@pytest.fixture
async def server(in_process):
    allowed = Settings.from_env({"HANDOFF_CORS_ORIGINS": f"{SPA}, https://other.example.com/"})
    return await in_process(cors_origins=allowed.cors_origins)


async def _preflight(url: str, origin: str):
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.options(
            "/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )


async def test_an_allowed_origin_may_call_the_api(server):
    response = await _preflight(server.url, SPA)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_another_origin_gets_no_cors_headers(server):
    response = await _preflight(server.url, "https://evil.example.net")
    assert "access-control-allow-origin" not in response.headers


async def test_a_websocket_from_another_origin_is_refused(server, team, caplog):
    url = server.url.replace("http://", "ws://") + "/graphql"
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            url, subprotocols=["graphql-transport-ws"], origin="https://evil.example.net"
        )
    # The operator is told which setting would let it in, once (not Strawberry's own hint).
    refusals = [r.getMessage() for r in caplog.records if "evil.example.net" in r.getMessage()]
    assert len(refusals) == 1 and "HANDOFF_CORS_ORIGINS" in refusals[0], refusals
    allowed = await websockets.connect(url, subprotocols=["graphql-transport-ws"], origin=SPA)
    await allowed.close()
    async with GraphQLSocket(server.url) as no_origin:  # not a browser: no Origin, allowed
        await no_origin.connect(team.acme["sam"].token)
