"""Rights are decided at every websocket operation, from the database's current truth.

A socket keeps no rights of its own: each query, mutation and subscription is authenticated when
it starts, and an open subscription is ended (4403) as soon as its caller's role or standing
changes or its token expires; the client reconnects and is let in with its new rights, or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest

from handoff_desk.app import create_app
from resolvers.auth import issue_token
from tests.api.test_metrics import scrape
from tests.factories import make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import InProcessServer, serving
from tests.ws import LEGACY_WS, TRANSPORT_WS, Closed, GraphQLSocket

pytestmark = pytest.mark.anyio

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
CREATED = "subscription { handoffCreated { seq handoff { id } } }"
CLAIMS = "subscription { handoffClaimChanged { seq kind handoff { id } } }"
SET_ROLE = """mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) {
  __typename } }"""
DEACTIVATE = "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }"
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"
CLAIMED_BY = "query($h: ID!) { handoff(id: $h) { claimedBy { name } } }"

# Access changes reach open subscriptions through the event log, at once by the doorbell and at
# the latest by the next poll; tests wait well beyond either.
ENDED = 10.0


@pytest.fixture
async def server(settings) -> AsyncIterator[InProcessServer]:
    async with serving(create_app(settings)) as running:
        yield running


async def _operation(ws: GraphQLSocket, query: str, variables: dict) -> dict:
    """Runs a query or mutation over a graphql-transport-ws socket; its result's payload."""
    assert ws.protocol == TRANSPORT_WS, "legacy graphql-ws runs subscriptions only"
    await ws.subscribe(query, variables)
    message = await ws.receive()
    if message["type"] == "error":
        return {"errors": message["payload"]}
    assert message["type"] == "next", message
    assert (await ws.receive())["type"] == "complete"
    return message["payload"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_deactivated_users_subscription_is_ended_4403(server, desk, team, protocol):
    sam, dana = team.acme["sam"], team.acme["dana"]
    async with GraphQLSocket(server.url, protocol) as ws:
        await ws.connect(sam.token)
        await ws.subscribe(CREATED)
        await server.until_streams(1)
        async with GraphQLSocket(server.url) as admin:
            await admin.connect(dana.token)
            answer = await _operation(admin, DEACTIVATE, {"u": str(sam.user.id)})
            assert answer["data"]["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
        closed = await ws.wait_closed(ENDED)
        assert closed.code == 4403, closed
    # And a new connection with the same token is refused.
    async with GraphQLSocket(server.url, TRANSPORT_WS) as again:
        with pytest.raises(Closed) as refused:
            await again.connect(sam.token)
        assert refused.value.code == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_demoted_users_subscription_is_ended_and_reconnects_with_the_new_role(
    server, desk, team, protocol
):
    kim, dana = team.acme["kim"], team.acme["dana"]
    async with GraphQLSocket(server.url, protocol) as ws:
        await ws.connect(kim.token)
        await ws.subscribe(CLAIMS)
        await server.until_streams(1)
        async with GraphQLSocket(server.url) as admin:
            await admin.connect(dana.token)
            await _operation(admin, SET_ROLE, {"u": str(kim.user.id), "r": "VIEWER"})
        closed = await ws.wait_closed(ENDED)
        assert closed.code == 4403, closed
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url) as ws:
        await ws.connect(kim.token)  # still a member: let in, as a viewer
        answer = await _operation(ws, CLAIM, {"h": str(handoff.id)})
        assert answer["data"]["claimHandoff"]["__typename"] == "NotPermitted"


async def test_the_next_operation_on_an_open_socket_uses_the_users_current_rights(
    server, desk, team
):
    protocol = TRANSPORT_WS
    kim, sam, dana = team.acme["kim"], team.acme["sam"], team.acme["dana"]
    handoff = await make_escalation(desk, team.acme["alex"])
    async with (
        GraphQLSocket(server.url, protocol) as kim_ws,
        GraphQLSocket(server.url, protocol) as sam_ws,
        GraphQLSocket(server.url) as admin,
    ):
        await kim_ws.connect(kim.token)
        await sam_ws.connect(sam.token)
        await admin.connect(dana.token)
        # Each socket answers once under today's rights: what a socket could cache is warm.
        for ws in (kim_ws, sam_ws):
            answer = await _operation(ws, "{ me { role } }", {})
            assert answer["data"]["me"]["role"] == "ENGINEER"
        await _operation(admin, SET_ROLE, {"u": str(kim.user.id), "r": "VIEWER"})
        await _operation(admin, DEACTIVATE, {"u": str(sam.user.id)})

        demoted = await _operation(kim_ws, CLAIM, {"h": str(handoff.id)})
        assert demoted["data"]["claimHandoff"]["__typename"] == "NotPermitted"
        refused = await _operation(sam_ws, "{ me { role } }", {})
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", refused


async def test_the_next_subscription_on_an_open_legacy_socket_is_authenticated_again(
    server, desk, team
):
    sam, dana = team.acme["sam"], team.acme["dana"]
    async with GraphQLSocket(server.url, LEGACY_WS) as ws, GraphQLSocket(server.url) as admin:
        await ws.connect(sam.token)
        await admin.connect(dana.token)
        await _operation(admin, DEACTIVATE, {"u": str(sam.user.id)})
        await ws.subscribe(CREATED)
        message = await ws.receive()
        assert message["type"] in ("error", "data"), message
        errors = message["payload"].get("errors") or [message["payload"]]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message


async def test_a_socket_is_closed_4403_when_its_token_expires(server, desk, team):
    short = dataclasses.replace(
        desk, settings=desk.settings.model_copy(update={"token_ttl_seconds": 2})
    )
    token = issue_token(short, team.acme["sam"].user).token
    # A socket of each protocol on the one token: both expire in the one wait.
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(GraphQLSocket(server.url, protocol))
            for protocol in PROTOCOLS
        ]
        for ws in sockets:
            await ws.connect(token)
            await ws.subscribe(CREATED)
        for ws in sockets:
            closed = await ws.wait_closed(ENDED)
            assert closed.code == 4403, (ws.protocol, closed)
            assert "expired" in closed.reason, (ws.protocol, closed)


async def test_one_member_of_a_shared_subscription_is_ended_the_others_go_on(server, desk, team):
    sam, kim, dana = team.acme["sam"], team.acme["kim"], team.acme["dana"]
    async with (
        GraphQLSocket(server.url) as sam_ws,
        GraphQLSocket(server.url) as kim_ws,
        GraphQLSocket(server.url) as admin,
    ):
        await sam_ws.connect(sam.token)
        await kim_ws.connect(kim.token)
        await admin.connect(dana.token)
        await sam_ws.subscribe(CREATED)
        await kim_ws.subscribe(CREATED)
        async with GraphQLClient(server.url) as http:
            async with asyncio.timeout(10):
                while (await scrape(http._client))("handoff_desk_subscriptions_open") < 2:
                    await asyncio.sleep(0.01)
            # Both have joined; the group's one stream may start a moment later.
            await server.until_streams(1)
            # One stream for both: they asked the same thing.
            assert server.app.state.hub.open_subscriptions == 1
            await _operation(admin, DEACTIVATE, {"u": str(sam.user.id)})
            closed = await sam_ws.wait_closed(ENDED)
            assert closed.code == 4403, closed
            session = await make_session(desk, team.acme["alex"], "Printer jams")
            escalated = await http.escalate(team.acme["alex"].token, session.id)
        got = (await kim_ws.next_data(ENDED))["handoffCreated"]
        assert got["handoff"]["id"] == escalated


async def test_loaders_are_fresh_at_every_operation_of_a_socket(server, desk, team):
    protocol = TRANSPORT_WS  # legacy graphql-ws runs no queries or mutations
    sam, kim = team.acme["sam"], team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"])
    async with GraphQLSocket(server.url, protocol) as ws, GraphQLSocket(server.url) as other:
        await ws.connect(sam.token)
        await other.connect(kim.token)
        first = await _operation(ws, CLAIMED_BY, {"h": str(handoff.id)})
        assert first["data"]["handoff"]["claimedBy"] is None
        await _operation(other, CLAIM, {"h": str(handoff.id)})
        mutation = """mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) {
          __typename ... on MarkHandoffSeenSuccess { handoff { claimedBy { name } } } } }"""
        answer = await _operation(ws, mutation, {"h": str(handoff.id)})
        assert answer["data"]["markHandoffSeen"]["handoff"]["claimedBy"] == {"name": kim.user.name}
        again = await _operation(ws, CLAIMED_BY, {"h": str(handoff.id)})
        assert again["data"]["handoff"]["claimedBy"] == {"name": kim.user.name}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_after_beyond_the_latest_event_is_bad_input(server, desk, team, protocol):
    await make_escalation(desk, team.acme["alex"])  # seq 1
    async with GraphQLSocket(server.url, protocol) as ws:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(
            "subscription($a: Int) { handoffCreated(after: $a) { seq } }", {"a": 1000}
        )
        message = await ws.receive()
        payload = message["payload"]
        errors = payload if isinstance(payload, list) else payload.get("errors") or [payload]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", message
        assert "beyond the latest event" in errors[0]["message"]
