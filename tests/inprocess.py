"""The app served by uvicorn inside the test's own event loop: real sockets (HTTP and websockets)
without the start-up cost of a server process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import uvicorn
from starlette.applications import Starlette

from handoff_desk.app import create_app
from tests.server import free_port
from tests.waiting import wait_for


@dataclass(frozen=True)
class InProcessServer:
    url: str
    app: Starlette

    async def until_streams(self, count: int) -> None:
        """Until the hub feeds `count` subscription streams (a shared group's members are fed by
        one): their subscribers are then sent every event committed after this."""
        hub = self.app.state.hub

        async def fed() -> bool:
            return hub.open_subscriptions >= count

        await wait_for(fed, f"{count} subscription stream(s)", timeout=10, interval=0.01)


class _Server(uvicorn.Server):
    """Stops as soon as it is told to (uvicorn's own loop looks every 0.1 s, a tenth of a second
    that every test would wait at its end)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.told_to_stop = asyncio.Event()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the default headers, as uvicorn's first tick does
        await self.told_to_stop.wait()

    async def shutdown(self, sockets=None) -> None:
        """uvicorn's shutdown, looking every 5 ms for its connections and tasks to end (uvicorn's
        own sleeps 0.1 s first, then looks every 0.1 s: a tenth of a second at least per test)."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()

        async def ended() -> bool:
            return not self.server_state.connections and not self.server_state.tasks

        await wait_for(ended, "the server's connections and tasks to end", interval=0.005)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


@contextlib.asynccontextmanager
async def serving(app: Starlette, port: int | None = None) -> AsyncIterator[InProcessServer]:
    """`port`: to serve again at the address of a server stopped before (clients reconnect)."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_per_message_deflate=False,
    )
    server = _Server(config)
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
        server.told_to_stop.set()
        await task


# Imported by the modules that use it (the name apart from the fixture's keeps linters quiet).
@pytest.fixture(name="in_process")
async def in_process_fixture(settings) -> AsyncIterator[Callable[..., Awaitable[InProcessServer]]]:
    """Serves the app in the test's process, on the test's database and settings:
    `await in_process(**changes)`, changes being Settings fields (run_workers=True, ...). Each
    server stops after the test. Jobs retry after 0.1 s, as in the servers `serve` starts."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**changes) -> InProcessServer:
            changed = settings.model_copy(update={"retry_base_seconds": 0.1, **changes})
            return await stack.enter_async_context(serving(create_app(changed)))

        yield start
