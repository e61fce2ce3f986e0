"""Spans of GraphQL operations, when the app traces (handoff_desk/ops/tracing.py): Strawberry's
own OpenTelemetryExtension (an operation's span, its parse and validation, a span per resolver
that is a function), with what users typed kept out of the spans. Imported only when tracing is
on: nothing of OpenTelemetry is loaded otherwise.

Strawberry records the document as sent (`query`) and each resolver's arguments: a password or a
note's text typed as a literal would reach the trace store. Here the document is recorded with
its string literals masked, and an argument's value only when it is an ID, a number, a boolean
or an enum member (what says which rows, never what someone wrote).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    StringValueNode,
    Visitor,
    get_named_type,
    print_ast,
    visit,
)
from opentelemetry.trace import TracerProvider
from strawberry.extensions.tracing import OpenTelemetryExtension

from vendor_internals import strawberry as strawberry_internals

MASK = "***"
_SHOWN_SCALARS = frozenset({"ID", "Int", "Float", "Boolean"})


class _MaskStrings(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> StringValueNode:
        return StringValueNode(value=MASK, block=False)


def masked_document(document: DocumentNode) -> str:
    """The document as text, every string literal in it replaced by ***."""
    return print_ast(visit(document, _MaskStrings()))


def shown_arguments(args: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    """The arguments, those whose type may say what a user wrote masked."""
    field = info.parent_type.fields[info.field_name]
    shown = {}
    for name, value in args.items():
        argument = field.args.get(name)
        kind = get_named_type(argument.type) if argument is not None else None
        plain = isinstance(kind, GraphQLEnumType) or (
            isinstance(kind, GraphQLScalarType) and kind.name in _SHOWN_SCALARS
        )
        shown[name] = value if plain else MASK
    return shown


class DeskTracing(OpenTelemetryExtension):
    def __init__(self, tracer_provider: TracerProvider) -> None:
        super().__init__(arg_filter=shown_arguments, tracer_provider=tracer_provider)

    def on_operation(self) -> Generator[None, None, None]:
        steps = super().on_operation()
        next(steps)  # the operation's span has begun, with the document as sent
        yield
        # Parsed by now, or it never will be (then nothing of its text is kept).
        document = self.execution_context.graphql_document
        query = masked_document(document) if document is not None else ""
        strawberry_internals.operation_span(self).set_attribute("query", query)
        next(steps, None)  # the span is named after the operation, and ends
