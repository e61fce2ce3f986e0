"""A leaner execution of plain fields.

graphql-core resolves every field through the same machinery: a Path, a ResolveInfo, the
resolver call chain, a generic completion. On a 50-item queue page that is ~1,100 fields and
most of the request's time. A plain attribute field (Strawberry's basic resolver: no resolver
function, no arguments, never reads `info`) of scalar or enum type needs none of it: read the
attribute and serialize it exactly as `complete_leaf_value` does.

So each object's fields are executed from a plan made once per request and selection: plain
leaves inline, everything else (resolvers, objects, lists, arguments, and every error case,
including a null in a non-null field) by graphql-core's own `execute_field`, unchanged. With
middleware present, nothing here applies.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from graphql import GraphQLField, GraphQLNonNull, is_leaf_type
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


def _probe(*_: Any) -> None:
    return None


def _no_middleware(manager) -> bool:
    """Strawberry always passes a manager; an empty one hands a resolver back unwrapped."""
    return manager is None or manager.get_field_resolver(_probe) is _probe


def _leaf_reader(field_def: GraphQLField | None, node) -> tuple[Any, Any, bool] | None:
    """(getter, leaf type, non-null) for a plain scalar or enum field; None otherwise."""
    if field_def is None or node.arguments or field_def.args:
        return None
    if not getattr(field_def.resolve, "_is_default", False):
        return None
    definition = (field_def.extensions or {}).get(_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    leaf = field_type.of_type if non_null else field_type
    if not is_leaf_type(leaf):
        return None
    return attrgetter(definition.python_name), leaf, non_null


class DeskExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = _no_middleware(self.middleware_manager)
        # Per request: graphql-core memoizes (and keeps alive) each grouped field set for the
        # whole execution, and so do we, so an id here can never be reused by another.
        self._plans: dict[int, tuple[Any, list]] = {}

    def _plan(self, parent_type, grouped_field_set) -> list:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        plan = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            plan.append((response_name, field_details_list, _leaf_reader(field_def, node)))
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, field_details_list, reader in self._plan(
                parent_type, grouped_field_set
            ):
                if reader is not None:
                    value = _read_leaf(reader, source_value)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


def _read_leaf(reader: tuple[Any, Any, bool], source: Any) -> Any:
    """The serialized value, or Undefined to hand the field to graphql-core (errors, nulls in
    non-null fields), which resolves it again and reports it as it always does."""
    getter, leaf, non_null = reader
    try:
        value = getter(source)
        if value is None:
            return Undefined if non_null else None
        serialized = leaf.serialize(value)
    except Exception:
        return Undefined
    if serialized is Undefined or serialized is None:
        return Undefined
    return serialized
