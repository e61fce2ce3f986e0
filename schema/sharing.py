"""Which fields answer the same for every caller: declared on each field, read by type and field.

A live subscription is resolved once and its text sent to many subscribers only when every field
it selects answers the same for all of them (of one account and role). That is declared where
each field is defined: `shared()` for a plain field, `metadata=SHARED` on a resolver field;
`per_viewer()` / `metadata=PER_VIEWER` for a field that depends on who asks. `per_user` walks a
document with graphql-core's TypeInfo, so a field is judged by its type and name, never by its
name alone; a field declared neither way counts as per user (less sharing, never a leak), and a
test fails for any such field so that each new one is decided.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)

from vendor_internals import strawberry as strawberry_internals

_KEY = "handoff_desk.viewer"
SHARED = {_KEY: "independent"}  # the same for every user of the account and role
PER_VIEWER = {_KEY: "dependent"}  # differs by who asks (their own marks, what they may see)


def shared(**kwargs: Any) -> Any:
    """A plain field whose value is the same for every caller of an account and role."""
    return strawberry.field(metadata=SHARED, **kwargs)


def per_viewer(**kwargs: Any) -> Any:
    """A plain field whose value depends on the caller."""
    return strawberry.field(metadata=PER_VIEWER, **kwargs)


def declared(field: GraphQLField) -> str | None:
    """What the field's definition declares: "independent", "dependent", or None."""
    definition = strawberry_internals.definition(field)
    metadata = getattr(definition, "metadata", None) or {}
    return metadata.get(_KEY)


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema a Strawberry schema wraps."""
    return strawberry_internals.graphql_schema(schema)


class _PerUser(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.per_user = False

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        if node.name.value == "__typename":
            return None
        field = self.type_info.get_field_def()
        if field is None or declared(field) != "independent":
            self.per_user = True
            return self.BREAK
        return None


def per_user(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether any field the document selects (fragments included) may differ by caller."""
    type_info = TypeInfo(schema)
    visitor = _PerUser(type_info)
    visit(document, TypeInfoVisitor(type_info, visitor))
    return visitor.per_user
