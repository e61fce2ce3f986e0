"""Ids on the wire are UUIDs; a malformed one is the client's mistake, said plainly."""

import uuid

from resolvers.errors import BadInput


def parse_id(value: str, what: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise BadInput(f"{what} {value!r} is not a valid id") from None
