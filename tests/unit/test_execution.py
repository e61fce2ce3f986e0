"""The lean execution of plain fields answers exactly as graphql-core does: its unit-tier tests
(the whole story: tests/api/test_execution.py)."""

import enum
import json
from datetime import UTC, datetime
from typing import Any, NewType

import pytest
import strawberry
from graphql import execute, get_introspection_query, parse
from graphql.pyutils import is_awaitable
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig

from handoff_desk.settings import Settings, SettingsError
from schema.execution import DeskExecutionContext
from schema.schema import SCALAR_OVERRIDES
from schema.schema import schema as desk
from tests.support.execution import (
    GUARDED,
    guarded_core,
    guarded_lean,
)

pytestmark = pytest.mark.anyio


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


Shout = NewType("Shout", str)


# Serializes None (which graphql-core never asks it to), and "silent" to None (an error).
CONFIG = StrawberryConfig(
    scalar_map={
        Shout: strawberry.scalar(
            name="Shout",
            serialize=lambda value: None if value == "silent" else str(value).upper(),
            parse_value=str,
        )
    }
)


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    colour: Colour
    when: datetime
    tags: list[str]
    loose_tags: list[str | None] | None
    broken: str  # set to None: a null in a non-null field
    wrong_colour: Colour | None  # set to a value that does not serialize
    raw_colour: Colour  # set to the enum's value, not its member
    labels: list[Colour | None]
    loud: Shout
    silent: Shout | None  # set to "silent": serializes to None
    mute: Shout  # set to None
    quiet: Shout | None  # set to None
    flag_text: str  # set to a bool: String serializes it as text
    number_id: strawberry.ID  # set to an int

    @strawberry.field
    def boom(self) -> str:
        raise ValueError("boom")

    @strawberry.field
    def soft_boom(self) -> str | None:
        raise ValueError("soft boom")

    @strawberry.field
    async def later(self) -> str:
        return f"later {self.name}"

    @strawberry.field
    async def later_boom(self) -> str:
        raise ValueError("later boom")


@strawberry.type
class Inner:
    """Plain objects two levels below the resolver that returns them."""

    leaf: Leaf
    leaves: list[Leaf]
    maybe_inner: "Inner | None"


@strawberry.type
class Box:
    leaf: Leaf
    maybe_leaf: Leaf | None
    absent_leaf: Leaf | None
    missing_leaf: Leaf  # set to None
    leaves: list[Leaf]
    bad_tags: list[str]  # holds a None
    holey_leaves: list[Leaf]  # holds a None
    loose_leaves: list[Leaf | None] | None  # holds a None
    colours: list[Colour]
    flowing_tags: list[str]  # a generator
    flowing_bad_tags: list[str]  # a generator holding a None
    flowing_leaves: list[Leaf]  # a generator
    inner: Inner


def _leaf(name: str, **overrides) -> Leaf:
    values = {
        "name": name,
        "maybe": None,
        "colour": Colour.RED,
        "when": datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        "tags": ["a", "b"],
        "loose_tags": ["x", None],
        "broken": None,
        "wrong_colour": "not-a-colour",
        "raw_colour": "blue",
        "labels": [Colour.BLUE, None],
        "loud": "hello",
        "silent": "silent",
        "mute": None,
        "quiet": None,
        "flag_text": True,
        "number_id": 7,
        **overrides,
    }
    return Leaf(**values)


@strawberry.type
class Query:
    @strawberry.field
    def box(self) -> Box:
        return Box(
            leaf=_leaf("one"),
            maybe_leaf=_leaf("two", maybe="here"),
            absent_leaf=None,
            missing_leaf=None,
            leaves=[_leaf("three"), _leaf("four", colour=Colour.BLUE)],
            bad_tags=["ok", None],
            holey_leaves=[_leaf("five"), None],
            loose_leaves=[None, _leaf("six")],
            colours=[Colour.BLUE, Colour.RED],
            flowing_tags=(t for t in ["x", "y"]),
            flowing_bad_tags=(t for t in ["x", None]),
            flowing_leaves=(_leaf(n) for n in ["seven", "eight"]),
            inner=Inner(
                leaf=_leaf("nine"),
                leaves=[_leaf("ten"), _leaf("eleven", colour=Colour.BLUE)],
                maybe_inner=Inner(leaf=_leaf("twelve"), leaves=[], maybe_inner=None),
            ),
        )


plain = strawberry.Schema(query=Query, config=CONFIG)


# As the desk's schema: a document sent again is the same parsed document, and shares plans.
lean = strawberry.Schema(
    query=Query,
    config=CONFIG,
    execution_context_class=DeskExecutionContext,
    extensions=[ParserCache],
)


QUERIES = {
    "plain leaves": "{ box { leaf { name maybe colour when tags looseTags } } }",
    "nested objects and lists": """{ box { leaf { name } maybeLeaf { name maybe }
        absentLeaf { name } leaves { name colour tags } } }""",
    "aliases and repeats": "{ box { a: leaf { name } b: leaf { n: name name } } }",
    "sync error under a plain object": "{ box { maybeLeaf { name boom } } }",
    "sync error, nullable": "{ box { leaf { name softBoom } } }",
    "async field under a plain object": "{ box { leaf { later } leaves { later } } }",
    "async error propagates to the nullable parent": "{ box { maybeLeaf { laterBoom } } }",
    "async error propagates to the root": "{ box { leaf { laterBoom } } }",
    "null in a non-null leaf": "{ box { maybeLeaf { broken } leaf { name } } }",
    "null in a non-null object": "{ box { missingLeaf { name } } }",
    "null in a non-null list item": "{ box { badTags } }",
    "a value that does not serialize": "{ box { leaf { wrongColour } } }",
    "typename": "{ box { __typename leaf { __typename name } } }",
    "a list of enums": "{ box { colours leaves { colour } } }",
    "null item in a non-null list of objects": "{ box { holeyLeaves { name } leaf { name } } }",
    "null item in a nullable list of objects": "{ box { looseLeaves { name colour } } }",
    "sync error in a list item": "{ box { leaves { name boom } } }",
    "nullable sync error in list items": "{ box { leaves { name softBoom } } }",
    "async error in a list item": "{ box { leaves { name laterBoom } maybeLeaf { name } } }",
    "async fields in list items": "{ box { leaves { later name } } }",
    "deep plain objects": """{ box { inner { leaf { name colour when tags }
        leaves { name colour } maybeInner { leaf { name } leaves { name } maybeInner { leaves {
        name } } } } } }""",
    "a bad leaf deep down": """{ box { inner { leaves { name }
        maybeInner { leaf { wrongColour } } } } }""",
    "a null deep down": "{ box { inner { leaf { name } maybeInner { leaf { broken } } } } }",
    "an error deep down": "{ box { inner { leaves { name boom } leaf { name } } } }",
    "typename deep down": "{ box { inner { __typename leaves { __typename name } } } }",
    "a value of the enum, not its member": """{ box { leaf { rawColour }
        inner { leaf { rawColour } } } }""",
    "nullable enums in a list": "{ box { leaf { labels } inner { leaves { labels } } } }",
    "lists given as generators": "{ box { flowingTags flowingLeaves { name tags } } }",
    "a generator holding a null": "{ box { flowingBadTags leaf { name } } }",
    "converted by the scalar": "{ box { leaf { flagText numberId } inner { leaf { flagText } } } }",
    "a custom scalar": "{ box { leaf { loud quiet } inner { leaves { loud quiet } } } }",
    "a custom scalar serializing to null": "{ box { inner { leaf { name silent } } } }",
    "a null in a non-null custom scalar": "{ box { inner { maybeInner { leaf { mute } } } } }",
    "null items asked only their typename": "{ box { looseLeaves { __typename } } }",
    "null in non-null items asked only their typename": "{ box { holeyLeaves { __typename } } }",
    "fragments": """{ box { ...B } } fragment B on Box { leaf { ...L } inner { leaf { ...L } } }
        fragment L on Leaf { name ... on Leaf { colour } }""",
}


def _answer(result) -> tuple:
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("name", list(QUERIES))
async def test_the_lean_executor_answers_as_graphql_core_does(name):
    query = QUERIES[name]
    expected = _answer(await plain.execute(query))
    assert _answer(await lean.execute(query)) == expected
    assert _answer(await lean.execute(query)) == expected  # with the plans it made


DIRECTIVES = """query ($deep: Boolean!, $top: Boolean!) { box {
    leaf @include(if: $top) { name }
    inner { leaf { name colour @skip(if: $deep) }
        leaves { ... on Leaf @include(if: $deep) { tags } }
        maybeInner { ...M @include(if: $deep) } } } }
    fragment M on Inner { leaf { name } }"""


async def test_variables_that_change_the_selection_are_answered_each_time():
    # Plans below a directive cannot be shared: each run must see its own variables.
    for deep, top in [(True, True), (False, True), (True, False), (False, False), (True, True)]:
        variables = {"deep": deep, "top": top}
        expected = _answer(await plain.execute(DIRECTIVES, variable_values=variables))
        assert _answer(await lean.execute(DIRECTIVES, variable_values=variables)) == expected


async def test_documents_parsed_anew_each_time_are_answered_each_as_itself():
    # Without a parser cache every request parses its own document, and a document's nodes are
    # freed when it is done: their ids come back for other documents' nodes.
    schema = strawberry.Schema(
        query=Query, config=CONFIG, execution_context_class=DeskExecutionContext
    )
    queries = [QUERIES[name] for name in ("plain leaves", "deep plain objects", "typename")]
    queries += ["{ box { inner { leaf { colour name } } } }", "{ box { inner { leaf { when } } } }"]
    expected = [_answer(await plain.execute(query)) for query in queries]
    for _ in range(40):
        for query, answer in zip(queries, expected, strict=True):
            assert _answer(await schema.execute(query)) == answer


async def test_the_cases_cover_errors_and_nulls():
    # Guard against a table that quietly stopped exercising what it is for.
    errors = [(await plain.execute(q)).errors for q in QUERIES.values()]
    assert sum(1 for e in errors if e) >= 11


async def test_the_desks_schema_introspects_as_with_graphql_core():
    # Introspection resolves through graphql-core's own types: none of it may take a plain path.
    core = strawberry.Schema(
        query=desk.query,
        mutation=desk.mutation,
        subscription=desk.subscription,
        scalar_overrides=SCALAR_OVERRIDES,
    )
    query = get_introspection_query(descriptions=True)
    expected = _answer(await core.execute(query))
    assert expected[0]["__schema"]["types"]
    assert _answer(await desk.execute(query)) == expected
    assert _answer(await desk.execute(query)) == expected


def _json(result) -> str:
    """The answer as JSON text, in graphql-core's order (no sort_keys: order counts)."""
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return json.dumps(answer)


async def _core_execute(schema: strawberry.Schema, query: str, executor_class=None) -> str:
    result = execute(schema._schema, parse(query), executor_class=executor_class)
    return _json(await result if is_awaitable(result) else result)


@pytest.mark.parametrize("name", list(GUARDED))
async def test_permission_classes_and_field_extensions_run_under_the_lean_executor(name):
    query = GUARDED[name]
    expected = await _core_execute(guarded_core, query)  # graphql-core's own execution context
    assert "the secret" not in expected and "held back" not in expected
    assert await _core_execute(guarded_core, query, DeskExecutionContext) == expected
    assert _json(await guarded_lean.execute(query)) == expected
    assert _json(await guarded_lean.execute(query)) == expected  # with the plans it shares


async def test_the_guarded_cases_are_denied_and_extended():
    # Guard against a table that quietly stopped exercising what it is for.
    answers = [json.loads(await _core_execute(guarded_core, q)) for q in GUARDED.values()]
    assert all(answer.get("errors") for answer in answers)
    assert all(e["message"] == "Not for you" for a in answers for e in a["errors"])
    assert "PSST 1" in json.dumps(answers) and "psst" not in json.dumps(answers)


def test_the_lean_executor_is_a_setting():
    base = {"HANDOFF_TOKEN_SECRET": "test-secret-not-for-production-0123456789"}
    assert Settings.from_env(base).lean_executor is True
    assert Settings.from_env({**base, "HANDOFF_LEAN_EXECUTOR": "false"}).lean_executor is False
    with pytest.raises(SettingsError, match="HANDOFF_LEAN_EXECUTOR"):
        Settings.from_env({**base, "HANDOFF_LEAN_EXECUTOR": "sometimes"})
