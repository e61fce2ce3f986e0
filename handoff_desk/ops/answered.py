"""What an HTTP answer's status was, seen on its way out: the access log and the metrics both
note it for each request (an exception before any answer started counts as the server's 500)."""

from __future__ import annotations

from starlette.types import Message, Send


class AnsweredStatus:
    """Wraps `send`: `status` is the answer's once its start went out, 500 until then."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
