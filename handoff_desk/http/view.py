"""The GraphQL endpoint at /graphql: Strawberry's ASGI view, with the desk's HTTP rules (media
types and statuses, JSON bodies, the answer cache, 503 for want of the database) and its
websocket handlers (checked frames, shared subscriptions, a context per operation)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Mapping
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET

from db.engine import unavailable
from handoff_desk.http import graphiql, json_depth, protocol
from handoff_desk.http.answer_cache import CacheKey, ResponseCache, request_key
from handoff_desk.http.body_limit import BodyTooLarge
from handoff_desk.live.hub import Hub
from handoff_desk.live.shared_subscriptions import SharedSubscriptions, SharedTransportWSHandler
from handoff_desk.live.ws_frames import CheckedLegacyWSHandler, checked_transport_ws
from handoff_desk.live.ws_operations import per_operation
from handoff_desk.ops import access_log
from handoff_desk.ops.metrics import note_cached, note_errors, note_operation
from resolvers.desk import Desk
from resolvers.errors import AuthenticationError
from schema.context import Context
from schema.errors import (
    INTERNAL_SERVER_ERROR,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    is_unavailable_error,
    new_error_id,
    unavailable_extensions,
)
from schema.schema import DeskSchema

log = logging.getLogger(__name__)

# Where a websocket's scope keeps its connection context.
CONNECTION_CONTEXT = "handoff_desk.connection_context"


class _StrawberrysOriginLine(logging.Filter):
    """Strawberry's line for a refused websocket origin tells to add it to `allowed_origins`,
    which an operator cannot set: DeskGraphQL logs one naming the setting instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Rejected WebSocket connection from origin")


_STRAWBERRYS_ORIGIN_LINE = _StrawberrysOriginLine()


class DeskGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = per_operation(
        checked_transport_ws(SharedTransportWSHandler)
    )
    graphql_ws_handler_class = per_operation(CheckedLegacyWSHandler)

    def __init__(
        self,
        schema: DeskSchema,
        desk: Desk,
        hub: Hub,
        cache: ResponseCache | None,
        shared: SharedSubscriptions | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.desk = desk
        self.documents = schema.documents  # every document read once (schema/documents.py)
        self.hub = hub
        self.cache = cache
        self.shared = shared  # None: every subscription resolves its own events
        self._websockets: weakref.WeakSet[WebSocket] = weakref.WeakSet()  # open ones, for shutdown
        logging.getLogger("strawberry.ws").addFilter(_STRAWBERRYS_ORIGIN_LINE)  # (once)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A page of another origin opens a websocket only if HANDOFF_CORS_ORIGINS lists it."""
        if super().is_websocket_origin_allowed(request, origin):
            return True
        log.warning(
            "refused a websocket from origin %r: if pages there should use the desk, add the "
            "origin to HANDOFF_CORS_ORIGINS",
            origin,
        )
        return False

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL, from this server's files (handoff_desk/http/graphiql.py); Strawberry's page,
        which loads them from a CDN, only where they are not installed."""
        if graphiql.available():
            return graphiql.page()
        return await super().render_graphql_ide(request)

    # (Strawberry declares run overloaded per kind of request; like its own, this takes both.)
    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Context = UNSET,
        root_value: None = UNSET,
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            try:
                return await super().run(request, context, root_value)
            finally:
                connection = request.scope.get(CONNECTION_CONTEXT)
                if connection is not None:
                    connection.stop_expiry()
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await super().run(request, context, root_value)
        media_type = protocol.negotiate(request.headers.get("accept"))
        if media_type is None:
            return protocol.not_acceptable()
        request.state.media_type = media_type
        try:
            response = await self._answer(request, context, root_value)
        except protocol.Refusal as refusal:
            return refusal.response(media_type)
        except HTTPException as error:
            return protocol.Refusal.from_http_exception(error).response(media_type)
        except BodyTooLarge:
            raise  # the body limit answers it (413), outside
        except Exception as error:
            error_id = new_error_id()
            if not unavailable(error):
                # Logged with an id the client is told: a GraphQL answer, never a bare 500.
                log.error("unexpected error %s before execution", error_id, exc_info=error)
                message = f"Internal error (id {error_id}); it has been logged."
                extensions = {"code": INTERNAL_SERVER_ERROR, "errorId": error_id}
                body = {"errors": [{"message": message, "extensions": extensions}]}
                return protocol.finish(JSONResponse(body, status_code=500), media_type)
            # The database failed before execution (reading the caller): nothing ran.
            log.warning("database unavailable (error %s) before execution: %s", error_id, error)
            extensions = unavailable_extensions(error_id)
            body = {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": extensions}]}
            return protocol.finish(_retry_later(JSONResponse(body)), media_type)
        response = protocol.finish(response, media_type, getattr(request.state, "status", None))
        if getattr(request.state, "unavailable", False):
            _retry_later(response)
        return response

    async def _answer(self, request: Request, context: Context, root_value: None) -> Response:
        body = await _json_body(request)
        key = self._cache_key(request, body) if self.cache is not None else None
        if key is None or self.cache is None:
            return await super().run(request, context, root_value)
        context = await self.get_context(request, None)
        try:
            viewer = await context.viewer()
        except AuthenticationError:
            return await super().run(request, context, root_value)  # answers the error
        key = (*key, viewer.user_id, viewer.account_version)
        cached = self.cache.get(key)
        if cached is not None:
            note_cached(request)
            asked = body or {}  # (a cached answer was asked for by a body)
            name, kind = access_log.operation_of(
                self.documents, asked.get("query"), asked.get("operationName")
            )
            access_log.note_operation(request.scope, name, kind)
            return Response(cached, media_type="application/json")  # `finish` sets the type
        response = await super().run(request, context, root_value)
        if response.status_code == 200 and getattr(request.state, "cacheable", False):
            self.cache.put(key, response.body)
        return response

    def _cache_key(self, request: Request, body: dict[str, Any] | None) -> CacheKey | None:
        if body is None:
            return None
        # Keyed by the negotiated media type: bodies are the same, statuses may not be.
        media_type = request.state.media_type
        return request_key(body, media_type, self.documents)

    def parse_query_params(self, params: Mapping[str, str | None]) -> dict[str, Any]:
        # An empty optional parameter of a GET is one not given (GraphQL over HTTP).
        parsed = super().parse_query_params({k: v for k, v in dict(params).items() if v != ""})
        if json_depth.TOO_DEEP in (parsed.get("variables"), parsed.get("extensions")):
            raise protocol.Refusal(400, json_depth.MESSAGE)
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        # Websocket messages come through here too: one nested too deeply becomes a value that
        # the protocol handlers close the connection on (ws_frames), not a RecursionError.
        try:
            return json_depth.loads(data)
        except json_depth.TooDeep:
            return json_depth.TOO_DEEP

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        selected = None
        if isinstance(request_data.query, str):
            document = self.documents.read(request_data.query)
            selected = protocol.operation(document, request_data.operation_name)
            named = access_log.operation_in(document, request_data.operation_name)
            access_log.note_operation(request.scope, *named)
        if isinstance(selected, GraphQLError):
            return PreExecutionError(data=None, errors=[selected])
        if selected is not None:
            note_operation(request, selected)
        if selected is OperationType.MUTATION and request_adapter.method == "GET":
            raise protocol.Refusal(405, "Mutations are sent with POST.", allow="POST")
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        request.state.cacheable = not result.errors
        note_errors(request, result.errors)
        answer = await super().process_result(request, result)
        status = protocol.request_error_status(result)
        media_type = getattr(request.state, "media_type", protocol.JSON)
        if status is not None and media_type == protocol.GRAPHQL_RESPONSE:
            request.state.status = status
            del answer["data"]  # it never executed: the spec's answer has no `data` entry
        elif _could_not_run(result):
            request.state.unavailable = True
            if media_type == protocol.GRAPHQL_RESPONSE:
                answer.pop("data", None)  # nothing was produced: a 5xx answer carries no `data`
        return answer

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        authorization = (
            request.headers.get("authorization") if request.scope["type"] == "http" else None
        )
        context = Context(self.desk, self.hub, authorization, request)
        if not isinstance(request, WebSocket):
            access_log.note_context(request.scope, context)
        else:
            self._websockets.add(request)
            # Its token's expiry timer is stopped in run. (In the scope, not request.state: a
            # State object per socket is memory that every idle subscription pays.)
            request.scope[CONNECTION_CONTEXT] = context
        return context

    async def send_websockets_away(self) -> None:
        """Shutdown: close every open websocket with 1001 (going away), which tells clients to
        reconnect, to another process, at once; what they missed they replay with `after`."""

        async def close(websocket: WebSocket) -> None:
            with contextlib.suppress(Exception):  # closed already, or its client is gone
                await websocket.close(code=1001, reason="server shutting down")

        await asyncio.gather(*(close(ws) for ws in list(self._websockets)))

    async def on_ws_connect(self, context: Context) -> None:
        # The bearer token comes in connection_init's payload; no valid token, no connection.
        # Each operation authenticates again (ws_operations); the socket ends with its token.
        try:
            viewer = await context.authenticate()
            context.connected_as = viewer  # its operations' access log lines name the caller
            context.close_when_token_expires(viewer.token_expires_at)
        except AuthenticationError as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        except Exception as error:
            if not unavailable(error):
                raise
            # 1013, try again later: clients reconnect, as they would after a restart.
            log.warning("database unavailable at connection_init: %s", error)
            await context.close_connection(1013, "database unavailable: reconnect shortly")
            raise WebSocketDisconnected from None  # the handler's way out: nothing more to say


def _could_not_run(result: ExecutionResult) -> bool:
    """The database was unreachable and nothing was answered: every error says so and every
    root field is null. Partial answers stay 200."""
    if not result.errors or not all(is_unavailable_error(e) for e in result.errors):
        return False
    return result.data is None or all(v is None for v in result.data.values())


def _retry_later(response: Response) -> Response:
    """A request the desk could not run for want of its database: 503 with Retry-After, for
    either media type. Not a GraphQL error of the request but the server's (RFC 9110 15.6.4),
    which HTTP clients and proxies already know to retry; the body says the same
    (extensions.code SERVICE_UNAVAILABLE, retryable)."""
    response.status_code = 503
    response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
    return response


async def _json_body(request: Request) -> dict[str, Any] | None:
    """The JSON object a POST carries (None for other requests); a Refusal saying why it is not
    one. Strawberry would answer a body such as `42` or `null` with a 500, and take an
    `operationName` of any type for a name; and the answer cache reads the body before
    Strawberry does, so every entry's type is checked here, once, before either."""
    if request.method != "POST":
        return None
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != protocol.JSON:
        raise protocol.Refusal(415, "Send the request as Content-Type: application/json.")
    try:
        body = json_depth.loads(await request.body())  # starlette keeps the bytes for strawberry
    except json_depth.TooDeep:
        raise protocol.Refusal(400, json_depth.MESSAGE) from None
    except ValueError:  # UnicodeDecodeError included
        raise protocol.Refusal(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise protocol.Refusal(400, "the request body must be a JSON object with a `query` entry")
    if (problem := protocol.malformed(body)) is not None:
        raise protocol.Refusal(400, problem)
    return body
