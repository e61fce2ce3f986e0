"""Every query and mutation of the schema, for each role: its unit-tier tests (the whole story:
tests/api/test_roles.py)."""

import pytest

from schema.schema import schema
from tests.support.roles import TABLE

pytestmark = pytest.mark.anyio


def test_every_operation_has_a_row():
    operations = {
        "query": set(schema._schema.query_type.fields),  # the GraphQL names, from graphql-core
        "mutation": set(schema._schema.mutation_type.fields),
    }
    for kind, names in operations.items():
        rows = {name for name, (row_kind, _) in TABLE.items() if row_kind == kind}
        assert names == rows, f"{kind}: add a row for {names - rows}, drop {rows - names}"
