"""Unexpected errors reach the client as a short message with an id; the log has the rest.

One kind of unexpected error is told for what it is: the database could not be reached (a
restart, a failover). The client gets SERVICE_UNAVAILABLE, marked retryable, and retries.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from db.engine import unavailable
from resolvers.errors import DeskError

log = logging.getLogger("handoff_desk.errors")

# `extensions.code` of top-level errors, as Apollo Server names them (and UNAUTHENTICATED,
# FORBIDDEN and NOT_FOUND for desk errors: resolvers/errors.py).
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
UNAVAILABLE_MESSAGE = (
    "The desk cannot reach its database just now (a restart or failover); "
    "retry the request in a few seconds."
)
RETRY_AFTER_SECONDS = 2


def new_error_id() -> str:
    """Said to the client and written in the log line, so that one finds the other."""
    return uuid.uuid4().hex[:12]


def unavailable_extensions(error_id: str) -> dict:
    return {
        "code": SERVICE_UNAVAILABLE,
        "retryable": True,
        "retryAfter": RETRY_AFTER_SECONDS,
        "errorId": error_id,
    }


def code_of(error: GraphQLError) -> str:
    """An error's `extensions.code`; for graphql-core's own errors, which carry none, the one
    Apollo Server gives them: a document that does not parse, variables that do not coerce (an
    error with no path: validation's errors got theirs when made, see schema/schema.py), and a
    field's value the schema could not serve (a path, no cause: the desk's fault)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED
    return BAD_USER_INPUT if error.path is None else INTERNAL_SERVER_ERROR


def with_code(error: GraphQLError) -> GraphQLError:
    """`error`, its `extensions.code` given when it is a request's error (no path) that had
    none. A field's errors (a path) are the desk's errors, coded, or unexpected ones, masked
    with INTERNAL_SERVER_ERROR (MaskUnexpectedErrors): none is left without a code."""
    if error.path is None and "code" not in (error.extensions or {}):
        error.extensions = {**(error.extensions or {}), "code": code_of(error)}
    return error


def is_unavailable_error(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") == SERVICE_UNAVAILABLE


# Strawberry's words for a request that names no operation it can run (no query, an unknown
# operationName, a mutation over GET): the client's mistake, said plainly.
_REQUEST_MISTAKES = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def cause_of(error: GraphQLError) -> Exception | None:
    """The exception a resolver raised, if this error wraps one (graphql-core's `cause`; its
    `original_error` is deprecated since 3.3)."""
    cause = error.cause
    return cause if isinstance(cause, Exception) else None


def is_unexpected(error: GraphQLError) -> bool:
    """Desk errors, parse/validation errors and bad variables are the client's to read."""
    original = cause_of(error)
    return original is not None and not isinstance(
        original, (GraphQLError, DeskError, *_REQUEST_MISTAKES)
    )


def _rewritten(error: GraphQLError) -> bool:
    return is_unexpected(error) or isinstance(cause_of(error), DeskError)


def _document_order(error: GraphQLError) -> tuple[int, int, str]:
    location = error.locations[0] if error.locations else None
    line, column = (location.line, location.column) if location else (0, 0)
    return line, column, ".".join(str(p) for p in error.path or ())


class MaskUnexpectedErrors(MaskErrors):
    """A desk error is told with its code; anything unexpected as a short message with an id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_rewritten)

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        # Fields resolve concurrently, so their errors arrive in whichever order they failed; an
        # answer is told in the document's order, the same every time (the answer cache, and the
        # tests comparing two executors' answers as text, depend on it).
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if isinstance(errors, list):
            for error in errors:
                with_code(error)
            if len(errors) > 1:
                errors.sort(key=_document_order)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        cause = cause_of(error)
        if isinstance(cause, DeskError):
            return GraphQLError(
                message=cause.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                cause=cause,
                extensions={"code": cause.code},
            )
        if unavailable(cause):
            # Expected while the database restarts: one line in the log, no stack trace.
            error_id = new_error_id()
            log.warning(
                "database unavailable (error %s) at %s: %s",
                error_id,
                error.path,
                cause,
            )
            return GraphQLError(
                message=UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=unavailable_extensions(error_id),
            )
        error_id = new_error_id()
        log.error(
            "unexpected error %s at %s",
            error_id,
            error.path,
            exc_info=cause,
        )
        return GraphQLError(
            message=f"Internal error (id {error_id}); it has been logged.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_SERVER_ERROR, "errorId": error_id},
        )
