"""A lean fleet of graphql-transport-ws subscribers: one asyncio protocol per connection and no
task of its own, frames parsed by hand. The fan-out benchmark's client must not be what limits
it: the websockets library's client costs several times as much per received message, and
thousands of them on one core saturated it before the servers were.

Enough of RFC 6455 for a subscriber: the upgrade, masked text frames out, unmasked frames in
(text; ping answered with pong; close), no extensions, no fragmented messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections import defaultdict
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final frame as a client must send it: masked."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class Subscriber(asyncio.Protocol):
    """One connection: upgrade, connection_init, subscribe; then each `next` message's arrival
    time is recorded under the key that follows `mark` in it."""

    def __init__(self, fleet: Fleet, url: str, token: str | None) -> None:
        self.fleet = fleet
        self.url = urlsplit(url)
        self.token = token
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.subscribed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.url.path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._fail(f"upgrade refused: {bytes(buffer[:80])!r}")
                return
            del buffer[: end + 4]
            self.upgraded = True
            payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            self.send_json({"type": "connection_init", "payload": payload})
        position = 0
        while len(buffer) - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if len(buffer) - position < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, position + 2)
                header = 4
            elif length == 127:
                if len(buffer) - position < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, position + 2)
                header = 10
            end = position + header + length
            if end > len(buffer):
                break
            self._frame(first & 0x0F, bytes(buffer[position + header : end]), at)
            position = end
        del buffer[:position]

    def _frame(self, opcode: int, payload: bytes, at: float) -> None:
        if opcode == TEXT:
            if self.subscribed.done():
                self.fleet.arrived(payload, at)
            else:
                self._handshake(json.loads(payload))
        elif opcode == PING:
            self.transport.write(client_frame(PONG, payload))
        elif opcode == CLOSE:
            self._fail("closed by the server")
            self.transport.close()

    def _handshake(self, message: dict) -> None:
        if message.get("type") != "connection_ack":
            self._fail(f"no connection_ack: {message}")
            return
        self.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": self.fleet.subscription}}
        )
        self.subscribed.set_result(None)

    def send_json(self, message: dict) -> None:
        self.transport.write(client_frame(TEXT, json.dumps(message).encode()))

    def _fail(self, why: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(why))

    def connection_lost(self, exc) -> None:
        self._fail(f"connection lost: {exc}")

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(CLOSE, struct.pack("!H", 1000)))
            self.transport.close()


class Fleet:
    """Subscribers that record when they saw which key (the 36 characters after `mark`)."""

    def __init__(self, subscription: str, mark: bytes) -> None:
        self.subscription = subscription
        self.mark = mark
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.subscribers: list[Subscriber] = []

    def arrived(self, message: bytes, at: float) -> None:
        start = message.find(self.mark)
        if start >= 0:
            start += len(self.mark)
            self.arrivals[message[start : start + 36].decode()].append(at)

    async def connect(self, url: str, token: str | None, count: int) -> None:
        for start in range(0, count, 100):  # in batches: do not flood the accept queue
            await asyncio.gather(*(self._one(url, token) for _ in range(min(100, count - start))))

    async def _one(self, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        _, subscriber = await loop.create_connection(
            lambda: Subscriber(self, url, token), parts.hostname, parts.port
        )
        await asyncio.wait_for(subscriber.subscribed, 30)
        self.subscribers.append(subscriber)

    async def drained(self, quiet: float = 2.0, limit: float = 90.0) -> None:
        """Until no delivery arrived for `quiet` seconds (at most `limit`): late ones count."""
        deadline = time.perf_counter() + limit
        seen = -1
        while time.perf_counter() < deadline:
            total = sum(len(v) for v in self.arrivals.values())
            if total == seen:
                return
            seen = total
            await asyncio.sleep(quiet)

    async def close(self) -> None:
        for subscriber in self.subscribers:
            subscriber.close()
        await asyncio.sleep(0.1)
