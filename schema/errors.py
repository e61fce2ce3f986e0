"""Unexpected errors reach the client as a short message with an id; the log has the rest."""

from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("handoff_desk.errors")


def is_unexpected(error: GraphQLError) -> bool:
    """Desk errors, parse/validation errors and bad variables are the client's to read."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error %s at %s",
            error_id,
            error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=f"Internal error (id {error_id}); it has been logged.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "errorId": error_id},
        )
