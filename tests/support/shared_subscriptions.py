"""Subscribers who ask the same thing share one resolution per event; what differs per user
(`unread`) stays per user, and one subscriber leaving or falling behind never affects another."""

from schema.schema import schema as strawberry_schema
from schema.sharing import graphql_schema
from tests.inprocess import (
    in_process_fixture,  # noqa: F401  (the in_process fixture)
)

SCHEMA = graphql_schema(strawberry_schema)
