"""Request bodies are bounded (HANDOFF_MAX_BODY_BYTES), before they are read whole.

A pure ASGI middleware: a request whose Content-Length is over the limit is answered 413 before
its application sees it; one whose body grows past the limit as it streams in (a chunked body
has no Content-Length) is stopped at the chunk that crosses it, so at most the limit and one
chunk are ever held. The answer is a GraphQL-shaped error in the request's negotiated media
type, and the connection is closed (the rest of the body is never read).
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff_desk.http import protocol


class BodyTooLarge(Exception):
    """Raised out of `receive` to stop the application reading; not a ValueError, so that
    nothing on the way mistakes it for a malformed body."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a websocket passes straight through, and an idle subscription
        # keeps no frame of ours (nor the cells of the closures below) for its lifetime.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            return await self._refuse(scope, receive, send)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise  # an answer is under way: too late for a 413
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = None
        for name, value in scope.get("headers", ()):
            if name == b"accept":
                accept = value.decode("latin-1")
        media_type = protocol.negotiate(accept) or protocol.JSON
        message = f"The request body is larger than the limit of {self.max_bytes} bytes."
        response = JSONResponse({"errors": [{"message": message}]}, status_code=413)
        response.headers["connection"] = "close"  # what is left of the body is not read
        await protocol.finish(response, media_type)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None
