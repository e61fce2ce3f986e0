"""A request id for every HTTP request and websocket connection, in each log line written for it
and in each job the request enqueues (asgi-correlation-id keeps it in its context variable).

Taken from the client's (or the proxy's) `X-Request-ID` when it is a sane token, made up
otherwise; HTTP responses carry it back in `X-Request-ID`.
"""

from __future__ import annotations

import re
import secrets

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def sane(value: str) -> bool:
    """1-64 characters of A-Z a-z 0-9 . _ -: safe in a log line and a header, and bounded."""
    return _SANE.fullmatch(value) is not None


def new_request_id() -> str:
    return secrets.token_hex(8)


class RequestIdMiddleware:
    """asgi-correlation-id's middleware, with the desk's rule for a client's id. Pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = CorrelationIdMiddleware(
            app, header_name=HEADER, generator=new_request_id, validator=sane
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The id is this request's alone: put back what was there before it once it is answered
        # (a server runs each request in a task of its own; an in-process client does not).
        # Not on an exception: the server logs the traceback in this task, and the line
        # should carry the id too.
        before = correlation_id.set(correlation_id.get())
        await self.app(scope, receive, send)
        correlation_id.reset(before)
