"""A leaner execution of plain fields.

graphql-core resolves every field through the same machinery: a Path, a ResolveInfo, the
resolver call chain, a generic completion. On a 50-item queue page that is ~1,400 fields and
most of the request's time. A plain attribute field (Strawberry's basic resolver: no resolver
function, no arguments, never reads `info`) needs none of it:

- of scalar or enum type, or a list of them: read the attribute and serialize it exactly as
  `complete_leaf_value` does;
- of an object type without `is_type_of`: read it and complete it exactly as
  `complete_object_value` does (`collect_and_execute_subfields`), errors handed to graphql-core's
  own `handle_field_error`, so null propagation is unchanged.

Each object's fields are executed from a plan made once per request and selection. Everything
else (resolvers, lists of objects, arguments, abstract types, and every odd value: a null in a
non-null field, a value that does not serialize) goes through graphql-core's `execute_field`,
unchanged. With middleware present, nothing here applies.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
SLOW, LEAF, LEAF_LIST, OBJECT, OBJECT_LIST = range(5)


def _probe(*_: Any) -> None:
    return None


def _no_middleware(manager) -> bool:
    """Strawberry always passes a manager; an empty one hands a resolver back unwrapped."""
    return manager is None or manager.get_field_resolver(_probe) is _probe


def _unwrap(graphql_type) -> tuple[Any, bool]:
    if isinstance(graphql_type, GraphQLNonNull):
        return graphql_type.of_type, True
    return graphql_type, False


def _serializer(leaf) -> Any:
    """The leaf type's serialize, with enum members looked up by identity: Strawberry's enum
    serialize compares the value with each member's in turn."""
    wrapped = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or wrapped is None:
        return leaf.serialize
    names = {
        member: name
        for name, value in leaf.values.items()
        for member in wrapped
        if member.value == value.value
    }
    serialize = leaf.serialize

    def serialize_member(value: Any) -> Any:
        name = names.get(value) if type(value) is wrapped else None
        return name if name is not None else serialize(value)

    return serialize_member


def _field_plan(field_def: GraphQLField | None, node) -> tuple:
    """(kind, getter, serialize or type, non-null, item non-null) for a plain attribute field."""
    if field_def is None or node.arguments or field_def.args:
        return (SLOW,)
    if not getattr(field_def.resolve, "_is_default", False):
        return (SLOW,)
    definition = (field_def.extensions or {}).get(_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return (SLOW,)
    getter = attrgetter(definition.python_name)
    inner, non_null = _unwrap(field_def.type)
    if is_leaf_type(inner):
        return (LEAF, getter, _serializer(inner), non_null, False)
    if isinstance(inner, GraphQLList):
        item, item_non_null = _unwrap(inner.of_type)
        if is_leaf_type(item):
            return (LEAF_LIST, getter, _serializer(item), non_null, item_non_null)
        if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            return (OBJECT_LIST, getter, item, non_null, item_non_null)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return (OBJECT, getter, inner, non_null, False)
    return (SLOW,)


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
            plan.append(
                (response_name, field_details_list, field_def, _field_plan(field_def, node))
            )
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
            for response_name, details, field_def, plan in self._plan(
                parent_type, grouped_field_set
            ):
                kind = plan[0]
                if kind in (LEAF, LEAF_LIST):
                    value = _read_leaves(plan, source_value)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                if kind == OBJECT:
                    result = self._complete_plain_object(
                        plan, field_def, details, field_path, source_value, position_context
                    )
                elif kind == OBJECT_LIST:
                    result = self._complete_plain_object_list(
                        plan, field_def, details, field_path, source_value, position_context
                    )
                else:
                    result = Undefined
                if result is Undefined:
                    result = self.execute_field(
                        parent_type, source_value, details, field_path, position_context
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

    def _complete_plain_object(self, plan, field_def, details, path, source, position_context):
        """What execute_field does for a resolver that returned `value` at once, minus the
        ResolveInfo nobody reads. Undefined hands the field to execute_field."""
        _, getter, object_type, non_null, _ = plan
        try:
            value = getter(source)
        except Exception:
            return Undefined
        if value is None:
            return Undefined if non_null else None
        return_type = field_def.type
        try:
            completed = self._subfields(object_type, details, path, value, position_context)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)  # raises if non-null
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, details, path)
                return None

        return await_completed()

    def _complete_plain_object_list(self, plan, field_def, details, path, source, position):
        """A list of plain objects, each item completed as `_complete_plain_object` completes
        one and its errors handled as `complete_list_item_value` does. A null item or a value
        that is no list hands the field to execute_field."""
        _, getter, object_type, non_null, _ = plan
        try:
            value = getter(source)
        except Exception:
            return Undefined
        if value is None:
            return Undefined if non_null else None
        if not isinstance(value, list | tuple) or any(item is None for item in value):
            return Undefined
        return_type = field_def.type
        item_type = _unwrap(return_type)[0].of_type
        completed: list[Any] = []
        awaitable: list[int] = []
        try:
            for index, item in enumerate(value):
                item_path = Path(path, index, None)
                try:
                    result = self._subfields(object_type, details, item_path, item, position)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    result = None
                if self.is_awaitable(result):
                    result = self._await_item(result, item_type, details, item_path)
                    awaitable.append(index)
                completed.append(result)
        except Exception as raw_error:  # a non-null item failed: the list fails
            if awaitable:
                self.settle_in_background([completed[i] for i in awaitable])
            self.handle_field_error(raw_error, return_type, details, path)
            return None
        if not awaitable:
            return completed

        async def await_items() -> list | None:
            try:
                awaited = await gather_with_cancel(*(completed[i] for i in awaitable))
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, details, path)
                return None
            for index, result in zip(awaitable, awaited, strict=True):
                completed[index] = result
            return completed

        return await_items()

    async def _await_item(self, result, item_type, details, item_path) -> Any:
        try:
            return await result
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, item_path)
            return None

    def _subfields(self, object_type, details, path, value, position_context):
        """collect_and_execute_subfields without the incremental-delivery wrapper, which only
        matters for @defer (never with a position context or new defer usages here)."""
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, details)
        if new_defer_usages or position_context is not None:
            return self.collect_and_execute_subfields(
                object_type, details, path, value, position_context
            )
        return self.execute_fields(object_type, value, path, grouped_field_set, None)


def _read_leaves(plan: tuple, source: Any) -> Any:
    """The serialized value, or Undefined to hand the field to graphql-core (errors, nulls in
    non-null places), which resolves it again and reports it as it always does."""
    kind, getter, serialize, non_null, item_non_null = plan
    try:
        value = getter(source)
        if value is None:
            return Undefined if non_null else None
        if kind == LEAF:
            return _serialized(serialize, value)
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            return Undefined
        items = []
        for item in value:
            if item is None:
                if item_non_null:
                    return Undefined
                items.append(None)
                continue
            serialized = _serialized(serialize, item)
            if serialized is Undefined:
                return Undefined
            items.append(serialized)
        return items
    except Exception:
        return Undefined


def _serialized(serialize, value: Any) -> Any:
    serialized = serialize(value)
    return Undefined if serialized is None else serialized
