"""The application factory: all the wiring, in one place."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from db.engine import Database
from handoff_desk.http import console, email_preferences, graphiql
from handoff_desk.http.answer_cache import ResponseCache
from handoff_desk.http.body_limit import BodyLimit
from handoff_desk.http.request_id import RequestIdMiddleware
from handoff_desk.http.view import DeskGraphQL
from handoff_desk.live.broadcast import create_broadcast
from handoff_desk.live.hub import Hub
from handoff_desk.live.notifier import LiveNotifier
from handoff_desk.live.shared_subscriptions import SharedSubscriptions
from handoff_desk.ops.access_log import AccessLog
from handoff_desk.ops.metrics import GraphQLMetrics, Metrics
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from resolvers.notification_prefs import LINK_PATH
from schema.schema import Limits, build_schema
from workers import create_worker

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


async def _database_answers(desk: Desk) -> None:
    async with desk.db.read_rows() as conn:
        await conn.execute(text("SELECT 1"))


_PROBE_SECONDS = 2.0


async def _check(probe: Awaitable[object]) -> str:
    try:
        async with asyncio.timeout(_PROBE_SECONDS):
            await probe
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


def _open_subscriptions(hub: Hub, shared: SharedSubscriptions | None) -> int:
    """Subscriptions open in this process: a shared group is one stream to the hub, but each of
    its members is a subscriber."""
    if shared is None:
        return hub.open_subscriptions
    return max(0, hub.open_subscriptions - shared.open_groups) + shared.open_members


# Apps of one process with the same limits share a schema: it holds nothing of an app's (its
# extensions are made per operation; its caches hold parsed documents, their validation and their
# plans, which depend on the document and the schema alone). A server makes one app; the tests
# make hundreds, and building a schema takes 5 to 50 ms.
_schema = functools.lru_cache(maxsize=8)(build_schema)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """`database`: the engine the app uses, when the caller already has one for
    `settings.database_url` (its compiled statements and connections are then shared).
    `span_exporter`: where the app's traces go instead of `settings.otlp_endpoint` (a test's)."""
    settings = settings or Settings.from_env()
    desk = Desk(settings=settings, db=database or Database.from_url(settings.database_url))
    tracing = None
    if settings.otlp_endpoint or span_exporter is not None:
        from handoff_desk.ops import tracing as otel  # OpenTelemetry: loaded only to trace

        tracing = otel.tracer_provider(settings, span_exporter)
        desk.tracing = otel.JobTracing(tracing)  # before the worker: its assessor sends traces
    broadcast = create_broadcast(settings.broadcast_url)
    metrics = Metrics(desk)
    desk.meter = metrics  # what the desk counts (ratings of assessments), after the commit
    hub = Hub(
        desk,
        broadcast,
        max_queue=settings.subscriber_queue,
        poll_seconds=settings.event_poll_seconds,
        on_fanout=metrics.event_fanned_out,
        presence_heartbeat_seconds=settings.presence_heartbeat_seconds,
        presence_ttl_seconds=settings.presence_ttl_seconds,
    )
    shared = None
    if settings.shared_subscriptions:
        shared = SharedSubscriptions(settings.subscriber_queue)
    metrics.watch_subscriptions(lambda: _open_subscriptions(hub, shared))
    worker = create_worker(desk) if settings.run_workers else None
    desk.notifier = LiveNotifier(hub, worker.wake if worker else None)
    cache = ResponseCache(settings.query_cache_mb * 2**20) if settings.query_cache_mb else None
    schema = _schema(
        Limits(
            max_depth=settings.max_query_depth,
            max_tokens=settings.max_query_tokens,
            max_aliases=settings.max_query_aliases,
            introspection=settings.introspection,
            max_cost=settings.max_query_cost,
        ),
        lean_executor=settings.lean_executor,
        tracer_provider=tracing,
    )
    graphql = DeskGraphQL(
        schema,
        desk,
        hub,
        cache,
        shared,
        graphql_ide="graphiql" if settings.graphiql else None,
        allowed_origins=settings.cors_origins,  # websocket handshakes from other origins
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await broadcast.connect()
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                await worker.stop()
            await hub.close()
            await broadcast.disconnect()
            await desk.db.dispose()
            if tracing:  # the spans not sent yet go now (a thread: it waits on the collector)
                await asyncio.to_thread(tracing.shutdown)

    async def healthz(request: Request) -> JSONResponse:
        """The process is alive."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        """The process can serve: its database and its broadcast answer."""
        checks = {
            "database": await _check(_database_answers(desk)),
            "broadcast": await _check(broadcast.publish("handoff_desk_readyz", "1")),
        }
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/", console.page),  # the web console (GraphiQL stays at /graphql)
            Mount("/console", console.Assets()),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.scrape),  # this process's numbers: scrape every process
            # Each email's link: its recipient's email preferences, by signed token, no login.
            Route(LINK_PATH, email_preferences.page(desk), methods=["GET", "POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            # GraphiQL's page script and the releases it loads (none of them when it is off).
            *([Mount("/graphiql", graphiql.Assets())] if settings.graphiql else []),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),  # outermost: every log line of a request has it
            Middleware(AccessLog),  # a line per request, timed as the metrics time it
            Middleware(GraphQLMetrics, metrics=metrics, documents=schema.documents),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id"],
            ),
            # Innermost: a 413 is still timed, counted and given CORS headers and a request id.
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
    )
    if tracing:
        otel.instrument(app, desk.db, tracing)
    app.state.tracer_provider = tracing
    app.state.desk = desk
    app.state.send_websockets_away = graphql.send_websockets_away  # `handoff-desk serve` stops
    app.state.hub = hub
    app.state.worker = worker
    app.state.query_cache = cache
    app.state.metrics = metrics
    return app
