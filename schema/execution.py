"""A leaner execution of plain fields.

graphql-core resolves every field through the same machinery: a Path, a ResolveInfo, the
resolver call chain, a generic completion. On a 50-item queue page that is ~1,400 fields and
most of the request's time. A plain attribute field (one Strawberry itself resolves with its
basic resolver: no resolver function, no arguments, no permission classes or other field
extensions, never reads `info`) needs none of it, and neither does `__typename`. Every other
field, a guarded one above all, runs as graphql-core runs it (`_basic_field`).

Each field gets a plan once per selection. A plain field's *entry* says how to complete it:
read the attribute, then serialize a leaf exactly as `complete_leaf_value` does (enum members
looked up by identity), or complete an object with its selection's *builder*. A selection whose
fields are all plain, all the way down (the queue's edges: each edge, its handoff, the handoff's
session, people and assessment), has a builder: a function written out for it (`_builder`) that
makes the whole value with attribute reads, serializers and dicts, and nothing else.

Anything odd on the way (an exception, a null in a non-null place, a value that does not
serialize, a list that is not a list or tuple) abandons the value before anything is consumed,
and the field is completed again the ordinary way, which reports it exactly as graphql-core
does. Plain reads have no side effects: reading twice costs time, and only when something is
wrong. The ordinary way: a plain object or list of plain objects whose selection reaches a
resolver is completed here as `complete_object_value` does, errors handed to graphql-core's own
`handle_field_error`, so null propagation is unchanged; everything else (resolvers, arguments,
abstract types) goes through graphql-core's `execute_field`. With middleware, nothing here
applies.

Plans are made once per document, not per request, when no variable can change them (`_static`:
no directive below the fields); the others are made per request, without builders.
"""

from __future__ import annotations

from collections.abc import Callable
from keyword import iskeyword
from operator import attrgetter
from typing import Any

from graphql import (
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    TypeNameMetaFieldDef,
    is_leaf_type,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_string
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from schema.documents import shared_plans as shared_plans_of
from vendor_internals import strawberry as strawberry_internals

SLOW, LEAF, ENUM, LEAF_LIST, OBJECT, OBJECT_LIST, TYPENAME = range(7)
_SLOW = (SLOW, None, None, False, False, None, None)
# Values of exactly these types serialize to themselves: no call needed.
_SELF_SERIALIZING = {serialize_string: str, serialize_id: str, serialize_boolean: bool}
# Plans shared by the requests that run the same document (the parse cache hands them the same
# nodes), kept with the cached document (schema.documents), so they go when it goes.
_PLANS_PER_DOCUMENT = 1024


class _Odd(Exception):
    """A builder met a value only the ordinary path answers properly."""


def _probe(*_: Any) -> None:
    return None


def _no_middleware(manager) -> bool:
    """Strawberry always passes a manager; an empty one hands a resolver back unwrapped."""
    return manager is None or manager.get_field_resolver(_probe) is _probe


def _unwrap(graphql_type) -> tuple[Any, bool]:
    if isinstance(graphql_type, GraphQLNonNull):
        return graphql_type.of_type, True
    return graphql_type, False


def _enum_names(leaf) -> dict[int, str] | None:
    """A Strawberry enum's GraphQL names by the id of its members: its serialize compares the
    value with each member's in turn. The members live as long as their class (the type keeps
    it), so their ids stay theirs, and an id found here is the member's."""
    wrapped = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or wrapped is None:
        return None
    names: dict[int, str] = {}
    for name, value in leaf.values.items():
        for member in wrapped:
            if member.value == value.value:
                names.setdefault(id(member), name)  # the first name, as Strawberry answers
    return names


def _serializer(leaf) -> Any:
    """The leaf type's serialize, with enum members looked up by identity."""
    names = _enum_names(leaf)
    serialize = leaf.serialize
    if names is None:
        return serialize

    def serialize_member(value: Any) -> Any:
        name = names.get(id(value))
        return name if name is not None else serialize(value)

    return serialize_member


def _self_type(leaf) -> type | None:
    serialize = getattr(leaf, "coerce_output_value", None)
    return _SELF_SERIALIZING.get(serialize) if leaf.serialize is serialize else None


def _basic_field(field_def: GraphQLField, converter) -> StrawberryField | None:
    """The field's definition if Strawberry resolves it with its basic resolver (it asks
    `is_basic_field`: no resolver function, no field extensions, and so no permission classes,
    which are one), and no exception handler of the schema applies to it: it reads an
    attribute of its source and nothing else. None for any other field, which must run its
    guards and extensions: `_is_default` alone says only that there is no resolver function."""
    definition = strawberry_internals.definition(field_def)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    # (Strawberry annotates is_default_resolver for a function; it reads an attribute of any value.)
    if not is_default_resolver(field_def.resolve) or definition.default_resolver is not getattr:  # type: ignore[arg-type]
        return None
    if converter is None or strawberry_internals.has_exception_handlers(converter, definition):
        return None
    return definition


def _field_plan(field_def: GraphQLField | None, node, converter) -> tuple:
    """(kind, getter, serialize or enum names or object type, non-null, item non-null,
    self-serializing type or enum class, attribute) for a plain field."""
    if field_def is TypeNameMetaFieldDef:
        return (TYPENAME, None, None, True, False, None, None)
    if field_def is None or node.arguments or field_def.args:
        return _SLOW
    definition = _basic_field(field_def, converter)
    if definition is None:
        return _SLOW
    attribute = definition.python_name
    getter = attrgetter(attribute)
    inner, non_null = _unwrap(field_def.type)
    if is_leaf_type(inner):
        names = _enum_names(inner)
        if names is not None:  # the enum class rides along: it keeps the members (and ids)
            # (_enum_names found Strawberry's enum type, which carries wrapped_cls.)
            return (ENUM, getter, names, non_null, False, inner.wrapped_cls, attribute)  # type: ignore[union-attr]
        return (LEAF, getter, _serializer(inner), non_null, False, _self_type(inner), attribute)
    if isinstance(inner, GraphQLList):
        item, item_non_null = _unwrap(inner.of_type)
        if is_leaf_type(item):
            serialize, same = _serializer(item), _self_type(item)
            return (LEAF_LIST, getter, serialize, non_null, item_non_null, same, attribute)
        if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            return (OBJECT_LIST, getter, item, non_null, item_non_null, None, attribute)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return (OBJECT, getter, inner, non_null, False, None, attribute)
    return _SLOW


class DeskExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast = _no_middleware(self.middleware_manager)
        # Strawberry's converter, which decided each field's resolver; without it (not a
        # Strawberry schema) no field counts as basic.
        self._converter = strawberry_internals.converter(self.schema)
        # Per request: graphql-core memoizes (and keeps alive) each grouped field set for the
        # whole execution, and so do we, so an id here can never be reused by another.
        self._plans: dict[int, tuple[Any, list, Callable | None]] = {}

    def _plan(self, parent_type, grouped_field_set) -> tuple[Any, list, Callable | None]:
        """(the field set, each field's plan and entry, the selection's builder or None)."""
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached
        # Shared with the document's other requests while the parse cache holds it, and gone
        # with it; a document it does not hold was parsed for this request alone.
        shared_plans = shared_plans_of(self.operation)
        nodes = tuple(details.node for group in grouped_field_set.values() for details in group)
        # Keyed by ids. An entry keeps the objects themselves alive, so while it is there no
        # other object can have their ids: a hit is a hit on these very nodes.
        key = (id(parent_type), *map(id, nodes))
        shared = shared_plans.get(key) if shared_plans is not None else None
        if shared_plans is None:
            fields, builder = self._compile(parent_type, grouped_field_set, False)
        elif shared is None:
            static = self._static(grouped_field_set)
            fields, builder = self._compile(parent_type, grouped_field_set, static)
            if len(shared_plans) >= _PLANS_PER_DOCUMENT:
                shared_plans.pop(next(iter(shared_plans)), None)  # the oldest
            # Not static: remembered as such, so that the next request skips the walk.
            shared_plans[key] = (parent_type, nodes, static, fields if static else None, builder)
        elif shared[2]:
            fields, builder = shared[3], shared[4]
        else:
            fields, builder = self._compile(parent_type, grouped_field_set, False)
        plan = [
            (response_name, group, *field)
            for (response_name, group), field in zip(grouped_field_set.items(), fields, strict=True)
        ]
        cached = self._plans[id(grouped_field_set)] = (grouped_field_set, plan, builder)
        return cached

    def _compile(self, parent_type, grouped_field_set, static: bool) -> tuple[list, Any]:
        """Each field's (definition, plan, entry or None), and the builder if every field has an
        entry and the plan is shared (writing a builder costs more than one request saves)."""
        fields = []
        for response_name, group in grouped_field_set.items():
            node = group[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            field_plan = _field_plan(field_def, node, self._converter)
            entry = self._entry(parent_type, response_name, group, field_plan)
            fields.append((field_def, field_plan, entry))
        entries = tuple(field[2] for field in fields)
        plain = static and None not in entries
        return fields, _builder(entries) if plain else None

    def _static(self, grouped_field_set) -> bool:
        """Whether a plan for these fields holds whatever the variables: their own directives
        are evaluated (they are in the set, or not), and nothing below them has any."""
        seen: set[str] = set()
        for group in grouped_field_set.values():
            for details in group:
                if details.defer_usage is not None or details.fragment_variable_values:
                    return False
                below = details.node.selection_set
                if below is not None and not self._directive_free(below, seen):
                    return False
        return True

    def _directive_free(self, selection_set, seen: set[str]) -> bool:
        for selection in selection_set.selections:
            if selection.directives:
                return False
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen:
                    continue
                seen.add(name)
                fragment = self.fragment_definitions.get(name)
                if fragment is None or fragment.directives or fragment.variable_definitions:
                    return False
                below = fragment.selection_set
            else:
                below = selection.selection_set
            if below is not None and not self._directive_free(below, seen):
                return False
        return True

    def _entry(self, parent_type, response_name, details, field_plan) -> tuple | None:
        """(response name, kind, attribute, getter, serialize or enum names or builder or
        typename, non-null, item non-null, self-serializing type) for a plain field; None for
        one to complete the ordinary way."""
        kind, getter, arg, non_null, item_non_null, same, attribute = field_plan
        if kind == SLOW:
            return None
        if kind == TYPENAME:
            arg = parent_type.name
        elif kind in (OBJECT, OBJECT_LIST):
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(arg, details)
            if new_defer_usages:
                return None
            arg = self._plan(arg, grouped_field_set)[2]
            if arg is None:
                return None
        return (response_name, kind, attribute, getter, arg, non_null, item_non_null, same)

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if not self._fast:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        _, plan, builder = self._plan(parent_type, grouped_field_set)
        if builder is not None and position_context is None:
            try:
                return builder(source_value)
            except Exception:
                pass  # field by field, the ordinary way where needed
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for response_name, details, field_def, field_plan, entry in plan:
                if entry is not None and position_context is None:
                    value = _plain_field(entry, source_value)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                kind = field_plan[0]
                field_path = Path(path, response_name, parent_type.name)
                if kind == OBJECT:
                    result = self._complete_plain_object(
                        field_plan, field_def, details, field_path, source_value, position_context
                    )
                elif kind == OBJECT_LIST:
                    result = self._complete_plain_object_list(
                        field_plan, field_def, details, field_path, source_value, position_context
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
        _, getter, object_type, non_null, *_ = plan
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
        return self._await_item(completed, return_type, details, path)

    def _complete_plain_object_list(self, plan, field_def, details, path, source, position):
        """A list of plain objects, each item completed as `_complete_plain_object` completes
        one and its errors handled as `complete_list_item_value` does. A null item or a value
        that is no list hands the field to execute_field."""
        _, getter, object_type, non_null, *_ = plan
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


def _plain_field(entry: tuple, source: Any) -> Any:
    """One field's completed value (what a builder does for each of its fields), or Undefined
    to complete it the ordinary way."""
    _, kind, _, getter, arg, non_null, item_non_null, same = entry
    if kind == TYPENAME:
        return arg
    try:
        value = getter(source)
        if value is None:
            return Undefined if non_null else None
        if kind == LEAF:
            return value if type(value) is same else _leaf(arg, value)
        if kind == ENUM:
            return arg[id(value)]  # not a member: KeyError, the ordinary path
        if kind == OBJECT:
            return arg(value)
        if type(value) is not list and type(value) is not tuple:
            return Undefined  # before iterating: a generator must reach the ordinary path unread
        if kind == OBJECT_LIST:
            return [arg(item) for item in value]
        return [_leaf_item(arg, item, item_non_null, same) for item in value]
    except Exception:
        return Undefined


def _leaf(serialize, value: Any) -> Any:
    serialized = serialize(value)
    if serialized is None or serialized is Undefined:
        raise _Odd
    return serialized


def _leaf_item(serialize, item: Any, non_null: bool, same: type | None) -> Any:
    if item is None:
        if non_null:
            raise _Odd
        return None
    return item if type(item) is same else _leaf(serialize, item)


def _builder(shape: tuple) -> Callable[[Any], dict[str, Any]]:
    """A function completing a value for a selection whose fields all have entries: what
    `_plain_field` does for each, written out one field after another, so that a page's ~1,400
    fields cost no loop, tuple unpacking or dispatch on their kind. Raises where `_plain_field`
    answers Undefined. Only names from the schema and the document reach the source, as string
    literals (repr) or as attribute names that are identifiers."""
    namespace: dict[str, Any] = {"Odd": _Odd, "leaf": _leaf, "leaf_item": _leaf_item}
    lines = ["def build(source):", "    if source is None:  # a list's item", "        raise Odd"]
    items = []
    for i, (name, kind, attribute, getter, arg, non_null, item_non_null, same) in enumerate(shape):
        if kind == TYPENAME:
            items.append(f"{name!r}: {arg!r}")
            continue
        value = f"value{i}"
        namespace.update({f"getter{i}": getter, f"arg{i}": arg, f"same{i}": same})
        if attribute.isidentifier() and not iskeyword(attribute):
            lines.append(f"    {value} = source.{attribute}")
        else:
            lines.append(f"    {value} = getter{i}(source)")
        if kind == LEAF:
            complete = [f"if type({value}) is not same{i}:", f"    {value} = leaf(arg{i}, {value})"]
        elif kind == ENUM:
            complete = [f"{value} = arg{i}[id({value})]"]
        elif kind == OBJECT:
            complete = [f"{value} = arg{i}({value})"]
        else:
            complete = [
                f"if type({value}) is not list and type({value}) is not tuple:",
                "    raise Odd",
            ]
            if kind == OBJECT_LIST:
                complete.append(f"{value} = [arg{i}(item) for item in {value}]")
            else:
                each = f"leaf_item(arg{i}, item, {item_non_null!r}, same{i})"
                complete.append(f"{value} = [{each} for item in {value}]")
        if non_null:
            lines += [f"    if {value} is None:", "        raise Odd"]
            lines += [f"    {line}" for line in complete]
        else:
            lines.append(f"    if {value} is not None:")
            lines += [f"        {line}" for line in complete]
        items.append(f"{name!r}: {value}")
    lines.append(f"    return {{{', '.join(items)}}}")
    exec("\n".join(lines), namespace)  # names are safe to write out: see the docstring
    return namespace["build"]


class MinimalExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, except that a basic field (see `_basic_field`) whose type is a
    leaf is read straight from its source and completed by graphql-core's `complete_leaf_value`:
    no ResolveInfo, no resolver chain. A null in a non-null field, an exception or a value that
    does not serialize goes the ordinary way (`execute_field`), which reads it again (a plain
    read has no side effect) and reports it as graphql-core does. With middleware, nothing
    here applies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._converter = (
            strawberry_internals.converter(self.schema)
            if _no_middleware(self.middleware_manager)
            else None
        )
        self._leaves: dict[tuple[Any, str], tuple[str, Any, bool] | None] = {}

    def _leaf(self, parent_type, name: str) -> tuple[str, Any, bool] | None:
        """(attribute, leaf type, non-null) for a basic leaf field; None for any other."""
        key = (parent_type, name)
        if key in self._leaves:
            return self._leaves[key]
        field_def = self.schema.get_field(parent_type, name)
        leaf = None
        if field_def is not None and not field_def.args:
            definition = _basic_field(field_def, self._converter)
            inner, non_null = _unwrap(field_def.type)
            if definition is not None and is_leaf_type(inner):
                leaf = (definition.python_name, inner, non_null)
        self._leaves[key] = leaf
        return leaf

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        node = field_details_list[0].node
        leaf = self._leaf(parent_type, node.name.value)
        if leaf is not None and not node.arguments:
            attribute, leaf_type, non_null = leaf
            try:
                value = getattr(source, attribute)
                if value is not None:
                    return self.complete_leaf_value(leaf_type, value)
                if not non_null:
                    return None
            except Exception:
                pass  # the ordinary way reports it
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


class BuildersExecutionContext(DeskExecutionContext):
    """The lean executor with its builders only: a selection whose fields are all plain all the
    way down, in a document the parse cache holds, is built by its builder; anything else runs
    as graphql-core runs it (no per-field entries, no plain-object completion)."""

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if self._fast and position_context is None:
            builder = self._plan(parent_type, grouped_field_set)[2]
            if builder is not None:
                try:
                    return builder(source_value)
                except Exception:
                    pass  # the ordinary way, which reports it
        return StrawberryGraphQLCoreExecutionContext.execute_fields(
            self, parent_type, source_value, path, grouped_field_set, position_context
        )
