"""Pages of a list with cursors (Relay's connections): `first` items after a cursor, or the
`last` items before one, and whether more lie beyond on each side.

A cursor is opaque to clients: base64 of the list's kind and the item's key (a message's
position, an event's seq, a row's id), so a cursor of one list is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from resolvers.caps import Cap, Window
from resolvers.errors import BadInput

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])

# A column to sort by, or the value (a subquery's, a cursor's) to compare it with.
Sortable = Any

# Ours are under 80 characters; a longer one is refused before it is decoded.
CURSOR_MAX = 200


@dataclass(frozen=True, slots=True)
class PageAsk(Generic[_K]):
    """`size` items after `cursor` (None: from the start), or with `from_end` the last `size`
    before it (None: up to the end), in the list's order either way."""

    size: int
    from_end: bool = False
    cursor: _K | None = None

    @property
    def window(self) -> Window:
        """The rows to read: one more than the page, to know whether more lie beyond."""
        return Window(self.size + 1, self.from_end)


@dataclass(frozen=True, slots=True)
class Page(Generic[_T]):
    items: list[_T]
    has_next_page: bool
    has_previous_page: bool


def cut(rows: Sequence[_T], ask: PageAsk[Any]) -> Page[_T]:
    """The page from rows read with `ask.window` (in order, beyond the cursor)."""
    more = len(rows) > ask.size
    if ask.from_end:
        items = list(rows[len(rows) - ask.size :] if more else rows)
        return Page(items, has_next_page=ask.cursor is not None, has_previous_page=more)
    return Page(
        list(rows[: ask.size]), has_next_page=more, has_previous_page=ask.cursor is not None
    )


def encode(kind: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def _decode(kind: str, cursor: str, name: str, parse: Callable[[str], _K]) -> _K:
    wrong = BadInput(f"{name} is not a cursor of this list")
    if len(cursor) > CURSOR_MAX:
        raise wrong
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
        prefix, _, key = text.partition(":")
        if prefix != kind:
            raise ValueError
        return parse(key)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise wrong from None


def position(key: str) -> int:
    """A position or a seq: a positive whole number that fits a database integer."""
    value = int(key)
    if not 0 < value < 2**63 or key != str(value):
        raise ValueError
    return value


def row_id(key: str) -> uuid.UUID:
    return uuid.UUID(key)


def ask(
    cap: Cap,
    kind: str,
    parse: Callable[[str], _K],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageAsk[_K]:
    """The page a client asked for, checked: `first` (and `after`), or `last` (and `before`)."""
    if (last is not None or before is not None) and (first is not None or after is not None):
        raise BadInput("Give first (and after) or last (and before), not both")
    from_end = last is not None or before is not None
    name, size = ("last", last) if from_end else ("first", first)
    if size is None:
        size = cap.default
    elif not 1 <= size <= cap.maximum:
        raise BadInput(f"{name} must be between 1 and {cap.maximum}, got {size}")
    given = before if from_end else after
    cursor = _decode(kind, given, "before" if from_end else "after", parse) if given else None
    return PageAsk(size, from_end, cursor)


def beyond(
    columns: tuple[Sortable, Sortable],
    at: tuple[Sortable, Sortable],
    *,
    descending: bool,
    before: bool,
) -> ColumnElement[bool]:
    """Rows strictly after (or `before`) the one at `at`, in the order of two columns (the second
    breaks ties), ascending or `descending`. `at` is a cursor row's values: a subquery of the
    same table needs `.correlate(None)`, or it would read the outer query's row."""
    (a, b), (at_a, at_b) = columns, at
    later = descending == before  # whether "beyond" means greater values
    if later:
        return or_(a > at_a, and_(a == at_a, b > at_b))
    return or_(a < at_a, and_(a == at_a, b < at_b))


def keyset(
    stmt: _S,
    columns: tuple[Sortable, Sortable],
    at: tuple[Sortable, Sortable] | None,
    ask: PageAsk[Any],
    *,
    descending: bool,
) -> _S:
    """`stmt` limited to the page's rows (and one more), beyond the cursor's row `at` (its two
    sort values), read from the end for `last`: `in_order` puts them back in the list's order."""
    if at is not None:
        stmt = stmt.where(beyond(columns, at, descending=descending, before=ask.from_end))
    backwards = descending != ask.from_end
    order = [c.desc() if backwards else c.asc() for c in columns]
    return stmt.order_by(*order).limit(ask.size + 1)


def in_order(rows: Sequence[_T], ask: PageAsk[Any]) -> Page[_T]:
    """The page from rows `keyset` read (backwards, for `last`)."""
    return cut(list(reversed(rows)) if ask.from_end else list(rows), ask)
