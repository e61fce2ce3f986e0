"""The query cost limit: a document is estimated before it runs, and refused above the limit.

Each field costs 1 for every item of every list it sits in. A list's size is its `first` or
`last` (a literal; for a variable, the most the field allows, since validation sees no values),
else the field's default; a connection's size applies to its `edges` and `nodes`. A list of
leaves (a scalar list) costs 1, like one field. Introspection lists count as long as this
schema makes them on average. So `session { handoffs { session { handoffs { session { id } } } } }`
costs 1 + 1 + 20 + 20 + 400 + 400 = 842 with the default page of 20 handoffs: nesting
multiplies.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)

from resolvers import caps, limits

# A list with no size argument and no known size: the account's users, for one.
UNSIZED_LIST = 100

_PAGE = caps.Cap(default=20, maximum=limits.QUEUE_PAGE_MAX)

# The lists sized by arguments: "Type.field" -> its cap.
SIZED: dict[str, caps.Cap] = {
    "Query.mySessions": _PAGE,
    "Query.handoffQueue": _PAGE,  # a connection: sizes its edges and nodes
    "Query.handoffs": _PAGE,
    "Query.myEscalations": _PAGE,
    "Query.myParkedSessions": _PAGE,
    "Session.messages": caps.MESSAGES,
    "Session.handoffs": caps.HANDOFFS,
    "SessionSnapshot.messages": caps.MESSAGES,
    "EscalationPackage.conversationPath": caps.MESSAGES,
    "Handoff.history": caps.HISTORY,
    "Handoff.notes": caps.NOTES,
    "HandoffViewers.viewers": caps.VIEWERS,  # no arguments: always their maximum
    "AccountViewers.handoffs": caps.VIEWED,
    "Handoff.assessments": caps.ASSESSMENTS,
    # Relay's connections: they size their edges and nodes.
    "Query.usersConnection": _PAGE,
    "Query.mySessionsConnection": _PAGE,
    "Session.messagesConnection": caps.MESSAGES,
    "Handoff.historyConnection": caps.HISTORY,
    "Handoff.notesConnection": caps.NOTES,
    "Session.handoffsConnection": caps.HANDOFFS,
    # Sized by its ids, which validation does not see: the most it takes.
    "Query.nodes": caps.Cap(default=limits.NODES_MAX, maximum=limits.NODES_MAX),
}
_CONNECTION_LISTS = ("edges", "nodes")


@dataclass(frozen=True)
class _Walk:
    schema: GraphQLSchema
    fragments: dict
    introspection_sizes: dict[str, int]


_SIZES: dict[int, dict[str, int]] = {}


def _introspection_sizes(schema: GraphQLSchema) -> dict[str, int]:
    """How long each introspection list can be in this schema (counted once per schema)."""
    sizes = _SIZES.get(id(schema))
    if sizes is None:
        sizes = _SIZES[id(schema)] = _count_introspection(schema)
    return sizes


def _count_introspection(schema: GraphQLSchema) -> dict[str, int]:
    # The average over every type (or field), not the longest: `types { fields { args } }` then
    # counts the schema's fields and arguments once each, as the answer holds them.
    types = list(schema.type_map.values())

    def mean(counts) -> int:
        counts = list(counts)
        return -(-sum(counts) // len(counts)) if counts else 0

    def per_type(attribute: str) -> int:
        return mean(len(getattr(t, attribute, None) or ()) for t in types)

    fields = [f for t in types for f in (getattr(t, "fields", None) or {}).values()]
    unions = [t for t in types if isinstance(t, GraphQLUnionType | GraphQLInterfaceType)]
    return {
        "__Schema.types": len(types),
        "__Schema.directives": len(schema.directives),
        "__Type.fields": per_type("fields"),
        "__Type.inputFields": per_type("fields"),
        "__Type.enumValues": per_type("values"),
        "__Type.interfaces": per_type("interfaces"),
        "__Type.possibleTypes": mean(
            len(schema.get_possible_types(t)) if t in unions else 0 for t in types
        ),
        "__Field.args": mean(len(getattr(f, "args", None) or ()) for f in fields),
        "__Directive.args": mean(len(d.args) for d in schema.directives),
    }


def _size(node: FieldNode, cap: caps.Cap) -> int:
    """The list's size as asked: a literal first/last, the cap's maximum for a variable."""
    asked = [a.value for a in node.arguments or () if a.name.value in ("first", "last")]
    if not asked:
        return cap.default
    sizes = [int(v.value) if isinstance(v, IntValueNode) else cap.maximum for v in asked]
    # Out of range is refused when the field runs; until then it counts as the most allowed.
    return max(min(s, cap.maximum) if s >= 1 else cap.maximum for s in sizes)


def _selection_cost(
    walk: _Walk,
    parent: GraphQLNamedType,
    selections: SelectionSetNode | None,
    multiplier: int,
    connection_size: int | None,
    seen: frozenset[str],
) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(walk, parent, selection, multiplier, connection_size, seen)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            on = walk.schema.get_type(condition.name.value) if condition else parent
            total += _selection_cost(
                walk, on or parent, selection.selection_set, multiplier, connection_size, seen
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = walk.fragments.get(name)
            if fragment is None or name in seen:  # unknown or cyclic: other rules refuse it
                continue
            on = walk.schema.get_type(fragment.type_condition.name.value) or parent
            total += _selection_cost(
                walk, on, fragment.selection_set, multiplier, connection_size, seen | {name}
            )
    return total


def _field_cost(
    walk: _Walk,
    parent: GraphQLNamedType,
    node: FieldNode,
    multiplier: int,
    connection_size: int | None,
    seen: frozenset[str],
) -> int:
    name = node.name.value
    fields = getattr(parent, "fields", None)
    if name.startswith("__") and name not in ("__schema", "__type"):
        return multiplier  # __typename
    if name == "__schema":
        field_type = walk.schema.get_type("__Schema")
    elif name == "__type":
        field_type = walk.schema.get_type("__Type")
    elif fields is None or name not in fields:
        return multiplier  # an unknown field: FieldsOnCorrectTypeRule refuses it
    else:
        field_type = fields[name].type
    cost = multiplier
    named = get_named_type(field_type)
    # (named is never None: every schema has __Schema and __Type.)
    if named is None or is_leaf_type(named):
        return cost  # a scalar list costs no more than one scalar
    key = f"{parent.name}.{name}"
    inner = multiplier
    passed_on = None
    if key in SIZED and _is_connection(named):
        passed_on = _size(node, SIZED[key])
    elif _is_list(field_type):
        if key in SIZED:
            inner = multiplier * _size(node, SIZED[key])
        elif connection_size is not None and name in _CONNECTION_LISTS:
            inner = multiplier * connection_size
        else:
            inner = multiplier * walk.introspection_sizes.get(key, UNSIZED_LIST)
    return cost + _selection_cost(walk, named, node.selection_set, inner, passed_on, seen)


def _is_list(field_type) -> bool:
    return is_list_type(field_type.of_type if is_non_null_type(field_type) else field_type)


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and all(
        n in named.fields for n in _CONNECTION_LISTS
    )


def operation_cost(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: dict
) -> int:
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    walk = _Walk(schema, fragments, _introspection_sizes(schema))
    return _selection_cost(walk, root, operation.selection_set, 1, None, frozenset())


def query_cost_rule(max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing any operation estimated above `max_cost` (made once: the
    validation cache keys on the rule classes)."""

    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
            document = self.context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = operation_cost(self.context.schema, node, fragments)
            if cost > max_cost:
                name = f"Operation '{node.name.value}'" if node.name else "The operation"
                self.report_error(
                    GraphQLError(
                        f"{name} costs {cost}, over the query cost limit of {max_cost}: ask "
                        "for fewer items (first/last) or nest fewer lists.",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": max_cost},
                    )
                )

    return QueryCost
