"""Waiting for something a test expects to happen soon: polled, with a deadline."""

import asyncio
import time

import pytest


async def wait_for(check, what: str, timeout: float = 15.0, interval: float = 0.05):
    """Polls `await check()` every `interval` seconds until it is truthy; fails the test after
    `timeout`. (A check that reads only memory can afford a shorter interval than one that
    queries the database.)"""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
