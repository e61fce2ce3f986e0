"""Strawberry's internals: the only place the desk uses them.

Checked against strawberry-graphql 0.341 (`TESTED`, the bound in pyproject.toml);
tests/unit/test_vendor_internals.py fails, naming this module, if an upgrade moves any of them.

- `Schema._schema`: the graphql-core schema a Strawberry schema wraps; Strawberry has no public
  accessor. Sharing walks it with graphql-core's TypeInfo (schema/sharing.py), the validation
  cache validates against it (schema/schema.py).
- `strawberry.schema.schema.validate_document`: graphql-core's validate with Strawberry's own
  rules added (maybe-null, one-of), as Strawberry itself validates.
- `GraphQLCoreConverter.DEFINITION_BACKREF`: the key under which a graphql-core field keeps its
  Strawberry definition in `extensions`. Sharing reads a field's declaration through it; the
  lean executor tells a basic field by it (schema/execution.py).
- `GraphQLSchema._strawberry_schema`: set by Strawberry on the graphql-core schema it builds;
  the lean executor finds through it the converter that decided each field's resolver. Were it
  gone, no field would count as basic: the same answers, every field the slow way.
- `GraphQLCoreConverter._get_field_exception_handlers(field)`: the schema's exception handlers
  that apply to a field. A field with any is not resolved by Strawberry's basic resolver, even
  though it `is_basic_field`, so the lean executor must not read it directly.
- `strawberry.schema.types.base_scalars.DateTimeDefinition`: Strawberry's own DateTime scalar.
  The schema overrides it with a copy that differs only in its description and its
  `@specifiedBy` URL, so that a DateTime serializes and parses exactly as before.
- `OpenTelemetryExtension._span_holder`: the spans Strawberry's tracing extension keeps per
  step of an operation. The desk's tracing (schema/tracing.py) overwrites the operation span's
  `query` attribute (the document as sent) with the document's literals masked.
- `__strawberry_definition__.values` of an enum: each value's `EnumValue`, whose `description`
  the desk sets for the enums it takes from db/ (whose classes cannot carry
  `strawberry.enum_value`, db/ knowing nothing of GraphQL).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import LifecycleStep
from strawberry.schema.schema import validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.scalar import ScalarDefinition

TESTED = "strawberry-graphql>=0.341.2,<0.342"

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema a Strawberry schema wraps."""
    return schema._schema


def datetime_scalar(description: str, specified_by_url: str) -> ScalarDefinition:
    """Strawberry's DateTime scalar (serialized with isoformat, parsed as ISO 8601), with this
    description and `@specifiedBy` URL: for `scalar_overrides={datetime: ...}`."""
    return dataclasses.replace(
        DateTimeDefinition, description=description, specified_by_url=specified_by_url
    )


def describe_enum_values(enum: type[Enum], descriptions: Mapping[str, str]) -> None:
    """Give each value of an enum made with `strawberry.enum` its description, by member name;
    every value must have one, and no other name may be given."""
    values = enum.__strawberry_definition__.values  # type: ignore[attr-defined]
    names = {value.name for value in values}
    if names != set(descriptions):
        raise ValueError(
            f"{enum.__name__}: no description for {sorted(names - set(descriptions))}, "
            f"no such value {sorted(set(descriptions) - names)}"
        )
    for value in values:
        value.description = descriptions[value.name]


def validate(schema: strawberry.Schema, document: DocumentNode, rules: Any) -> list[GraphQLError]:
    """The document's validation errors, with Strawberry's own rules added to `rules`."""
    return validate_document(schema._schema, document, rules)


def definition(element: Any) -> Any:
    """The Strawberry definition of a graphql-core field (or type), or None: a StrawberryField
    for a field Strawberry made."""
    return (element.extensions or {}).get(_DEFINITION)


def converter(schema: GraphQLSchema) -> GraphQLCoreConverter | None:
    """The converter Strawberry built `schema` with; None for a schema Strawberry did not make."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    return getattr(strawberry_schema, "schema_converter", None)


def has_exception_handlers(converter: GraphQLCoreConverter, field: StrawberryField) -> bool:
    """Whether any of the schema's exception handlers applies to the field."""
    return bool(converter._get_field_exception_handlers(field))


def operation_span(extension: Any) -> Any:
    """The span of the operation an OpenTelemetryExtension traces (an opentelemetry Span), once
    its `on_operation` has begun."""
    return extension._span_holder[LifecycleStep.OPERATION]
