"""OpenTelemetry traces of the desk's HTTP requests, caught by OpenTelemetry's in-memory
exporter: one GraphQL request is one trace, its caller's when it sends a W3C traceparent, with
the request's, the operation's and the SQL statements' spans in it, and nothing a user typed.
(No span per resolver: schema/tracing.py says why.)"""

from __future__ import annotations

import contextlib

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from handoff_desk.app import create_app

pytestmark = pytest.mark.anyio

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
QUEUE = "query Queue { handoffQueue(first: 5) { totalCount edges { node { id } } } }"
SECRET = "correct-horse-battery"


@contextlib.asynccontextmanager
async def traced(settings):
    """An app tracing into memory, with an engine of its own (its statements are traced for
    the engine's life); and its spans, once they are sent."""
    exporter = InMemorySpanExporter()
    app = create_app(settings.model_copy(update={"query_cache_mb": 0}), span_exporter=exporter)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:

            def spans():
                app.state.tracer_provider.force_flush()
                return exporter.get_finished_spans()

            yield client, spans


def scope_of(span) -> str:
    return span.instrumentation_scope.name


async def test_a_graphql_request_is_one_trace_in_its_callers_trace(settings, team):
    sam = team.acme["sam"]
    async with traced(settings) as (client, spans):
        headers = {"authorization": f"Bearer {sam.token}", "traceparent": TRACEPARENT}
        response = await client.post("/graphql", json={"query": QUEUE}, headers=headers)
        assert response.status_code == 200 and "errors" not in response.json()
        # The answer names the trace and the desk's span in it (W3C traceresponse).
        version, trace_id, span_id, flags = response.headers["traceresponse"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        found = spans()

    assert {format(s.context.trace_id, "032x") for s in found} == {TRACE_ID}
    by_id = {s.context.span_id: s for s in found}
    [request] = [s for s in found if scope_of(s) == "opentelemetry.instrumentation.asgi"]
    assert request.name == "POST /graphql"
    assert format(request.parent.span_id, "016x") == CALLER_SPAN and request.parent.is_remote
    assert format(request.context.span_id, "016x") == span_id
    [operation] = [s for s in found if s.name == "GraphQL Query: Queue"]
    assert scope_of(operation) == "strawberry" and operation.parent.span_id == span_id_of(request)
    queries = [s for s in found if scope_of(s) == "opentelemetry.instrumentation.sqlalchemy"]
    assert queries, [s.name for s in found]
    for query in queries:  # each under the operation that ran it
        assert operation in ancestors(query, by_id), query.name


def span_id_of(span) -> int:
    return span.context.span_id


def ancestors(span, by_id) -> list:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


async def test_what_a_user_types_stays_out_of_the_spans(settings, team):
    """A password typed into the document, and one sent as a variable: the document is kept
    with its strings masked, and variables are never kept."""
    email = team.acme["sam"].user.email
    typed = (
        f'mutation LogIn {{ login(input: {{ email: "{email}", password: "{SECRET}" }}) '
        "{ __typename } }"
    )
    sent = (
        "mutation LogIn($e: String!, $p: String!) "
        "{ login(input: { email: $e, password: $p }) { __typename } }"
    )
    async with traced(settings) as (client, spans):
        await client.post("/graphql", json={"query": typed})
        await client.post("/graphql", json={"query": sent, "variables": {"e": email, "p": SECRET}})
        found = spans()

    assert len({s.context.trace_id for s in found}) == 2  # a trace per request, none given
    operations = [s for s in found if s.name == "GraphQL Query: LogIn"]
    assert [o.attributes["query"].count('"***"') for o in operations] == [2, 0]
    everything = repr([(s.name, dict(s.attributes or {})) for s in found])
    assert SECRET not in everything and email not in everything


async def test_scrapes_and_probes_make_no_spans(settings):
    async with traced(settings) as (client, spans):
        for path in ("/metrics", "/healthz", "/readyz"):
            assert (await client.get(path)).status_code == 200
        assert spans() == ()
