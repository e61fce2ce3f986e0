"""Every query and mutation of the schema, for each role: allowed, or refused by the role rules
(`resolvers/permissions.py`) with NotPermitted and nothing written.

The table below must have a row for every operation the schema has: a new operation without
one fails `test_every_operation_has_a_row`.
"""

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
