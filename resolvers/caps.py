"""How many items a nested list field returns: a default when the client does not say, and the
most it may ask for. The query cost limit (schema/cost.py) estimates with the same numbers."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.errors import BadInput


@dataclass(frozen=True)
class Cap:
    default: int
    maximum: int


MESSAGES = Cap(default=100, maximum=500)  # a conversation, and a snapshot's copy of one
HANDOFFS = Cap(default=20, maximum=50)  # a session's handoffs
HISTORY = Cap(default=50, maximum=200)  # a handoff's history
NOTES = Cap(default=50, maximum=200)  # a handoff's internal notes


@dataclass(frozen=True, slots=True)
class Window:
    """The first `size` items in order, or (from_end) the last `size`, still in order."""

    size: int
    from_end: bool = False


def window(cap: Cap, first: int | None, last: int | None = None) -> Window:
    if first is not None and last is not None:
        raise BadInput("Give first or last, not both")
    name, size = ("last", last) if last is not None else ("first", first)
    if size is None:
        return Window(cap.default)
    if not 1 <= size <= cap.maximum:
        raise BadInput(f"{name} must be between 1 and {cap.maximum}, got {size}")
    return Window(size, from_end=last is not None)
