"""The servers of the live benchmarks, each run in a process of its own.

- The API: ``spirit_tours.app:create_serving_app`` as ``spirit-tours serve`` runs it (its uvicorn
  configuration, ``--workers N``), with settings from the environment as serve's workers get
  them, and the per-viewer live caps and rate limit lifted (the load generator is a handful of
  users holding thousands of connections).
- The baseline: a plain Starlette WebSocket endpoint speaking just enough graphql-transport-ws
  for the same clients. ``/publish`` stamps an event and an in-process fan-out pushes the same
  JSON frame to every connection of the room: no GraphQL, database, Redis or permissions; what
  is left is uvicorn, WebSocket framing and asyncio.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from benchmarks.live_processes import detach_stdin, raise_open_files
from spirit_tours.config import Settings
from spirit_tours.edge.server import run as run_server
from spirit_tours.edge.server import server_config

PROTOCOL = "graphql-transport-ws"


def api_environment(database_url: str, redis_url: str, compression: bool) -> dict[str, str]:
    """``SPIRIT_*`` variables of the API under test (``SPIRIT_ENCRYPTION_KEYS`` is already set
    by ``benchmarks.keys``)."""
    return {
        "SPIRIT_ENV": "production",
        "SPIRIT_DATABASE_URL": database_url,
        "SPIRIT_REDIS_URL": redis_url,
        "SPIRIT_JWT_SECRET": "benchmark-secret-" + "x" * 32,
        "SPIRIT_EMAIL_SECRET": "benchmark-email-secret-" + "x" * 32,
        "SPIRIT_PUBLIC_URL": "http://127.0.0.1",  # production requires it; no links followed
        "SPIRIT_LOG_LEVEL": "warning",
        "SPIRIT_RUN_WORKERS": "false",
        "SPIRIT_WEBSOCKET_COMPRESSION": "true" if compression else "false",
        # Keep the rate limiter's round trip in the measurement, never its refusals.
        "SPIRIT_RATE_LIMIT_POINTS": str(10**12),
        # A few users hold all the connections: lift the per-user caps of live connections and
        # subscriptions (the per-process caps stay), as for the rate limit.
        "SPIRIT_MAX_WEBSOCKETS_PER_USER": "1000000",
        "SPIRIT_MAX_SUBSCRIPTIONS_PER_USER": "1000000",
        # A 10,000-client run outlasts the default 15 minutes; expiry would close the sockets.
        "SPIRIT_ACCESS_TOKEN_TTL_SECONDS": str(24 * 3600),
    }


def _uvicorn(app: Any, settings: Settings, port: int, **options: Any) -> None:
    raise_open_files()  # inherited by uvicorn's worker processes
    detach_stdin()
    # The edge limits and WebSocket settings of `spirit-tours serve`; ``options`` may pick
    # another WebSocket implementation or compression (benchmarks.ws_memory).
    config = server_config(app, settings, host="127.0.0.1", port=port, loop="uvloop",
                           log_level="warning", access_log=False, backlog=4096,
                           **options)  # fmt: skip
    run_server(config)


def serve_api(
    environment: dict[str, str],
    port: int,
    workers: int = 1,
    app: str = "spirit_tours.app:create_serving_app",
    **options: Any,
) -> None:
    """The API (an app factory, imported in each worker), settings from ``environment``."""
    os.environ.update(environment)
    _uvicorn(app, Settings(), port, factory=True, workers=workers, **options)


# --- the baseline ---------------------------------------------------------------------------


class Rooms:
    """The baseline's in-process fan-out: one queue per connection, by room."""

    def __init__(self) -> None:
        self.members: dict[str, set[asyncio.Queue[str]]] = {}
        self.published = 0

    def count(self) -> int:
        return sum(len(queues) for queues in self.members.values())


async def _baseline_socket(websocket: WebSocket) -> None:
    rooms: Rooms = websocket.app.state.rooms
    await websocket.accept(subprotocol=PROTOCOL)
    if (await websocket.receive_json()).get("type") != "connection_init":
        await websocket.close(4400)
        return
    await websocket.send_json({"type": "connection_ack"})
    subscribe = await websocket.receive_json()
    key, room = subscribe["id"], subscribe["payload"]["variables"]["q"]
    queue: asyncio.Queue[str] = asyncio.Queue()
    rooms.members.setdefault(room, set()).add(queue)

    async def push() -> None:
        while True:
            data = await queue.get()
            await websocket.send_text(
                '{"id":' + json.dumps(key) + ',"type":"next","payload":' + data + "}"
            )

    pusher = asyncio.create_task(push())
    try:
        while True:
            message = await websocket.receive_json()
            if message.get("type") == "ping":
                await websocket.send_json({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        rooms.members[room].discard(queue)


def baseline_event(room: str, cursor: str, notes: str) -> dict[str, Any]:
    """What an operator's subscription document receives for a notes change (the fields of
    ``benchmarks.live_clients.SUBSCRIPTION``), with the three demo offers."""
    offers = [
        {"hotelAlias": f"Hotel {letter}", "netPrice": {"amount": price, "currency": "USD"}}
        for letter, price in (("A", "4850.00"), ("B", "4390.00"), ("C", "4620.50"))
    ]
    return {"data": {"quotationEvents": {
        "__typename": "QuotationChanged", "cursor": cursor,
        "occurredAt": datetime.now(UTC).isoformat(), "kind": "QUOTATION_UPDATED",
        "quotation": {"id": room, "notes": notes, "offerCount": 3, "myRank": None,
                      "offers": offers},
    }}}  # fmt: skip


async def _baseline_publish(request: Request) -> JSONResponse:
    """Stamp the event, then hand the same frame to every connection of its room."""
    rooms: Rooms = request.app.state.rooms
    body = await request.json()
    rooms.published += 1
    data = json.dumps(baseline_event(body["room"], f"b{rooms.published}", body.get("notes", "")))
    queues = rooms.members.get(body["room"], set())
    for queue in queues:
        queue.put_nowait(data)
    return JSONResponse({"delivered": len(queues)})


async def _baseline_count(request: Request) -> JSONResponse:
    rooms: Rooms = request.app.state.rooms
    return JSONResponse({"subscribed": rooms.count()})


async def _ready(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


def baseline_app() -> Starlette:
    app = Starlette(
        routes=[
            WebSocketRoute("/graphql", _baseline_socket),
            Route("/publish", _baseline_publish, methods=["POST"]),
            Route("/subscribed", _baseline_count),
            Route("/readyz", _ready),
        ]
    )
    app.state.rooms = Rooms()
    return app


def serve_baseline(port: int, compression: bool) -> None:
    _uvicorn(baseline_app(), Settings(websocket_compression=compression), port)
