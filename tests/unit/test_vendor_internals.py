"""What vendor_internals/ relies on in Strawberry, graphql-core and uvicorn is still there.

An upgrade that moves one of those names fails here, naming the adapter module, the installed
release and the range it was checked against, rather than quietly making the lean executor read
every field the slow way, suggestions reappear with introspection off, or shutdown close
websockets with another code. broadcaster needs no adapter (its backend interface is public):
the last test checks that our two backends still implement all of it.
"""

from __future__ import annotations

import contextlib
import inspect
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import Enum
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import pytest
import strawberry
import uvicorn
from broadcaster import Broadcast, BroadcastBackend
from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLID,
    GraphQLSchema,
    GraphQLString,
    TypeInfo,
    ValidationContext,
    parse,
    specified_rules,
    validate,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from strawberry.types.field import StrawberryField

from handoff_desk.live.broadcast import PostgresDoorbellBackend, RedisDoorbellBackend
from schema.execution import DeskExecutionContext, _basic_field, _self_type
from schema.sharing import declared, shared
from schema.suggestions import HideSuggestions
from vendor_internals import graphql_core as graphql_internals
from vendor_internals import strawberry as strawberry_internals
from vendor_internals import uvicorn as uvicorn_internals

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = [strawberry_internals, graphql_internals, uvicorn_internals]


@contextlib.contextmanager
def relied_on(adapter, what: str) -> Iterator[None]:
    """Any failure inside becomes one that says which adapter to revisit, and why."""
    try:
        yield
    except Exception as error:  # an AssertionError included
        library = Requirement(adapter.TESTED).name
        pytest.fail(
            f"{adapter.__name__} ({adapter.__file__}) relies on {what}, which {library} "
            f"{version(library)} no longer provides as it did: {type(error).__name__}: {error}. "
            f"The module was checked against {adapter.TESTED}; its docstring says what each "
            "name is for.",
            pytrace=False,
        )


def _dependency(name: str) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == canonicalize_name(name):
            return requirement
    raise AssertionError(f"pyproject.toml does not declare {name}")


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.__name__)
def test_each_adapter_was_checked_against_the_release_installed_and_pyproject_allows(adapter):
    # Widening a bound in pyproject.toml means revisiting the adapter: this fails until its
    # TESTED range (and so its docstring's) says the same.
    tested = Requirement(adapter.TESTED)
    installed = version(tested.name)
    assert tested.specifier.contains(installed, prereleases=True), (
        f"{tested.name} {installed} is installed; {adapter.__name__} was checked against "
        f"{adapter.TESTED}"
    )
    declared_bound = _dependency(tested.name).specifier
    assert declared_bound == tested.specifier, (
        f"pyproject.toml bounds {tested.name} {declared_bound}; {adapter.__name__} was checked "
        f"against {tested.specifier}: check its names against the new range, then make them agree"
    )


# Strawberry: a schema with a plain field, a field declared for sharing, a resolver, and an
# attribute field that an exception handler applies to.


class Problem(Exception):
    pass


@strawberry.type
class Missing:
    message: str


@strawberry.type
class Found:
    name: str


class MissingHandler(strawberry.ExceptionHandler[Problem, Missing]):
    def handle(self, exception, *, field, info):
        return Missing(message=str(exception))


@strawberry.type
class Query:
    plain: str
    outcome: Annotated[Found | Missing, strawberry.union("Outcome")]
    same_for_everyone: str = shared()

    @strawberry.field
    def computed(self) -> str:
        return "computed"


SCHEMA = strawberry.Schema(query=Query, exception_handlers=[MissingHandler()])


@strawberry.type
class Clock:
    now: datetime


@strawberry.enum(name="Colour")
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Palette:
    colour: Colour


def _field(name: str):
    return strawberry_internals.graphql_schema(SCHEMA).query_type.fields[name]


def test_strawberry_schema_wraps_a_graphql_core_schema():
    with relied_on(strawberry_internals, "Schema._schema, the graphql-core schema it wraps"):
        wrapped = strawberry_internals.graphql_schema(SCHEMA)
        assert isinstance(wrapped, GraphQLSchema)
        assert set(wrapped.query_type.fields) == {"plain", "outcome", "sameForEveryone", "computed"}


def test_strawberry_validates_with_its_own_rules_added():
    with relied_on(strawberry_internals, "strawberry.schema.schema.validate_document"):
        assert strawberry_internals.validate(SCHEMA, parse("{ plain }"), specified_rules) == []
        errors = strawberry_internals.validate(SCHEMA, parse("{ plian }"), specified_rules)
        assert [type(e) for e in errors] == [GraphQLError]
        assert "plian" in errors[0].message


def test_strawberrys_datetime_scalar_can_be_copied_with_a_url():
    with relied_on(strawberry_internals, "base_scalars.DateTimeDefinition"):
        copy = strawberry_internals.datetime_scalar("Said so.", "https://example.org/spec")
        wrapped = strawberry_internals.graphql_schema(
            strawberry.Schema(query=Clock, scalar_overrides={datetime: copy})
        )
        scalar = wrapped.type_map["DateTime"]
        assert (scalar.description, scalar.specified_by_url) == (
            "Said so.",
            "https://example.org/spec",
        )
        moment = datetime(2026, 11, 29, 18, 2, 26, 997624, tzinfo=UTC)
        assert scalar.serialize(moment) == moment.isoformat()
        assert scalar.parse_value(moment.isoformat()) == moment


def test_strawberry_enum_values_can_be_given_descriptions():
    with relied_on(strawberry_internals, "an enum's __strawberry_definition__.values"):
        strawberry_internals.describe_enum_values(Colour, {"RED": "Warm.", "BLUE": "Cold."})
        wrapped = strawberry_internals.graphql_schema(strawberry.Schema(query=Palette))
        values = wrapped.type_map["Colour"].values
        assert {name: v.description for name, v in values.items()} == {
            "RED": "Warm.",
            "BLUE": "Cold.",
        }
        with pytest.raises(ValueError, match="BLUE"):
            strawberry_internals.describe_enum_values(Colour, {"RED": "Warm."})


def test_a_graphql_core_field_leads_to_its_strawberry_definition():
    with relied_on(strawberry_internals, "GraphQLCoreConverter.DEFINITION_BACKREF"):
        definition = strawberry_internals.definition(_field("plain"))
        assert isinstance(definition, StrawberryField)
        assert definition.python_name == "plain"
        # What sharing reads of it (schema/sharing.py).
        assert declared(_field("sameForEveryone")) == "independent"
        assert declared(_field("plain")) is None


def test_a_graphql_core_schema_leads_to_strawberrys_converter():
    # Without it the lean executor counts no field basic: same answers, all of them slow.
    with relied_on(strawberry_internals, "GraphQLSchema._strawberry_schema"):
        wrapped = strawberry_internals.graphql_schema(SCHEMA)
        assert strawberry_internals.converter(wrapped) is SCHEMA.schema_converter


def test_strawberry_tells_which_fields_an_exception_handler_applies_to():
    with relied_on(strawberry_internals, "GraphQLCoreConverter._get_field_exception_handlers"):
        converter = SCHEMA.schema_converter
        outcome = strawberry_internals.definition(_field("outcome"))
        plain = strawberry_internals.definition(_field("plain"))
        assert outcome.is_basic_field and plain.is_basic_field
        assert strawberry_internals.has_exception_handlers(converter, outcome) is True
        assert strawberry_internals.has_exception_handlers(converter, plain) is False


def test_the_lean_executor_still_reads_a_plain_field_directly():
    # The whole chain schema/execution.py follows for a field: any link that breaks quietly
    # would send every field the slow way.
    with relied_on(strawberry_internals, "the chain of a basic field (schema/execution.py)"):
        converter = strawberry_internals.converter(strawberry_internals.graphql_schema(SCHEMA))
        assert _basic_field(_field("plain"), converter) is not None
        assert _basic_field(_field("computed"), converter) is None  # a resolver
        assert _basic_field(_field("outcome"), converter) is None  # an exception handler's


# graphql-core


def test_graphql_core_validation_can_be_told_to_hide_suggestions():
    wrapped = strawberry_internals.graphql_schema(SCHEMA)
    document = parse("{ plian }")
    with relied_on(graphql_internals, "ValidationContext._hide_suggestions"):
        context = ValidationContext(wrapped, document, TypeInfo(wrapped), lambda error: None)
        assert context.hide_suggestions is False
        graphql_internals.hide_suggestions(context)
        assert context.hide_suggestions is True
        # And the rule that sets it silences the suggestion (schema/suggestions.py).
        (told,) = validate(wrapped, document, specified_rules)
        assert "Did you mean 'plain'?" in told.message
        (hidden,) = validate(wrapped, document, [*specified_rules, HideSuggestions])
        assert "plian" in hidden.message and "Did you mean" not in hidden.message


def test_the_lean_executor_still_skips_serializing_strings_ids_and_booleans():
    # schema/execution.py compares each leaf's serializer with graphql-core's own by identity.
    with relied_on(graphql_internals, "graphql.type.scalars' serializers (schema/execution.py)"):
        assert _self_type(GraphQLString) is str
        assert _self_type(GraphQLID) is str
        assert _self_type(GraphQLBoolean) is bool


def test_the_lean_executor_still_overrides_what_graphql_core_calls():
    # Were graphql-core to rename execute_fields, the lean path would simply never run.
    with relied_on(graphql_internals, "the executor's execute_fields (schema/execution.py)"):
        base = DeskExecutionContext.__mro__[1]
        ours = inspect.signature(DeskExecutionContext.execute_fields).parameters
        assert list(inspect.signature(base.execute_fields).parameters) == list(ours)


# uvicorn


def test_uvicorn_serve_runs_startup_and_shutdown_with_the_hooks_between(monkeypatch):
    steps: list[str] = []

    class Listener:
        def close(self) -> None:
            steps.append("listener closed")

    async def startup(self, sockets=None) -> None:
        steps.append("uvicorn startup")
        self.servers = [Listener()]
        self.started = self.should_exit = True  # straight on to shutdown, nothing served

    async def shutdown(self, sockets=None) -> None:
        steps.append("uvicorn shutdown")

    class Recorded(uvicorn_internals.Server):
        def after_startup(self) -> None:
            steps.append("after startup")

        async def before_shutdown(self) -> None:
            steps.append("before shutdown")

    async def app(scope, receive, send) -> None:
        raise AssertionError("nothing is served")

    with relied_on(uvicorn_internals, "Server.serve calling Server.startup and Server.shutdown"):
        for name in ("startup", "shutdown"):
            method = getattr(uvicorn.Server, name)
            assert inspect.iscoroutinefunction(method)
            assert "sockets" in inspect.signature(method).parameters
        monkeypatch.setattr(uvicorn.Server, "startup", startup)
        monkeypatch.setattr(uvicorn.Server, "shutdown", shutdown)
        server = Recorded(uvicorn.Config(app, lifespan="off", log_level="critical"))
        server.run()
        assert steps == [
            "uvicorn startup",
            "after startup",
            "listener closed",
            "before shutdown",
            "uvicorn shutdown",
        ]


def test_uvicorn_keeps_its_listeners_in_servers():
    with relied_on(uvicorn_internals, "Server.servers, the listeners startup makes"):
        assert "self.servers" in inspect.getsource(uvicorn.Server.startup)
        assert "for server in self.servers" in inspect.getsource(uvicorn.Server.shutdown)


# broadcaster: no internals, but a backend that missed a method of the interface would leave
# broadcaster's listener dead and every subscriber waiting for the hub's next poll.


@pytest.mark.parametrize("backend", [RedisDoorbellBackend, PostgresDoorbellBackend])
def test_our_broadcast_backends_implement_all_of_broadcasters_interface(backend):
    interface = {
        name
        for name, member in vars(BroadcastBackend).items()
        if callable(member) and (not name.startswith("_") or name == "__init__")
    }
    assert {"connect", "disconnect", "subscribe", "publish", "next_published"} <= interface
    missing = {name for name in interface if getattr(backend, name) is vars(BroadcastBackend)[name]}
    assert not missing, f"{backend.__name__} does not implement {sorted(missing)}"
    Broadcast(backend=backend("redis://127.0.0.1:1"))  # how create_broadcast hands it over


def test_the_scalars_lean_execution_passes_through_are_still_graphql_cores_own():
    from graphql import GraphQLBoolean, GraphQLID, GraphQLString

    with relied_on(graphql_internals, "graphql.type.scalars.serialize_string/_id/_boolean"):
        assert GraphQLString.serialize is graphql_internals.serialize_string
        assert GraphQLID.serialize is graphql_internals.serialize_id
        assert GraphQLBoolean.serialize is graphql_internals.serialize_boolean


@pytest.mark.anyio
async def test_strawberrys_tracing_keeps_the_operations_span_where_the_desk_reads_it():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from strawberry.extensions.tracing import OpenTelemetryExtension

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen = []

    class Watching(OpenTelemetryExtension):
        def on_operation(self):
            steps = super().on_operation()
            next(steps)
            yield
            seen.append(strawberry_internals.operation_span(self))
            next(steps, None)

    schema = strawberry.Schema(
        query=_TracedQuery, extensions=[lambda: Watching(tracer_provider=provider)]
    )
    with relied_on(strawberry_internals, "OpenTelemetryExtension._span_holder"):
        assert (await schema.execute("query Hello { hello }")).data == {"hello": "hi"}
        [operation] = [s for s in exporter.get_finished_spans() if s.name.startswith("GraphQL Q")]
        assert [span.get_span_context() for span in seen] == [operation.get_span_context()]


@strawberry.type
class _TracedQuery:
    @strawberry.field
    def hello(self) -> str:
        return "hi"
