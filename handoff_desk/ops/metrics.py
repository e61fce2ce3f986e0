"""Prometheus metrics of one process, served at /metrics.

Each app has its own registry (several apps in one test process do not clash), and each process
exposes its own numbers: with several processes, Prometheus scrapes every one of them.

Requests are measured by a pure ASGI middleware around /graphql: it sees every answer (one from
the answer cache, or a request refused before it ran, included). What it cannot see, the code
that knows it notes on the request's state: the operation's type (decided once, before
execution), the error codes of the answer, and whether the cache answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, OperationType
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.enums import JobKind
from db.jobs import pending_jobs_by_kind
from handoff_desk.http import json_depth
from handoff_desk.ops.answered import AnsweredStatus
from resolvers.desk import Desk
from resolvers.events import LoggedEvent
from resolvers.sla import OVERDUE_STATES, overdue_by_state
from schema.documents import DocumentCache
from schema.errors import code_of

log = logging.getLogger(__name__)

# Keys of the request's state (starlette keeps `request.state` in the ASGI scope).
_OPERATION = "metrics_operation"
_ERROR_CODES = "metrics_error_codes"
_CACHED = "metrics_cached"

_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_SCRAPE_QUERY_SECONDS = 2.0
# An escalation's wait for its first claim: from half a minute to a day.
_CLAIM_WAIT_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
_ASSESSMENT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60)

# No `_created` series beside each counter and histogram (the client library's default): one
# more series per label set that no query uses, and that Prometheus stores all the same. For the
# whole process, which is what the setting is.
# (The client library's function has no annotations.)
disable_created_metrics()  # type: ignore[no-untyped-call]


# --- what the GraphQL view notes on the request ---------------------------------------------


def note_operation(request: Request, operation: OperationType) -> None:
    request.scope.setdefault("state", {})[_OPERATION] = operation.value


def note_cached(request: Request) -> None:
    request.scope.setdefault("state", {})[_CACHED] = True


def note_errors(request: Request, errors: list[GraphQLError] | None) -> None:
    if errors:
        request.scope.setdefault("state", {})[_ERROR_CODES] = [code_of(e) for e in errors]


class RatingCounts(Collector):
    """Ratings of assessments given in this process, by the assessor that made the assessment
    and the rating: a counter whose series are only `_total` (a Counter of the client library
    adds a `_created` series beside each)."""

    def __init__(self) -> None:
        self._counts: Tally[tuple[str, str]] = Tally()

    def inc(self, assessor: str, rating: str) -> None:
        self._counts[(assessor, rating)] += 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "handoff_desk_assessment_ratings",
            "Ratings of AI assessments given in this process, by the assessor that made the "
            "assessment (rules, openai; unknown: made before it was recorded) and the rating "
            "(helpful, not_helpful). A rating changed counts again, under its new value.",
            labels=["assessor", "rating"],
        )
        for (assessor, rating), count in sorted(self._counts.items()):
            family.add_metric([assessor, rating], count)
        yield family


class Metrics:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.registry = registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(collector)  # memory, CPU, open files, GC: read at scrape time
        self.requests = Counter(
            "handoff_desk_requests",
            "GraphQL requests over HTTP, by operation type (none: the request named no operation "
            "that could run) and outcome (ok, error, cached: answered from the answer cache).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "handoff_desk_request_duration_seconds",
            "Time from a GraphQL request's arrival to the end of its answer.",
            ["operation", "outcome"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.server_errors = Counter(
            "handoff_desk_server_errors",
            "GraphQL requests over HTTP answered with a 5xx status: the server failed, not the "
            "request (an unexpected error inside an answer is code INTERNAL of "
            "handoff_desk_graphql_errors instead).",
            registry=registry,
        )
        self.errors = Counter(
            "handoff_desk_graphql_errors",
            "Errors in GraphQL answers over HTTP, by extensions.code (INTERNAL: unexpected).",
            ["code"],
            registry=registry,
        )
        self.websocket_operations = Counter(
            "handoff_desk_websocket_operations",
            "Operations started over GraphQL websockets, by operation type.",
            ["operation"],
            registry=registry,
        )
        self.websockets_open = Gauge(
            "handoff_desk_websockets_open",
            "GraphQL websocket connections open in this process.",
            registry=registry,
        )
        self.subscriptions_open = Gauge(
            "handoff_desk_subscriptions_open",
            "Subscriptions open in this process (each member of a shared group counted).",
            registry=registry,
        )
        self.pending_jobs = Gauge(
            "handoff_desk_pending_jobs",
            "Jobs not finished yet (waiting or being worked), by kind; read from the database "
            "at scrape time, so the same for every process.",
            ["kind"],
            registry=registry,
        )
        self.delivery_lag = Histogram(
            "handoff_desk_event_delivery_lag_seconds",
            "From an event's occurred_at (in its transaction) to its fan-out to this process's "
            "subscribers; observed once per event per process.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.ratings = RatingCounts()
        registry.register(self.ratings)
        # What the desk's users do and wait for (resolvers/desk.py's Meter), counted by the
        # process where it happens: claims where the API runs, assessments and emails where the
        # workers run (`handoff-desk worker` on its own serves no metrics).
        self.first_claim_wait = Histogram(
            "handoff_desk_time_to_first_claim_seconds",
            "From an escalation's creation to its first claim (a claim after a release or a "
            "transfer is not counted again).",
            buckets=_CLAIM_WAIT_BUCKETS,
            registry=registry,
        )
        self.contended_claims = Counter(
            "handoff_desk_contended_claims",
            "Claims refused because another senior holds the escalation: races lost, mostly.",
            registry=registry,
        )
        self.assessment_seconds = Histogram(
            "handoff_desk_assessment_duration_seconds",
            "How long the assessor took to answer, for assessments that landed, by assessor "
            "(rules, openai).",
            ["assessor"],
            buckets=_ASSESSMENT_BUCKETS,
            registry=registry,
        )
        self.assessment_failures = Counter(
            "handoff_desk_assessment_failures",
            "Attempts at an assessment that failed, by assessor and reason (timeout: past "
            "HANDOFF_ASSESSMENT_TIMEOUT_SECONDS; error: the assessor answered with an error). "
            "Each attempt counts; the last one marks the assessment failed.",
            ["assessor", "reason"],
            registry=registry,
        )
        self.email_failures = Counter(
            "handoff_desk_email_failures",
            "Emails not sent by an attempt, by outcome (retrying: tried again later; given_up: "
            "that was its last attempt, the email is failed).",
            ["outcome"],
            registry=registry,
        )
        self.overdue_escalations = Gauge(
            "handoff_desk_overdue_escalations",
            "Escalations waiting unclaimed past their due time, by state (overdue: the team was "
            "told again; admins_alerted: the admins too); read from the database at scrape time, "
            "so the same for every process.",
            ["state"],
            registry=registry,
        )
        self._request_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def watch_subscriptions(self, count: Callable[[], float]) -> None:
        """`count()` is read at every scrape."""
        self.subscriptions_open.set_function(count)

    def request_done(self, operation: str, outcome: str, seconds: float) -> None:
        series = self._request_series.get((operation, outcome))
        if series is None:
            series = self._request_series[(operation, outcome)] = (
                self.requests.labels(operation, outcome),
                self.request_seconds.labels(operation, outcome),
            )
        series[0].inc()
        series[1].observe(seconds)

    def assessment_rated(self, assessor: str, rating: str) -> None:
        """A senior rated an assessment (the desk's Meter, resolvers/desk.py)."""
        self.ratings.inc(assessor, rating)

    def first_claim(self, waited_seconds: float) -> None:
        self.first_claim_wait.observe(max(0.0, waited_seconds))

    def claim_contended(self) -> None:
        self.contended_claims.inc()

    def assessment_landed(self, assessor: str, seconds: float) -> None:
        self.assessment_seconds.labels(assessor).observe(seconds)

    def assessment_failed(self, assessor: str, reason: str) -> None:
        self.assessment_failures.labels(assessor, reason).inc()

    def email_failed(self, outcome: str) -> None:
        self.email_failures.labels(outcome).inc()

    def event_fanned_out(self, event: LoggedEvent) -> None:
        lag = time.time() - event.event.occurred_at.timestamp()
        self.delivery_lag.observe(max(0.0, lag))

    async def scrape(self, request: Request) -> Response:
        await self._read_pending_jobs()
        await self._read_overdue_escalations()
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(self.registry), headers={"Content-Type": content_type})

    async def _read_pending_jobs(self) -> None:
        try:
            async with asyncio.timeout(_SCRAPE_QUERY_SECONDS):
                counts = await pending_jobs_by_kind(self.desk.db)
        except Exception as error:
            # No number rather than a stale one: the series disappear until the database answers.
            log.warning("pending jobs not counted: %s", error)
            self.pending_jobs.clear()
            return
        for kind in JobKind:
            self.pending_jobs.labels(kind.value).set(counts.get(kind.value, 0))

    async def _read_overdue_escalations(self) -> None:
        try:
            async with asyncio.timeout(_SCRAPE_QUERY_SECONDS):
                counts = await overdue_by_state(self.desk)
        except Exception as error:
            log.warning("overdue escalations not counted: %s", error)
            self.overdue_escalations.clear()
            return
        for state in sorted(OVERDUE_STATES):
            self.overdue_escalations.labels(state.value).set(counts[state])


class GraphQLMetrics:
    """Pure ASGI middleware: times HTTP requests to `path`, and counts its websocket connections
    and the operations they start."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, documents: DocumentCache, path: str = "/graphql"
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.path = path
        self.documents = documents

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") != self.path:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        if scope["type"] != "http" or scope["method"] == "OPTIONS":  # CORS preflights
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        answered = AnsweredStatus(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, answered.send)
        finally:
            status = answered.status
            seconds = time.perf_counter() - started
            codes = state.get(_ERROR_CODES, ())
            if state.get(_CACHED):
                outcome = "cached"
            elif codes or status >= 400:
                outcome = "error"
            else:
                outcome = "ok"
            operation = "query" if outcome == "cached" else state.get(_OPERATION, "none")
            self.metrics.request_done(operation, outcome, seconds)
            if status >= 500:
                self.metrics.server_errors.inc()
            for code in codes:
                self.metrics.errors.labels(code).inc()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_and_count() -> Message:
            message = await receive()
            text = message.get("text")
            # Only the client's frames are read here (a few per subscription), never the events.
            if text and ('"subscribe"' in text or '"start"' in text):
                self._count_operation(text)
            return message

        self.metrics.websockets_open.inc()
        try:
            await self.app(scope, receive_and_count, send)
        finally:
            self.metrics.websockets_open.dec()

    def _count_operation(self, text: str) -> None:
        try:
            # Nested too deeply: ValueError, like bad JSON; not an object: AttributeError.
            frame: Any = json_depth.loads(text)
            if frame.get("type") not in ("subscribe", "start"):
                return
            payload = frame.get("payload") or {}
            query, name = payload.get("query"), payload.get("operationName")
        except (ValueError, AttributeError):
            return  # the protocol handler answers a malformed frame
        kind = None
        if isinstance(query, str) and isinstance(name, str | None):
            kind = self.documents.read(query).operation_type(name)  # read once per document
        self.metrics.websocket_operations.labels(kind.value if kind else "none").inc()
