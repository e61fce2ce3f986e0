"""Errors a client can act on, each with a stable `code` (the GraphQL adapter puts it in the
error's extensions: schema/errors.py).

Expected outcomes of a mutation (already claimed, not found, not permitted) are union members,
not errors; these are for a request that cannot be served as asked.
"""


class DeskError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationError(DeskError):
    code = "UNAUTHENTICATED"


class BadInput(DeskError):
    code = "BAD_USER_INPUT"


class NotFoundError(DeskError):
    """What a subscription asked about is not visible to the caller (unknown, or another
    account's). A query answers null and a mutation a NotFound member; a subscription has
    neither, so it ends with this error."""

    code = "NOT_FOUND"


class SubscriberTooSlow(Exception):
    """A subscriber fell so far behind that the server stopped queueing for it."""


class AccessRevoked(Exception):
    """The caller's role or standing changed while a subscription served it."""
