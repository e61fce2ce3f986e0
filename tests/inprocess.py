"""The app served by uvicorn inside the test's own event loop: real sockets (HTTP and websockets)
without the start-up cost of a server process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from tests.server import free_port


@dataclass(frozen=True)
class InProcessServer:
    url: str
    app: Starlette


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[InProcessServer]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                await asyncio.sleep(0.01)
        yield InProcessServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        await task
