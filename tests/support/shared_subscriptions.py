"""Subscribers who ask the same thing share one resolution per event: what its tests share (the
whole story: tests/api/test_shared_subscriptions.py)."""

from schema.schema import schema as DESK_SCHEMA
from schema.sharing import graphql_schema
from tests.inprocess import (
    in_process_fixture,  # noqa: F401  (the in_process fixture)
)

SCHEMA = graphql_schema(DESK_SCHEMA)

__all__ = ["DESK_SCHEMA", "SCHEMA"]
