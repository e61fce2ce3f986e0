"""The schema: `build_schema(limits)` for a server, `schema` (no limits) for the exported SDL."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from schema.cost import query_cost_rule
from schema.documents import BoundedCache, DocumentCache, digest, document_size
from schema.errors import GRAPHQL_VALIDATION_FAILED, MaskUnexpectedErrors
from schema.execution import DeskExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription
from schema.suggestions import HideSuggestions, without_suggestions
from vendor_internals import strawberry as strawberry_internals

# Parsed documents and their validation, per schema, bounded by bytes (schema/documents.py):
# 512 documents as long as a request body would otherwise be 512 bodies and their trees.
PARSE_CACHE_BYTES = 32 * 2**20
VALIDATION_CACHE_BYTES = 16 * 2**20
_MAX_ENTRY_BYTES = 2 * 2**20  # a document at the token limit (2000) takes about 2.4 MB

# Strawberry's own DateTime (serialized with isoformat, parsed as ISO 8601), said so.
DATETIME_SPECIFIED_BY = "https://scalars.graphql.org/andimarek/date-time"
SCALAR_OVERRIDES: Mapping[object, Any] = {
    datetime: strawberry_internals.datetime_scalar(
        description="A moment in time: ISO 8601 with its UTC offset (RFC 3339), in UTC, e.g. "
        "2026-11-29T18:02:26.997624+00:00; fractional seconds only where they are not zero.",
        specified_by_url=DATETIME_SPECIFIED_BY,
    )
}


class DeskSchema(strawberry.Schema):
    """The schema, and the one cache of the documents it is asked (schema/documents.py), which
    the view, the answer cache, the metrics and shared subscriptions read too."""

    documents: DocumentCache


class _ParserCache(SchemaExtension):
    """Execution runs the tree the schema's DocumentCache holds. A document that does not parse
    is left to Strawberry's own parse, which answers its syntax error. (Strawberry's ParserCache
    raised it instead, out of a websocket operation's stream: the client saw the operation
    complete, unexplained, and the log got a traceback.)"""

    def __init__(self, documents: DocumentCache) -> None:
        super().__init__()
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # The token limit is the cache's own (MaxTokensLimiter sets the same for Strawberry's).
        if context.query is not None:  # None: a document given parsed already
            document = self.documents.read(context.query)
            if document.ast is not None:
                context.graphql_document = document.ast
        yield


class _ValidationCache(SchemaExtension):
    """Validation errors per document text and rules (the schema is this cache's own)."""

    def __init__(self, cache: BoundedCache) -> None:
        super().__init__()
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # validation follows a parse that succeeded
        key = digest(
            context.query,
            *sorted(context.parse_options.items()),
            *(id(rule) for rule in context.validation_rules),
        )
        errors = self.cache.get(key)
        if errors is None:
            errors = [
                _validation_failed(error)
                for error in strawberry_internals.validate(
                    context.schema, document, context.validation_rules
                )
            ]
            # Errors point into the document's tree, and so hold all of it.
            self.cache.put(key, errors, document_size(document) if errors else 64)
        context.pre_execution_errors = errors
        yield


def _validation_failed(error: GraphQLError) -> GraphQLError:
    """A validation error's code: its rule's own (QUERY_TOO_COSTLY), else Apollo's name."""
    if "code" not in (error.extensions or {}):
        error.extensions = {**(error.extensions or {}), "code": GRAPHQL_VALIDATION_FAILED}
    return error


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_tokens: int
    max_aliases: int
    introspection: bool = True
    max_cost: int | None = None  # see schema/cost.py


def build_schema(
    limits: Limits | None = None, lean_executor: bool = True, tracer_provider: Any = None
) -> DeskSchema:
    """`lean_executor=False`: plain graphql-core execution (schema/execution.py is the lean one),
    to compare answers with, or to fall back on. `tracer_provider` (OpenTelemetry's): operations
    are traced into it (schema/tracing.py)."""
    extensions: list = [MaskUnexpectedErrors]
    if tracer_provider is not None:
        from schema.tracing import DeskTracing  # imports OpenTelemetry: only when tracing

        # First: its operation span covers the other extensions' work too.
        extensions.insert(0, lambda: DeskTracing(tracer_provider))
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
    max_tokens = limits.max_tokens if limits is not None else None
    documents = DocumentCache(PARSE_CACHE_BYTES, _MAX_ENTRY_BYTES, max_tokens)
    validated = BoundedCache("validation results", VALIDATION_CACHE_BYTES, _MAX_ENTRY_BYTES)
    extensions += [lambda: _ParserCache(documents), lambda: _ValidationCache(validated)]
    executor: type | None = DeskExecutionContext if lean_executor else None
    if limits is not None and not limits.introspection:
        executor = without_suggestions(executor)
    schema = DeskSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=executor,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
    )
    schema.documents = documents
    return schema


schema = build_schema()
