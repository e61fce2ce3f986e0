"""The schema object (exported to schema.graphql by `handoff-desk export-schema`)."""

import strawberry

from schema.errors import MaskUnexpectedErrors
from schema.mutation import Mutation
from schema.query import Query

schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[MaskUnexpectedErrors])
