"""The access log: one line per HTTP request, and per websocket operation (a subscription has a
line when it starts and one when it ends), on the logger `handoff_desk.access`.

Each line has the request id (as every line does), `duration_ms`, and what the desk knows of
the request: for /graphql the operation's name and type, and the caller's `user_id` and
`account_id` once authenticated. It replaces uvicorn's access log (`serve` turns that off):
the same `method`, `path` (never the query string) and `status`, and `client`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from graphql import OperationDefinitionNode
from starlette.types import ASGIApp, Receive, Scope, Send

from handoff_desk.ops.answered import AnsweredStatus

if TYPE_CHECKING:
    from resolvers.auth import Viewer
    from schema.context import Context
    from schema.documents import Document, DocumentCache

log = logging.getLogger("handoff_desk.access")

# Keys of the request's state (starlette keeps `request.state` in the ASGI scope).
_CONTEXT = "access_context"
_OPERATION = "access_operation"


def note_context(scope: Scope, context: Context) -> None:
    """The request's GraphQL context: its caller, once authenticated, is on the line."""
    scope.setdefault("state", {})[_CONTEXT] = context


def note_operation(scope: Scope, name: str | None, kind: str | None) -> None:
    scope.setdefault("state", {})[_OPERATION] = (name, kind)


def operation_of(
    documents: DocumentCache, query: object, name: object
) -> tuple[str | None, str | None]:
    """The name and type of the operation a request selects (None for what is not known)."""
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None, None
    return operation_in(documents.read(query), name)


def operation_in(document: Document, name: str | None) -> tuple[str | None, str | None]:
    """The same, of a document read already."""
    selected = document.select(name)
    if not isinstance(selected, OperationDefinitionNode):
        # A name no operation has is the client's text, of any length: not logged.
        return None, None
    return (selected.name.value if selected.name else None), selected.operation.value


def _caller(viewer: Viewer | None) -> dict[str, str | None]:
    if viewer is None:
        return {"user_id": None, "account_id": None}
    return {"user_id": str(viewer.user_id), "account_id": str(viewer.account_id)}


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


class AccessLog:
    """Pure ASGI middleware: a line for each HTTP request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        answered = AnsweredStatus(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, answered.send)
        finally:
            status = answered.status
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            state = scope.get("state", {})
            name, kind = state.get(_OPERATION, (None, None))
            context = state.get(_CONTEXT)
            viewer = context.known_viewer if context is not None else None
            method, path = scope["method"], scope["path"]
            log.info(
                "%s %s %s %s ms",
                method,
                path,
                status,
                duration_ms,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "operation": name,
                    "operation_type": kind,
                    **_caller(viewer),
                    "client": _client(scope),
                    "http_version": scope.get("http_version"),
                },
            )


@contextlib.asynccontextmanager
async def websocket_operation(
    context: Context, documents: DocumentCache, query: object, name: object
) -> AsyncIterator[None]:
    """Around one operation of a websocket: a line when a subscription starts, and one when any
    operation ends (`duration_ms`: a subscription's whole life)."""
    operation, kind = operation_of(documents, query, name)
    fields: dict[str, Any] = {
        "path": context.request.scope.get("path") if context.request is not None else None,
        "operation": operation,
        "operation_type": kind,
        **_caller(context.connected_as),
    }
    if kind == "subscription":
        log.info("subscription %s started", operation, extra=fields)
    started = time.perf_counter()
    try:
        yield
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        said = "subscription" if kind == "subscription" else "websocket operation"
        log.info(
            "%s %s ended after %s ms",
            said,
            operation,
            duration_ms,
            extra={**fields, "duration_ms": duration_ms},
        )
