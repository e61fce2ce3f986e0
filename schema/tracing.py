"""Spans of GraphQL operations, when the app traces (handoff_desk/ops/tracing.py): Strawberry's
own OpenTelemetryExtension (an operation's span, its parse's and its validation's), with what
users typed kept out of the spans. Imported only when tracing is on: nothing of OpenTelemetry is
loaded otherwise.

Strawberry records the document as sent (`query`): a password or a note's text typed as a
literal would reach the trace store. Here the document is recorded with its string literals
masked. (Variables are never recorded.)
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from graphql import DocumentNode, StringValueNode, Visitor, print_ast, visit
from opentelemetry import context, trace
from opentelemetry.trace import TracerProvider
from strawberry.extensions import SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

from vendor_internals import strawberry as strawberry_internals

MASK = "***"


class _MaskStrings(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> StringValueNode:
        return StringValueNode(value=MASK, block=False)


def masked_document(document: DocumentNode) -> str:
    """The document as text, every string literal in it replaced by ***."""
    return print_ast(visit(document, _MaskStrings()))


class DeskTracing(OpenTelemetryExtension):
    """No span per resolver: Strawberry's wraps every field in an awaited middleware (which
    also turns the lean executor off, schema/execution.py), and that doubled the time of a
    queue page. The operation's span is the current one instead, so each SQL statement's span
    sits under the operation that ran it."""

    # The base class's own no-op again (Strawberry then adds no middleware); typed as the base's
    # method, which mypy will not take for the subclass's.
    resolve = SchemaExtension.resolve  # type: ignore[assignment]

    def __init__(self, tracer_provider: TracerProvider) -> None:
        super().__init__(tracer_provider=tracer_provider)

    def on_operation(self) -> Generator[None, None, None]:
        steps = super().on_operation()
        next(steps)  # the operation's span has begun, with the document as sent
        span = strawberry_internals.operation_span(self)
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            context.detach(token)
        # Parsed by now, or it never will be (then nothing of its text is kept).
        document = self.execution_context.graphql_document
        span.set_attribute("query", masked_document(document) if document is not None else "")
        next(steps, None)  # the span is named after the operation, and ends
