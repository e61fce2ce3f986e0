"""uvicorn's internals: the only place the desk uses them.

Checked against uvicorn 0.54 (`TESTED`, the bound in pyproject.toml);
tests/unit/test_vendor_internals.py fails, naming this module, if an upgrade moves any of them.

uvicorn documents `Config` and `Server.run`/`serve`; what happens between is its own.
- `Server.startup(sockets)` and `Server.shutdown(sockets)`: the steps `serve` runs; overridden
  here to give a subclass a hook after startup and one at the start of shutdown.
- `Server.servers`: the listening asyncio servers startup made. Shutdown closes them first, so
  no new connection arrives while the hook runs (uvicorn closes them too, a moment later).
"""

from __future__ import annotations

import socket

import uvicorn

TESTED = "uvicorn>=0.54.0,<0.55"


class Server(uvicorn.Server):
    """uvicorn's Server, with `after_startup` and `before_shutdown` for a subclass."""

    def after_startup(self) -> None:
        """Runs once startup is done (the app's lifespan started, the sockets listening)."""

    async def before_shutdown(self) -> None:
        """Runs as shutdown starts: new connections are refused, open ones are still open."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.after_startup()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # first no new connections: none comes back here
            server.close()
        await self.before_shutdown()
        await super().shutdown(sockets)
