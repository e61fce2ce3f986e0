"""Websocket messages are checked before Strawberry's protocol handlers read them.

The handlers index each message as a JSON object of the right shape. A message that is not one
(an array, a number, an id that is an object, a payload that is a string, a query that is null)
raised out of the handler: the connection dropped without a close code, a traceback was logged,
or the client got an INTERNAL error. Here such a message closes the connection with 4400 and a
short reason, as graphql-transport-ws asks for an invalid message; the legacy graphql-ws protocol
names no code, and gets the same. So does a message nested too deeply (json_depth), which the
view decodes to TOO_DEEP rather than raise RecursionError out of the handler.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocketDisconnected as SocketClosed
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from handoff_desk.http.json_depth import TOO_DEEP
from resolvers.limits import encodable

INVALID_MESSAGE = 4400
DUPLICATE_ID = 4409


@dataclass(frozen=True)
class Protocol:
    types: frozenset[str]  # the messages a client sends
    with_id: frozenset[str]  # those that name an operation
    start: str  # the one that carries an operation


TRANSPORT_WS = Protocol(
    frozenset({"connection_init", "ping", "pong", "subscribe", "complete"}),
    frozenset({"subscribe", "complete"}),
    "subscribe",
)
LEGACY_WS = Protocol(
    frozenset({"connection_init", "connection_terminate", "start", "stop"}),
    frozenset({"start", "stop"}),
    "start",
)


def _text(value: Any) -> bool:
    """A string that can be sent back (a lone surrogate cannot be encoded)."""
    return isinstance(value, str) and encodable(value)


def _payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "the payload must be an object"
    if not isinstance(payload.get("query"), str):
        return "the payload's query must be a string"
    if not isinstance(payload.get("variables"), dict | None):
        return "the payload's variables must be an object"
    if not isinstance(payload.get("operationName"), str | None):
        return "the payload's operationName must be a string"
    if not isinstance(payload.get("extensions"), dict | None):
        return "the payload's extensions must be an object"
    return None


def message_problem(message: Any, protocol: Protocol) -> str | None:
    """Why a message cannot be handled (a short close reason), or None."""
    if message is TOO_DEEP:
        return "the message is nested too deeply"
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in protocol.types:
        return "unknown message type"
    if kind in protocol.with_id and not _text(message.get("id")):
        return "the message's id must be a string"
    if kind == protocol.start:
        return _payload_problem(message.get("payload"))
    return None


def checked_transport_ws(handler_class: type) -> type:
    """`handler_class` (a graphql-transport-ws handler) that closes on an invalid message."""

    # (A base chosen at run time: mypy cannot type it, and takes it for Any.)
    class CheckedTransportWSHandler(handler_class):  # type: ignore[misc]
        async def handle_message(self, message: Any) -> None:
            problem = message_problem(message, TRANSPORT_WS)
            if problem is not None:
                await self.websocket.close(code=INVALID_MESSAGE, reason=problem)
                return
            if (
                message["type"] == "subscribe"
                and self.connection_acknowledged
                and message["id"] in self.operations
            ):
                # Strawberry's reason repeats the id, which may be longer than a reason may be.
                await self.websocket.close(code=DUPLICATE_ID, reason="that id is already in use")
                return
            await super().handle_message(message)

    return CheckedTransportWSHandler


class CheckedLegacyWSHandler(BaseGraphQLWSHandler):
    """graphql-ws (legacy), closing on an invalid message instead of failing on it."""

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message, LEGACY_WS)
        if problem is not None:
            await self.websocket.close(code=INVALID_MESSAGE, reason=problem)
            return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        # A subscription that closed the socket (1013 too slow, 4403 access ended) returns, and
        # the handler then says `complete` to a socket that is gone: nobody to tell.
        with contextlib.suppress(WebSocketDisconnected, SocketClosed):
            await super().send_message(message)
