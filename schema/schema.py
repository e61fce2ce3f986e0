"""The schema: `build_schema(limits)` for a server, `schema` (no limits) for the exported SDL."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from schema.cost import query_cost_rule
from schema.errors import MaskUnexpectedErrors
from schema.execution import DeskExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from schema.suggestions import HideSuggestions, without_suggestions


class _ParserCache(ParserCache):
    """A document that does not parse is left to Strawberry's own parse, which answers its syntax
    error. ParserCache raised it instead, out of a websocket operation's stream: the client saw
    the operation complete, unexplained, and the log got a traceback."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_tokens: int
    max_aliases: int
    introspection: bool = True
    max_cost: int | None = None  # see schema/cost.py


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    extensions: list = [MaskUnexpectedErrors]
    if limits is not None:
        # The limiters' rules are made once: a rule class made per request would never hit the
        # validation cache, whose key includes the rules.
        rules = [
            *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        ]
        if limits.max_cost is not None:
            rules.append(query_cost_rule(limits.max_cost))
        if not limits.introspection:
            # Nor "Did you mean …?": a way to discover the schema one guess at a time.
            rules += [*DisableIntrospection().validation_rules, HideSuggestions]
        extensions += [
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        ]
    # Parse and validation are paid once per distinct document, not per request.
    extensions += [lambda: _ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)]
    executor = DeskExecutionContext
    if limits is not None and not limits.introspection:
        executor = without_suggestions(executor)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=executor,
        extensions=extensions,
    )


schema = build_schema()
