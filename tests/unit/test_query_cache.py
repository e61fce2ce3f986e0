"""A cached answer is never served after a change that affects it.

For every mutation of the schema: prime the cache with a query that shows the mutation's effect,
run the mutation, ask again. The cached app must answer exactly what an uncached app over the
same database answers, and the answer must have changed.
"""

import pytest

from schema.schema import schema
from tests.support.query_cache import SCENARIOS

pytestmark = pytest.mark.anyio


def test_every_mutation_has_a_cache_scenario():
    mutations = set(schema._schema.mutation_type.fields)  # the GraphQL names, from graphql-core
    assert mutations == set(SCENARIOS), f"add a cache scenario for: {mutations - set(SCENARIOS)}"
