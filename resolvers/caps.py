"""How many items a nested list field returns: a default when the client does not say, and the
most it may ask for. The query cost limit (schema/cost.py) estimates with the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from resolvers import limits
from resolvers.errors import BadInput

_T = TypeVar("_T")


@dataclass(frozen=True)
class Cap:
    default: int
    maximum: int


MESSAGES = Cap(default=100, maximum=500)  # a conversation, and a snapshot's copy of one
HANDOFFS = Cap(default=20, maximum=50)  # a session's handoffs
HISTORY = Cap(default=50, maximum=200)  # a handoff's history
NOTES = Cap(default=50, maximum=200)  # a handoff's internal notes
# Presence (resolvers/presence.py): an escalation's viewers, and the escalations of one answer.
VIEWERS = Cap(default=20, maximum=20)
VIEWED = Cap(default=200, maximum=200)
# A handoff's assessments: all of them, unless asked for fewer.
ASSESSMENTS = Cap(default=limits.ASSESSMENTS_MAX, maximum=limits.ASSESSMENTS_MAX)


@dataclass(frozen=True, slots=True)
class Window:
    """The first `size` items in order, or (from_end) the last `size`, still in order."""

    size: int
    from_end: bool = False

    def pick(self, items: Sequence[_T]) -> list[_T]:
        """This window of a list held whole."""
        return list(items[-self.size :] if self.from_end else items[: self.size])


def window(cap: Cap, first: int | None, last: int | None = None) -> Window:
    if first is not None and last is not None:
        raise BadInput("Give first or last, not both")
    name, size = ("last", last) if last is not None else ("first", first)
    if size is None:
        return Window(cap.default)
    if not 1 <= size <= cap.maximum:
        raise BadInput(f"{name} must be between 1 and {cap.maximum}, got {size}")
    return Window(size, from_end=last is not None)
