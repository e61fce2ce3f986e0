"""A cached answer is never served after a change that affects it: its unit-tier tests (the whole
story: tests/api/test_query_cache.py)."""

import pytest

from schema.schema import schema
from tests.support.query_cache import SCENARIOS

pytestmark = pytest.mark.anyio


def test_every_mutation_has_a_cache_scenario():
    mutations = set(schema._schema.mutation_type.fields)  # the GraphQL names, from graphql-core
    assert mutations == set(SCENARIOS), f"add a cache scenario for: {mutations - set(SCENARIOS)}"
