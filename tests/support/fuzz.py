"""Fuzzing (hypothesis): what its tests share (the whole story: tests/api/test_fuzz.py)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    is_required_argument,
    is_required_input_field,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from db.models import Handoff
from resolvers import claims
from tests.factories import assessment_of, make_escalation, make_session
from tests.support.tenancy_walk import ROOTS, _id_kind, selection

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def fuzzing(examples: int):
    # Function-scoped fixtures (the app, the database) are made once for all examples: each
    # example leaves them as any client's request would.
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=IN_CI,  # the same examples on every CI run; new ones on each local run
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


KNOWN_CODES = {
    None,
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
}


def assert_clean_errors(errors, where) -> None:
    """Errors a client can read: a known code (parse and validation errors carry none)."""
    if isinstance(errors, dict):
        errors = [errors]
    assert isinstance(errors, list), where
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert code in KNOWN_CODES, where
        assert "Internal error" not in error.get("message", ""), where


def assert_no_traceback(raw: str) -> None:
    assert "Traceback" not in raw and 'File "' not in raw and 'File \\"' not in raw, raw[:2000]


class Rows(dict):
    def __repr__(self) -> str:  # short, in hypothesis's reports
        return "Rows(...)"


@pytest.fixture
async def rows(desk, team) -> dict:
    """Sessions, escalations (one claimed) and users to aim at; tokens of each role."""
    acme = team.acme
    session = await make_session(desk, acme["alex"], "Fuzzed session")
    escalation = await make_escalation(desk, acme["alex"], "Fuzzed escalation")
    claimed = await make_escalation(desk, acme["alex"], "Fuzzed claim")
    assert isinstance(await claims.claim_handoff(desk, acme["sam"].viewer, claimed.id), Handoff)
    return Rows(
        {
            "session": str(session.id),
            "handoff": str(escalation.id),
            "assessment": str((await assessment_of(desk, escalation.id)).id),
            "claimed": str(claimed.id),
            "user": acme["kim"].id,
            "tokens": [acme["dana"].token, acme["alex"].token, acme["vic"].token, None, "x.y.z"],
            "admin": acme["dana"].token,
            "email": acme["kim"].user.email,
        }
    )


PLACEHOLDERS = {
    "session": "<session>",
    "handoff": "<handoff>",
    "user": "<user>",
    "assessment": "<assessment>",
}


def _literal(coordinate: str, path: tuple[str, ...], type_) -> str:
    """A GraphQL literal for a required argument (ids as placeholders)."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        return f"[{_literal(coordinate, path, inner.of_type)}]"
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    if isinstance(inner, GraphQLInputObjectType):
        fields = [
            f"{name}: {_literal(coordinate, (*path, name), f.type)}"
            for name, f in inner.fields.items()
            if is_required_input_field(f)
        ]
        return "{" + ", ".join(fields) + "}"
    if inner.name == "ID":
        return json.dumps(PLACEHOLDERS[_id_kind(coordinate, path)])
    return {"Int": "5", "Float": "1.5", "Boolean": "true"}.get(inner.name, '"fuzz text"')


def _corpus() -> list[str]:
    """A real document for each query and mutation of the schema, and a few written out."""
    documents = []
    for kind in ("Query", "Mutation"):
        for name, field in ROOTS[kind].fields.items():
            arguments = ", ".join(
                f"{arg}: {_literal(f'{kind}.{name}', (arg,), a.type)}"
                for arg, a in field.args.items()
                if is_required_argument(a)
            )
            call = f"{name}({arguments})" if arguments else name
            documents.append(f"{kind.lower()} {{ {call} {selection(field.type, 1)} }}")
    documents += [
        "query Q($f: Int = 3, $s: QueueStatus = ALL) { a: handoffQueue(first: $f, status: $s) "
        "{ edges { cursor node { ...H } } pageInfo { endCursor hasNextPage } } } "
        "fragment H on Handoff { id unread claimedBy @include(if: true) { name } }",
        "{ __schema { queryType { name } types { name fields { name } } } }",
        '{ __type(name: "Handoff") { fields { name type { name kind ofType { name } } } } }',
        "subscription { handoffCreated(after: 0) { seq handoff { id } } }",
    ]
    return documents


CORPUS = _corpus()


TOKEN = re.compile(
    r'"""[\s\S]*?"""|"(?:\\.|[^"\\])*"|\.\.\.|[_A-Za-z][_0-9A-Za-z]*'
    r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\S"
)


SDL = (Path(__file__).parents[2] / "schema.graphql").read_text()


VOCABULARY = [
    *sorted(set(TOKEN.findall(SDL))),
    "9" * 400,
    "-99999999999999999999",
    "1e999",
    "-0",
    "0x1F",
    "NaN",
    "$first",
    "$undefined",
    "@skip(if: true)",
    "@include(if: $x)",
    "@deprecated",
    "...",
    "fragment",
    "on",
    "__typename",
    "__schema",
    "query",
    "mutation",
    "subscription",
    "# a comment",
    '"\\u0000"',
    '"\\ud800"',
    '"\\uDFFF\\uD800"',
    '"""block \\""" string"""',
    '"' + "x" * 5000 + '"',
    "\x00",
    "\ufeff",
    "null",
    "true",
    "[",
    "]",
    "{",
    "}",
]


@st.composite
def mutated_documents(draw) -> str:
    """A real document with tokens deleted, duplicated, swapped, inserted or replaced."""
    tokens = TOKEN.findall(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            tokens = ["{"]
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if edit == "delete":
            del tokens[i : i + draw(st.integers(1, 4))]
        elif edit == "duplicate":
            tokens[i:i] = tokens[i : i + draw(st.integers(1, 8))]
        elif edit == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif edit == "insert":
            tokens.insert(i, draw(st.sampled_from(VOCABULARY)))
        else:
            tokens[i] = draw(st.sampled_from(VOCABULARY))
    return " ".join(tokens)


def _nested(n: int, kind: str) -> str:
    if kind == "selections":
        return "{ me " + "{ id " * n + "}" * (n + 1)
    if kind == "lists":
        return "{ handoffQueue(first: " + "[" * n + "1" + "]" * n + ") { totalCount } }"
    if kind == "objects":
        value = "{a: " * n + "1" + "}" * n
        return f"mutation {{ startSession(input: {value}) {{ __typename }} }}"
    if kind == "fragments":
        spreads = " ".join(f"fragment F{k} on User {{ ...F{k + 1} }}" for k in range(n))
        return f"{{ me {{ ...F0 }} }} {spreads} fragment F{n} on User {{ id }}"
    return "{ " + " ".join(f"a{k}: me {{ id }}" for k in range(n)) + " }"  # aliases


def _number(value) -> str:
    return (
        f"{{ handoffQueue(first: {value}) {{ totalCount }} mySessions(first: {value}) {{ id }} }}"
    )


documents = st.one_of(
    mutated_documents(),
    st.text(st.characters(codec=None), max_size=300),  # any unicode, surrogates included
    st.builds(
        _nested,
        st.integers(1, 3000),
        st.sampled_from(["selections", "lists", "objects", "fragments", "aliases"]),
    ),
    st.builds(
        _number,
        st.one_of(
            st.integers(-(2**80), 2**80),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(["1e309", "-1e309", "0.0", "1.0", "01", "9" * 1000]),
        ),
    ),
)


odd_text = st.one_of(
    st.text(st.characters(codec=None), max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "🙂" * 3, "null", "0", "<session>"]),
    st.integers(0, 60_000).map(lambda n: "x" * n),
)


junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),  # NaN and infinities included: they travel as JSON's NaN/Infinity
        odd_text,
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
