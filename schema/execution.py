"""A leaner execution of plain selections.

graphql-core resolves every field through the same machinery: a Path, a ResolveInfo, the
resolver call chain, a generic completion. On a 50-item queue page that is ~1,400 fields and
most of the request's time. A plain attribute field (one Strawberry itself resolves with its
basic resolver: no resolver function, no arguments, no permission classes or other field
extensions, never reads `info`) needs none of it, and neither does `__typename`.

A selection whose fields are all plain, all the way down (the queue's whole connection: its
counts, page info, edges, each edge's handoff with its session, people and assessment), gets a
*builder*: a function written out for it (`_builder`) that makes the whole value with attribute
reads, graphql-core's `complete_leaf_value` (skipped for a string, ID or boolean already of its
type, enum members looked up by identity) and dicts, and nothing else. Builders are made once
per document, and shared by the requests that run it, while the parse cache holds it
(schema/documents.py) and no variable can change the selection (`_static`: no directive below
the fields). Every other selection, a guarded field's above all, runs as graphql-core runs it;
so does everything under middleware.

Anything odd on the way (an exception, a null in a non-null place, a value that does not
serialize, a list that is not a list or tuple) abandons the value before anything is consumed,
and the selection is executed again graphql-core's way, which reports it exactly as graphql-core
does. Plain reads have no side effects: reading twice costs time, and only when something is
wrong.

Only the builders earn their keep on the queue read (bench/queue_read.py --executor, README
"Benchmarks"): a field-by-field shortcut under them, or one for basic leaf fields alone with
completion left to graphql-core, was measured and removed.
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
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from schema.documents import shared_plans as shared_plans_of
from vendor_internals import strawberry as strawberry_internals
from vendor_internals.graphql_core import serialize_boolean, serialize_id, serialize_string

LEAF, ENUM, LEAF_LIST, OBJECT, OBJECT_LIST, TYPENAME = range(6)
# Values of exactly these types are what these output coercions answer for them: no call needed.
_SELF_SERIALIZING = ((serialize_string, str), (serialize_id, str), (serialize_boolean, bool))
# Builders shared by the requests that run the same document (the parse cache hands them the
# same nodes), kept with the cached document (schema.documents), so they go when it goes.
_PLANS_PER_DOCUMENT = 1024

complete_leaf_value = StrawberryGraphQLCoreExecutionContext.complete_leaf_value


class _Odd(Exception):
    """A builder met a value only graphql-core's way answers properly."""


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
    """A Strawberry enum's GraphQL names by the id of its members: its coercion compares the
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


def _self_type(leaf) -> type | None:
    """The type whose values the leaf's output coercion answers unchanged, if it is one of
    graphql-core's own for String, ID and Boolean."""
    coerce = leaf.coerce_output_value
    return next((same for function, same in _SELF_SERIALIZING if coerce is function), None)


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


class DeskExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Strawberry's converter, which decided each field's resolver. None, and nothing here
        # applies, with middleware (it must see every field) or for a schema Strawberry did not
        # make (no field counts as basic).
        self._converter = (
            strawberry_internals.converter(self.schema)
            if _no_middleware(self.middleware_manager)
            else None
        )
        # Per request: graphql-core memoizes (and keeps alive) each grouped field set for the
        # whole execution, and so do we, so an id here can never be reused by another.
        self._builders: dict[int, tuple[Any, Callable | None]] = {}

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        if self._converter is not None and position_context is None:
            builder = self._builder(parent_type, grouped_field_set)
            if builder is not None:
                try:
                    return builder(source_value)
                except Exception:
                    pass  # graphql-core's way, which reports what was odd
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _builder(self, parent_type, grouped_field_set) -> Callable | None:
        """The selection's builder, or None to execute it graphql-core's way."""
        cached = self._builders.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        builder = self._shared_builder(parent_type, grouped_field_set)
        self._builders[id(grouped_field_set)] = (grouped_field_set, builder)
        return builder

    def _shared_builder(self, parent_type, grouped_field_set) -> Callable | None:
        """Made once per document, for all its requests (writing a builder costs more than one
        request saves): None for a document the parse cache does not hold (its nodes, parsed for
        this request alone, are never met again), and remembered as None for a selection that
        is not static or not plain."""
        shared_plans = shared_plans_of(self.operation)
        if shared_plans is None:
            return None
        nodes = tuple(details.node for group in grouped_field_set.values() for details in group)
        # Keyed by ids. An entry keeps the objects themselves alive, so while it is there no
        # other object can have their ids: a hit is a hit on these very nodes.
        key = (id(parent_type), *map(id, nodes))
        shared = shared_plans.get(key)
        if shared is None:
            builder = None
            if self._static(grouped_field_set):
                entries = tuple(
                    self._entry(parent_type, response_name, group)
                    for response_name, group in grouped_field_set.items()
                )
                if None not in entries:
                    builder = _builder(entries)
            if len(shared_plans) >= _PLANS_PER_DOCUMENT:
                shared_plans.pop(next(iter(shared_plans)), None)  # the oldest
            shared = shared_plans[key] = (parent_type, nodes, builder)
        return shared[2]

    def _static(self, grouped_field_set) -> bool:
        """Whether a builder for these fields holds whatever the variables: their own
        directives are evaluated (they are in the set, or not), and nothing below them has any."""
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

    def _entry(self, parent_type, response_name, group) -> tuple | None:
        """(response name, kind, attribute, getter, leaf type or enum names or builder or
        typename, non-null, item non-null, self-serializing type or enum class) for a plain
        field; None for any other."""
        node = group[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is TypeNameMetaFieldDef:
            return (response_name, TYPENAME, None, None, parent_type.name, True, False, None)
        if field_def is None or node.arguments or field_def.args:
            return None
        definition = _basic_field(field_def, self._converter)
        if definition is None:
            return None
        attribute = definition.python_name
        plain = (response_name, attribute, attrgetter(attribute))
        inner, non_null = _unwrap(field_def.type)
        if is_leaf_type(inner):
            names = _enum_names(inner)
            if names is not None:  # the enum class rides along: it keeps the members (and ids)
                # (_enum_names found Strawberry's enum type, which carries wrapped_cls.)
                return _plain(plain, ENUM, names, non_null, False, inner.wrapped_cls)  # type: ignore[union-attr]
            return _plain(plain, LEAF, inner, non_null, False, _self_type(inner))
        if isinstance(inner, GraphQLList):
            item, item_non_null = _unwrap(inner.of_type)
            if is_leaf_type(item):
                return _plain(plain, LEAF_LIST, item, non_null, item_non_null, _self_type(item))
            if isinstance(item, GraphQLObjectType):
                builder = self._object_builder(item, group)
                if builder is not None:
                    return _plain(plain, OBJECT_LIST, builder, non_null, item_non_null)
        elif isinstance(inner, GraphQLObjectType):
            builder = self._object_builder(inner, group)
            if builder is not None:
                return _plain(plain, OBJECT, builder, non_null, False)
        return None

    def _object_builder(self, object_type, group) -> Callable | None:
        if object_type.is_type_of is not None:  # graphql-core asks it of each value
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, group)
        return None if new_defer_usages else self._builder(object_type, grouped_field_set)


def _plain(plain: tuple, kind: int, arg, non_null: bool, item_non_null: bool, same=None) -> tuple:
    response_name, attribute, getter = plain
    return (response_name, kind, attribute, getter, arg, non_null, item_non_null, same)


def _leaf_item(leaf_type, item: Any, non_null: bool, same: type | None) -> Any:
    if item is None:
        if non_null:
            raise _Odd
        return None
    return item if type(item) is same else complete_leaf_value(leaf_type, item)


def _builder(shape: tuple) -> Callable[[Any], dict[str, Any]]:
    """A function completing a value for a selection whose fields are all plain, written out
    one field after another, so that a page's ~1,400 fields cost no loop, tuple unpacking or
    dispatch on their kind. Raises on anything only graphql-core's way answers properly. Only
    names from the schema and the document reach the source, as string literals (repr) or as
    attribute names that are identifiers."""
    namespace: dict[str, Any] = {
        "Odd": _Odd,
        "leaf": complete_leaf_value,
        "leaf_item": _leaf_item,
    }
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
            complete = [f"{value} = arg{i}[id({value})]"]  # not a member: KeyError
        elif kind == OBJECT:
            complete = [f"{value} = arg{i}({value})"]
        else:
            complete = [  # before iterating: a generator must reach graphql-core's way unread
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
