"""The schema object (exported to schema.graphql by `handoff-desk export-schema`)."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.errors import MaskUnexpectedErrors
from schema.execution import DeskExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=DeskExecutionContext,
    extensions=[
        MaskUnexpectedErrors,
        # Parse and validation are paid once per distinct document, not per request.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ],
)
