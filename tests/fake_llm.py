"""A local HTTP server speaking the OpenAI chat-completions protocol, for the assessor's tests.

It is the one fake the suite allows: the hosted model cannot run here, so the assessor is tested
against a real HTTP server on loopback whose replies the test chooses (good, slow, failing, or
malformed), and which records every request it received.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from tests.server import free_port

GOOD_ANSWER = {
    "summary": "The VPN tunnel drops when the home router's NAT table expires idle flows.",
    "likely_cause": "Router NAT idle timeout shorter than the VPN keepalive interval.",
    "suggested_steps": ["Lower the VPN keepalive to 30 seconds", "Update the router firmware"],
    "confidence": "medium",
}


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | slow | error | malformed | not_json | hang
    delay: float = 0.0
    answer: dict = field(default_factory=lambda: dict(GOOD_ANSWER))


class _Server(uvicorn.Server):
    """Stops as soon as it is told to, not at uvicorn's next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.told_to_stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.told_to_stop = asyncio.Event()
        await self.on_tick(0)  # sets the default headers, as uvicorn's first tick does
        await self.told_to_stop.wait()

    def stop(self) -> None:
        self.should_exit = True
        self.force_exit = True
        if self.loop is not None and self.told_to_stop is not None:
            self.loop.call_soon_threadsafe(self.told_to_stop.set)


class FakeChatCompletions:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict] = []
        self.port = free_port()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._released = threading.Event()  # cleared by `hold`
        self._released.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def set(self, mode: str, delay: float = 0.0, answer: dict | None = None) -> None:
        self.behaviour = Behaviour(mode=mode, delay=delay, answer=answer or dict(GOOD_ANSWER))

    def reset(self) -> None:
        """As new: answers well and at once, and has received nothing (a test sharing the server
        with others starts with this)."""
        self.behaviour = Behaviour()
        self.requests.clear()
        self._released.set()

    def hold(self) -> None:
        """Replies wait until `release()`: the test decides when an answer lands."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def _completions(self, request: Request):
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        while not self._released.is_set():  # polled: cancelled at exit like a "hang"
            await asyncio.sleep(0.01)
        b = self.behaviour
        if b.mode in ("slow", "hang"):
            await asyncio.sleep(b.delay if b.mode == "slow" else 3600)
        if b.mode == "error":
            return PlainTextResponse("upstream overloaded", status_code=503)
        if b.mode == "not_json":
            return PlainTextResponse("<html>gateway error</html>", status_code=200)
        content = "Sure! Here is my answer." if b.mode == "malformed" else json.dumps(b.answer)
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )

    def __enter__(self) -> FakeChatCompletions:
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        # Critical only: at exit it cancels replies still sleeping ("slow", "hang"), which
        # uvicorn would otherwise report as application errors.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical")
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not (self._server.started and self._server.told_to_stop is not None):
            if time.monotonic() > deadline:
                raise RuntimeError("fake chat-completions server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()
        self._thread.join(10)
