"""A TCP proxy a test owns, put between the desk and a service to break the path on cue.

`cut()` resets every connection and refuses new ones (a crashed peer, a dropped link);
`blackhole()` keeps connections open but lets nothing through, and accepts new ones that get no
answer (a firewall dropping packets: clients wait for their own timeouts); `restore()` heals
either. It runs its own event loop in a thread, so a test that blocks its loop (starting a
server process) cannot stall the desk's traffic through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from urllib.parse import urlparse

from tests.server import free_port


class TcpProxy:
    def __init__(self, upstream_url: str) -> None:
        parsed = urlparse(upstream_url)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port)
        self._upstream_url = upstream_url
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._sockets: set[asyncio.StreamWriter] = set()  # both ends of every connection
        self._flowing: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The upstream URL with the proxy's address in it."""
        parsed = urlparse(self._upstream_url)
        userinfo = parsed.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return parsed._replace(netloc=netloc).geturl()

    def start(self) -> TcpProxy:
        self._thread.start()
        self._run(self._open())
        return self

    def cut(self) -> None:
        self._run(self._cut())

    def blackhole(self) -> None:
        self._run(self._blackhole())

    def restore(self) -> None:
        self._run(self._restore())

    def close(self) -> None:
        self._run(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _open(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()  # new connections are refused
            self._server = None
        for writer in list(self._sockets):
            writer.transport.abort()  # a reset, as from a crashed peer
        self._sockets.clear()

    async def _shut(self) -> None:
        await self._cut()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _blackhole(self) -> None:
        self._flowing.clear()

    async def _restore(self) -> None:
        self._flowing.set()  # what was held back goes through, as TCP retransmits it
        if self._server is None:
            await self._listen()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Cancelled when the proxy closes: asyncio would log a cancelled connection handler.
        with contextlib.suppress(asyncio.CancelledError):
            await self._forward(reader, writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sockets.add(writer)
        try:
            await self._flowing.wait()  # accepted while blackholed: no answer until restored
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            self._sockets.discard(writer)
            return
        self._sockets.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        self._sockets.difference_update((writer, up_writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()  # one side ended: end the other, so both pumps finish
