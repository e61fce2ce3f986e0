"""A request id for every HTTP request and websocket connection, in each log line written for it.

Taken from the client's (or the proxy's) `X-Request-ID` when it is a sane token, made up
otherwise; HTTP responses carry it back in `X-Request-ID`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,64}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code runs for; None outside any request."""
    return _current.get()


def _given(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == HEADER:
            return value.decode() if _SANE.fullmatch(value) else None
    return None


class RequestIdMiddleware:
    """Pure ASGI middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request_id = _given(scope["headers"]) or secrets.token_hex(8)
        token = _current.set(request_id)
        if scope["type"] == "websocket":
            # Its frames go through untouched: the id is for the connection's log lines.
            await self.app(scope, receive, send)
            _current.reset(token)
            return
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Reset only on a normal return: on an exception the server logs the traceback in this
        # task (uvicorn runs each request in its own), and the line should carry the id too.
        _current.reset(token)
