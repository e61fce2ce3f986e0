"""OpenTelemetry traces, when an OTLP endpoint is set (HANDOFF_OTLP_ENDPOINT, or OpenTelemetry's
own OTEL_EXPORTER_OTLP_ENDPOINT); without one this module is never imported, and nothing of
OpenTelemetry is loaded or installed (handoff_desk/app.py).

Each HTTP request is a trace, or joins its caller's (a W3C `traceparent` header, honoured as
OTEL_PROPAGATORS says: tracecontext and baggage by default): the request's span (OpenTelemetry's
ASGI middleware), the GraphQL operation's with its resolvers' (Strawberry's extension,
schema/tracing.py), and one per SQL statement (OpenTelemetry's SQLAlchemy instrumentation). The
answer names its trace in a `traceresponse` header (W3C Trace Context, level 2).

Only HTTP requests begin traces. A websocket connection is not traced: its subscriptions would
make spans for every event sent to every subscriber. Work outside any request (the hub's reads
of the event log, a scrape's counts, a worker's leasing) makes no spans either: each of its
statements would be a trace of its own, every few seconds. /metrics, /healthz and /readyz are
not traced: a scraper or a probe calls them all day.

A job joins the trace of the request that caused it: the job row keeps the request's W3C
traceparent, and the worker runs the job inside a span ("job assess") whose parent it is, with
the job's SQL statements under it; the assessor's call to the model sends that span onward in a
`traceparent` header. (A job a job enqueues joins the same trace; so does a timer, due hours
later perhaps.) A job no traced request caused makes no spans.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sqlalchemy_tracing
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from db.engine import Database
from db.models import TRACE_PARENT_CHARS
from handoff_desk.settings import Settings

SERVICE_NAME = "handoff-desk"  # OTEL_SERVICE_NAME overrides it
# Not traced: called all day by scrapers and probes (a regular expression searched in the URL).
UNTRACED_PATHS = "/metrics$,/healthz$,/readyz$"
_METHOD_ATTRIBUTES = ("http.request.method", "http.method")  # new and old semantic conventions


class _RequestsOnly(Sampler):
    """A trace may begin only at an HTTP request's span: the ASGI middleware's, which starts
    with the request's method among its attributes."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.SERVER and any(a in (attributes or {}) for a in _METHOD_ATTRIBUTES):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "RequestsOnly"


def tracer_provider(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider:
    """Spans go to `exporter`, by default OTLP over HTTP to the settings' endpoint, in batches
    (a background thread sends them: a request never waits for the collector)."""
    if exporter is None:
        exporter = OTLPSpanExporter(endpoint=f"{settings.otlp_endpoint}/v1/traces")
    provider = TracerProvider(
        # A span inside a sampled trace is kept, and so is a request the caller sampled; the
        # caller's "not sampled" (flags 00) is honoured too.
        sampler=ParentBased(root=_RequestsOnly()),
        resource=Resource.create({"service.name": SERVICE_NAME}),
        shutdown_on_exit=False,  # the app's lifespan shuts it down, sending what is left
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument(app: Starlette, database: Database, provider: TracerProvider) -> None:
    """Call before the app serves (its middleware stack is built on the first request).

    The SQL statements of `database`'s engine are traced for the engine's life: give the app an
    engine of its own (as `serve` does)."""
    # The process's: every traced app answers with its trace (only traced apps have the
    # middleware that reads it).
    # opentelemetry-instrumentation's helpers have no annotations
    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    # Outermost of the app's own middleware: the request id, the metrics and CORS run inside
    # the request's span.
    app.add_middleware(_HttpOnly, provider=provider)
    trace_statements(database, provider)


def trace_statements(database: Database, provider: TracerProvider) -> None:
    """A span per SQL statement of `database`'s engine (for the engine's life), inside a trace:
    a statement outside any makes none (the sampler's rule)."""
    # EngineTracer is the instrumentation's per-engine part: SQLAlchemyInstrumentor().instrument
    # would also patch create_engine for the whole process, and instrument only once.
    # (The instrumentation has no annotations.)
    EngineTracer(  # type: ignore[no-untyped-call]
        provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", sqlalchemy_tracing),
        database.engine.sync_engine,
        # Its connection-pool gauge: the desk's metrics are Prometheus's (handoff_desk/ops).
        NoOpMeterProvider().get_meter("sqlalchemy").create_up_down_counter("unused"),
    )


class _HttpOnly:
    """OpenTelemetry's ASGI middleware for HTTP requests; websockets and the lifespan pass by."""

    def __init__(self, app: ASGIApp, provider: TracerProvider) -> None:
        self.app = app
        self.traced = OpenTelemetryMiddleware(
            app,
            excluded_urls=UNTRACED_PATHS,
            tracer_provider=provider,
            meter_provider=NoOpMeterProvider(),
            exclude_spans=["receive", "send"],  # a span per ASGI message says nothing more
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            return await self.traced(scope, receive, send)
        return await self.app(scope, receive, send)


# What a job keeps is W3C's, whatever OTEL_PROPAGATORS says (its column is a traceparent).
_W3C = TraceContextTextMapPropagator()


class JobTracing:
    """The desk's `Tracing` (resolvers/desk.py): jobs carry their request's trace."""

    def __init__(self, provider: TracerProvider) -> None:
        self.tracer = provider.get_tracer("handoff_desk.workers")

    def trace_parent(self) -> str | None:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)  # nothing outside a span
        parent = carrier.get("traceparent")
        return parent if parent and len(parent) <= TRACE_PARENT_CHARS else None

    @contextmanager
    def job_span(self, kind: str, trace_parent: str | None) -> Iterator[object]:
        # Only the job's trace: never the context the worker's slot happens to run in.
        parent = _W3C.extract({"traceparent": trace_parent} if trace_parent else {}, Context())
        with self.tracer.start_as_current_span(
            f"job {kind}", context=parent, kind=SpanKind.CONSUMER, attributes={"job.kind": kind}
        ) as span:
            yield span

    def inject(self, headers: dict[str, str]) -> None:
        propagate.inject(headers)  # as OTEL_PROPAGATORS says: W3C tracecontext by default
