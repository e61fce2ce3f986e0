"""The schema object (exported to schema.graphql by `handoff-desk export-schema`)."""

import strawberry

from schema.errors import MaskUnexpectedErrors
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

schema = strawberry.Schema(
    query=Query, mutation=Mutation, subscription=Subscription, extensions=[MaskUnexpectedErrors]
)
