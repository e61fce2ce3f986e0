"""Tenant walls: its unit-tier tests (the whole story: tests/api/test_tenancy.py)."""

import pytest
from graphql import parse
from sqlmodel import SQLModel

from schema.schema import schema
from tests.support.tenancy import CASES, NOT_FOUND, TABLES

pytestmark = pytest.mark.anyio


def test_every_query_and_mutation_has_a_tenancy_case():
    fields = {
        f"{kind}.{name}"
        for kind, type_ in (
            ("Query", schema._schema.query_type),
            ("Mutation", schema._schema.mutation_type),
        )
        for name in type_.fields
    }
    assert fields == set(CASES), f"add a tenancy case for: {sorted(fields - set(CASES))}"


def test_each_case_calls_the_field_it_is_named_after():
    for name, (kind, query, _) in CASES.items():
        operation_type, field = name.split(".")
        document = parse(query)
        (operation,) = document.definitions
        assert operation.operation.value == operation_type.lower(), name
        called = {selection.name.value for selection in operation.selection_set.selections}
        assert called == {field}, f"the case for {name} calls {sorted(called)}"
        assert kind in ("own", "ids"), name


def test_the_before_and_after_comparison_covers_every_table():
    tables = {table.name for table in SQLModel.metadata.sorted_tables}
    assert set(TABLES) == tables, (
        f"say which rows of these tables belong to an account: {sorted(tables - set(TABLES))}"
    )


def test_every_id_case_says_what_it_must_answer():
    ids_cases = {name for name, (kind, _, _) in CASES.items() if kind == "ids"}
    assert set(NOT_FOUND) == ids_cases
    for name, (query, _) in NOT_FOUND.items():
        assert CASES[name][2]["id"] in ("session", "handoff", "user", "assessment"), name
        assert (
            parse(query).definitions[0].selection_set.selections[0].name.value
            == (name.split(".")[1])
        )
