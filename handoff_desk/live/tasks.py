"""The background tasks a live feed (an account's events, its presence) runs while it is fed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def stop_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancels every task, then waits for each to end: a feed stops only once nothing of it
    runs (one that ended with an error has ended too)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
