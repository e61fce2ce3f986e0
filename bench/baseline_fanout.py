"""The fan-out baseline: a minimal Starlette websocket server that speaks just enough
graphql-transport-ws (init, ack, subscribe) and forwards each broadcaster message on the channel,
unchanged, to every connected subscriber. One broadcaster subscription per process, fanned out
locally: what the stack can do for a delivery with no GraphQL at all.

Run by bench/fanout.py:  uvicorn bench.baseline_fanout:app --ws-per-message-deflate false
(BENCH_CHANNEL and BENCH_BROADCAST_URL set).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from handoff_desk.live.broadcast import create_broadcast

subscribers: dict[WebSocket, str] = {}


async def graphql_ws(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        init = json.loads(await websocket.receive_text())
        assert init["type"] == "connection_init"
        await websocket.send_text('{"type":"connection_ack"}')
        subscribe = json.loads(await websocket.receive_text())
        subscribers[websocket] = subscribe["id"]
        while True:
            await websocket.receive_text()  # pings, complete: ignored
    except WebSocketDisconnect:
        pass
    finally:
        subscribers.pop(websocket, None)


async def forward(broadcast) -> None:
    async with broadcast.subscribe(os.environ["BENCH_CHANNEL"]) as events:
        async for event in events:
            for websocket, op_id in list(subscribers.items()):
                with contextlib.suppress(Exception):
                    await websocket.send_text(
                        f'{{"id":"{op_id}","type":"next","payload":{event.message}}}'
                    )


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    broadcast = create_broadcast(os.environ["BENCH_BROADCAST_URL"])
    await broadcast.connect()
    task = asyncio.create_task(forward(broadcast))
    yield
    task.cancel()
    await broadcast.disconnect()


app = Starlette(
    routes=[Route("/healthz", healthz), WebSocketRoute("/graphql", graphql_ws)],
    lifespan=lifespan,
)
