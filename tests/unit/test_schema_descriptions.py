"""The schema documents itself: every type, field, argument, input field and enum value a
client can see has a description, and DateTime says which specification it follows."""

from datetime import UTC, datetime, timedelta, timezone

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    specified_scalar_types,
)

from schema.schema import DATETIME_SPECIFIED_BY, schema
from vendor_internals.strawberry import graphql_schema


def undocumented(wrapped: GraphQLSchema) -> list[str]:
    """Every element of the schema without a description, by its coordinate (Type.field(arg))."""
    missing = []
    for name, type_ in sorted(wrapped.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue  # introspection's and the spec's own
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg_name}:)"
                    for arg_name, arg in field.args.items()
                    if not arg.description
                ]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in type_.fields.items()
                if not field.description
            ]
        elif isinstance(type_, GraphQLEnumType):
            missing += [
                f"{name}.{value_name}"
                for value_name, value in type_.values.items()
                if not value.description
            ]
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description():
    missing = undocumented(graphql_schema(schema))
    assert missing == [], f"{len(missing)} without a description: " + ", ".join(missing)


def test_the_walk_finds_what_is_undocumented():
    """The check itself: an element without a description is named."""
    sdl = """
        "Documented." type Query { "Documented." plain(arg: Int): Thing }
        type Thing { "Documented." kind: Kind }
        "Documented." enum Kind { "Documented." ONE TWO }
    """
    assert undocumented(build_schema(sdl)) == ["Kind.TWO", "Query.plain(arg:)", "Thing"]


def test_datetime_says_which_specification_it_follows():
    datetime_type = graphql_schema(schema).type_map["DateTime"]
    assert isinstance(datetime_type, GraphQLScalarType)
    assert datetime_type.specified_by_url == DATETIME_SPECIFIED_BY
    assert "@specifiedBy(url: " in schema.as_str()


def test_datetime_serializes_and_parses_as_strawberrys_own():
    """Only the description and the URL are ours: a DateTime reads as it always did."""
    datetime_type = graphql_schema(schema).type_map["DateTime"]
    assert isinstance(datetime_type, GraphQLScalarType)
    moment = datetime(2026, 11, 29, 18, 2, 26, 997624, tzinfo=UTC)
    assert datetime_type.serialize(moment) == "2026-11-29T18:02:26.997624+00:00"
    elsewhere = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    assert datetime_type.serialize(elsewhere) == "2026-01-02T03:04:05-05:30"
    assert datetime_type.parse_value("2026-11-29T18:02:26.997624+00:00") == moment
    assert datetime_type.parse_value("2026-11-29T18:02:26.997624Z") == moment
