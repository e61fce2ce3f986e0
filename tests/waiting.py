"""Waiting for something a test expects to happen soon: polled, with a deadline."""

import asyncio
import time

import pytest


async def wait_for(check, what: str, timeout: float = 15.0):
    """Polls `await check()` every 50 ms until it is truthy; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
