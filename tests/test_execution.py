"""The lean execution of plain fields answers exactly as graphql-core does: same data, same
errors at the same paths, same null propagation. Differential: one schema, two executors."""

import enum
from datetime import UTC, datetime

import pytest
import strawberry

from schema.execution import DeskExecutionContext

pytestmark = pytest.mark.anyio


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


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
        )


plain = strawberry.Schema(query=Query)
lean = strawberry.Schema(query=Query, execution_context_class=DeskExecutionContext)

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
}


def _answer(result) -> tuple:
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("name", list(QUERIES))
async def test_the_lean_executor_answers_as_graphql_core_does(name):
    query = QUERIES[name]
    expected = _answer(await plain.execute(query))
    assert _answer(await lean.execute(query)) == expected


async def test_the_cases_cover_errors_and_nulls():
    # Guard against a table that quietly stopped exercising what it is for.
    errors = [(await plain.execute(q)).errors for q in QUERIES.values()]
    assert sum(1 for e in errors if e) >= 7
