"""The one queue type of live events: bounded, and cut off rather than grown.

A subscriber reads at its client's pace. One that falls `limit` items behind is not waited for
and not buffered without end: what it has not read is dropped and its next `take()` raises
`FellBehind` (its client reconnects with `after` and catches up from the event log). A plain
deque and one future, rather than an asyncio.Queue: an idle subscription costs a few hundred
bytes less, and two thousand of them are the fan-out's memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class FellBehind(Exception):
    """The reader fell `limit` items behind; what it had not read was dropped."""


class BoundedQueue(Generic[T]):
    __slots__ = ("_behind", "_items", "_limit", "_waiter")

    def __init__(self, limit: int) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._behind = False
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: T, *, always: bool = False) -> None:
        """Queue `item`; past the limit, cut the reader off instead. `always`: an item that ends
        the stream is queued past the limit (it adds one item, once)."""
        if self._behind:
            return
        if len(self._items) >= self._limit and not always:
            self.fall_behind()
            return
        self._items.append(item)
        self._wake()

    def fall_behind(self) -> None:
        """Drop what is queued; the reader's next `take()` raises FellBehind."""
        self._items.clear()
        self._behind = True
        self._wake()

    async def take(self) -> T:
        while not self._items and not self._behind:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._behind:
            raise FellBehind
        return self._items.popleft()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
