"""Tenant walls, walked from the schema itself: what its tests share (the whole story:
tests/api/test_tenancy_walk.py)."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
)

from schema.schema import schema as desk_schema
from tests.factories import Tenant
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)

SCHEMA = desk_schema._schema


ROOTS = {
    "Query": SCHEMA.query_type,
    "Mutation": SCHEMA.mutation_type,
    "Subscription": SCHEMA.subscription_type,
}


MARKER = "bsecret"  # in every text of account B, its names and emails included


# Which kind of row an ID argument names: by argument (or input field) name, or, for a name that
# says nothing (`id`), by its coordinate. A new ID argument needs an entry here.
ID_KINDS = {
    "sessionId": "session",
    "handoffId": "handoff",
    "userId": "user",
    "accountId": "account",
    "assessmentId": "assessment",
    "Query.session(id)": "session",
    "Query.handoff(id)": "handoff",
    "Mutation.transferHandoff(input.to)": "user",
    "Mutation.markNotificationsRead(input.ids)": "notification",
    # Node ids name handoffs, sessions and users alike: the walk tries one kind for each field
    # (tests/api/test_nodes.py tries every kind against another account).
    "Query.node(id)": "handoff",
    "Query.nodes(ids)": "user",
}


# Values for arguments that are not ids, where a generated one would say nothing: login is tried
# with B's admin's email (and a wrong password).
OVERRIDES = {"Mutation.login(input.email)": lambda b: b.admin_email}


# A subscription's replay argument: walked live (null) and replaying the whole log (0).
REPLAY = ("after", [None, 0])


NESTING = 2  # object levels below the field's own type in generated selections


@dataclass
class AccountB:
    tenant: Tenant
    ids: dict[str, list[str]] = field(default_factory=dict)  # kind -> B's ids of that kind
    pending: list[str] = field(default_factory=list)  # escalations not assessed yet
    worked_session: str = ""  # the session of a claimed escalation: its claimer adds messages

    @property
    def admin_email(self) -> str:
        return self.tenant["bea"].user.email

    def secrets(self) -> list[str]:
        # (A notification's id is a number, not a secret in any text: its row is, and the
        # before-and-after comparison of B's rows watches it.)
        ids = [i for kind, values in self.ids.items() if kind != "notification" for i in values] + [
            str(self.tenant.account.id)
        ]
        return [MARKER] + [i.lower() for i in ids] + [uuid.UUID(i).hex for i in ids]


class MissingIdKind(Exception):
    pass


def _id_kind(coordinate: str, path: tuple[str, ...]) -> str:
    """The kind of row an ID argument names (`path`: the argument, then input fields)."""
    key = f"{coordinate}({'.'.join(path)})"
    kind = ID_KINDS.get(key) or ID_KINDS.get(path[-1])
    if kind is None:
        raise MissingIdKind(
            f"{key} takes an ID: add {path[-1]!r} (or {key!r}) to ID_KINDS in "
            f"tests/api/test_tenancy_walk.py, saying which rows its id names"
        )
    return kind


@dataclass(frozen=True)
class IdSlot:
    path: tuple[str, ...]
    kind: str
    required: bool


def _required(argument_or_field: GraphQLArgument | GraphQLInputField) -> bool:
    if isinstance(argument_or_field, GraphQLArgument):
        return is_required_argument(argument_or_field)
    return is_required_input_field(argument_or_field)


def _walked(arguments: dict) -> dict:
    """The arguments a call is made of: not the deprecated ones (a mutation's loose arguments of
    before `input`, made into the same input object: tests/api/test_mutation_inputs.py)."""
    return {
        name: a for name, a in arguments.items() if getattr(a, "deprecation_reason", None) is None
    }


def _given(name: str, argument: GraphQLArgument | GraphQLInputField) -> bool:
    """Whether a call always gives the argument: a required one, and a mutation's `input`
    (optional only while its deprecated loose arguments are accepted)."""
    return _required(argument) or (isinstance(argument, GraphQLArgument) and name == "input")


def id_slots(coordinate: str, arguments: dict, prefix: tuple[str, ...] = ()) -> list[IdSlot]:
    """Every ID among the arguments, inside input objects too."""
    slots = []
    for name, argument in _walked(arguments).items():
        path = (*prefix, name)
        named = get_named_type(argument.type)
        required = _given(name, argument)
        if named.name == "ID":
            slots.append(IdSlot(path, _id_kind(coordinate, path), required))
        elif isinstance(named, GraphQLInputObjectType):
            slots += [
                IdSlot(s.path, s.kind, s.required and required)
                for s in id_slots(coordinate, named.fields, path)
            ]
    return slots


def every_field() -> list[tuple[str, str]]:
    return [(kind, name) for kind, root in ROOTS.items() for name in root.fields]


def selection(type_, depth: int) -> str:
    """All scalar fields, objects `depth` levels deeper, `__typename` and a fragment per member."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        # Members' fields of one name but different types may not share a response name.
        types: dict[str, set[str]] = {}
        for member in named.types:
            for name, child in member.fields.items():
                types.setdefault(name, set()).add(str(child.type))
        clashing = {name for name, seen in types.items() if len(seen) > 1}
        members = " ".join(f"... on {m.name} {_fields(m, depth, clashing)}" for m in named.types)
        return f"{{ __typename {members} }}"
    return _fields(named, depth)


def _fields(object_type: GraphQLObjectType, depth: int, alias: set[str] = frozenset()) -> str:
    parts = ["__typename"]
    for name, child in object_type.fields.items():
        if any(_required(a) for a in child.args.values()):
            continue
        asked = f"{name}_{object_type.name}: {name}" if name in alias else name
        if is_leaf_type(get_named_type(child.type)):
            parts.append(asked)
        elif depth > 0:
            parts.append(f"{asked} {selection(child.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


_serial = itertools.count()


OMIT = object()


def generated(coordinate: str, path: tuple[str, ...], type_, b: AccountB):
    """A valid value for an argument that is not an id."""
    override = OVERRIDES.get(f"{coordinate}({'.'.join(path)})")
    if override is not None:
        return override(b)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return [generated(coordinate, path, inner.of_type, b)]
    if isinstance(inner, GraphQLEnumType):
        return list(inner.values)[-1]
    if isinstance(inner, GraphQLInputObjectType):
        return {
            name: generated(coordinate, (*path, name), f.type, b)
            for name, f in inner.fields.items()
            if _required(f)
        }
    name = path[-1]
    values = {
        "String": (
            f"walker{next(_serial)}@walkers.test"
            if name == "email"
            else "walk-password-42"
            if name == "password"
            else f"Walk {name}"
        ),
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "DateTime": datetime.now(UTC).isoformat(),
        "ID": str(uuid.uuid4()),  # replaced by one of B's ids (see `calls`)
    }
    assert inner.name in values, f"{coordinate}({name}): say how to make a {inner.name} value"
    return values[inner.name]


def _set(value: dict, path: tuple[str, ...], new) -> None:
    for step in path[:-1]:
        value = value.setdefault(step, {})
    if new is OMIT:
        value.pop(path[-1], None)
    else:
        value[path[-1]] = new


@dataclass
class Call:
    where: str  # "Mutation.claimHandoff(handoffId=…)"
    document: str
    variables: dict
    asked: set[str]  # B's ids in the request


def calls(kind: str, name: str, b: AccountB) -> list[Call]:
    """Every call of the field: each of B's ids of the right kind in each ID argument (optional
    ones also left out), replay and live for subscriptions; other arguments generated."""
    root = ROOTS[kind]
    field_ = root.fields[name]
    coordinate = f"{kind}.{name}"
    slots = id_slots(coordinate, field_.args)
    choices = [b.ids[s.kind] + ([] if s.required else [OMIT]) for s in slots]
    replay = REPLAY[1] if kind == "Subscription" and REPLAY[0] in field_.args else [OMIT]
    result = []
    for picked in itertools.product(*choices):
        for after in replay:
            values = {
                arg: generated(coordinate, (arg,), a.type, b)
                for arg, a in _walked(field_.args).items()
                if _given(arg, a)
            }
            for slot, value in zip(slots, picked, strict=True):
                _set(values, slot.path, value)
            if after is not OMIT:
                values[REPLAY[0]] = after
            declared = ", ".join(f"${arg}: {field_.args[arg].type}" for arg in values)
            passed = ", ".join(f"{arg}: ${arg}" for arg in values)
            head = f"{kind.lower()}({declared})" if values else kind.lower()
            call = f"{name}({passed})" if values else name
            document = f"{head} {{ {call} {selection(field_.type, NESTING)} }}"
            asked = {v for v in picked if v is not OMIT}
            result.append(Call(f"{coordinate}{json.dumps(values)}", document, values, asked))
    return result
