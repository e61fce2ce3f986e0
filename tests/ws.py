"""A minimal GraphQL websocket client (graphql-transport-ws, and legacy graphql-ws) for tests."""

from __future__ import annotations

import asyncio
import itertools
import json

import websockets

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


class GraphQLSocket:
    def __init__(self, url: str, protocol: str = TRANSPORT_WS) -> None:
        self.url = url.replace("http://", "ws://") + "/graphql"
        self.protocol = protocol
        self._ids = itertools.count(1)
        self._ws = None

    async def connect(self, token: str | None, timeout: float = 10) -> dict:
        self._ws = await websockets.connect(self.url, subprotocols=[self.protocol])
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self._send({"type": "connection_init", "payload": payload})
        message = await self.receive(timeout)
        if message["type"] not in ("connection_ack",):
            raise AssertionError(f"expected connection_ack, got {message}")
        return message

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        op_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self._send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )
        return op_id

    async def complete(self, op_id: str) -> None:
        """Ends one subscription (the socket stays open). graphql-transport-ws only."""
        assert self.protocol == TRANSPORT_WS, "legacy graphql-ws stops with `stop`"
        await self._send({"id": op_id, "type": "complete"})

    async def receive(self, timeout: float = 10) -> dict:
        try:
            raw = await asyncio.wait_for(self._ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            raise Closed(
                closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else ""
            ) from None
        message = json.loads(raw)
        if message["type"] in ("ping", "ka"):
            if message["type"] == "ping":
                await self._send({"type": "pong"})
            return await self.receive(timeout)
        return message

    async def next_data(self, timeout: float = 10) -> dict:
        """The next result's data (of any operation); fails on an error message."""
        message = await self.receive(timeout)
        if message["type"] not in ("next", "data"):
            raise AssertionError(f"expected data, got {message}")
        payload = message["payload"]
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    async def barrier(self, timeout: float = 10) -> list[dict]:
        """Everything the server sent before it answered this ping (a connection's messages
        arrive in order). graphql-transport-ws only: legacy graphql-ws has no ping."""
        assert self.protocol == TRANSPORT_WS, "legacy graphql-ws has no ping"
        await self._send({"type": "ping"})
        messages = []
        while (message := await self.receive(timeout))["type"] != "pong":
            messages.append(message)
        return messages

    async def wait_closed(self, timeout: float = 10) -> Closed:
        try:
            while True:
                await self.receive(timeout)
        except Closed as closed:
            return closed

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _send(self, message: dict) -> None:
        await self._ws.send(json.dumps(message))

    async def __aenter__(self) -> GraphQLSocket:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
