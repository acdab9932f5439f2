"""A graphql-transport-ws client over a real WebSocket, for the subscription tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import websockets
from redis.asyncio import Redis
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection

from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.realtime.rooms import quotation_room
from tests.conftest import RUNNING, LiveServer

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")


class LiveClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            key = message.get("id", "")
            self._inbox.setdefault(key, asyncio.Queue()).put_nowait(message)

    async def subscribe(
        self, key: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        self._inbox.setdefault(key, asyncio.Queue())
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": key, "type": "subscribe", "payload": payload}))

    async def next(self, key: str, wait: float = 10.0) -> dict[str, Any]:
        """The next message for subscription ``key`` (next, error or complete)."""
        queue = self._inbox.setdefault(key, asyncio.Queue())
        return await asyncio.wait_for(queue.get(), wait)

    async def data(self, key: str, wait: float = 10.0) -> dict[str, Any]:
        message = await self.next(key, wait)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        result: dict[str, Any] = message["payload"]["data"]
        return result

    async def event(
        self,
        key: str,
        field: str,
        *,
        skip: tuple[str, ...] = ("PresenceChanged",),
        wait: float = 10.0,
    ) -> dict[str, Any]:
        """The next event of subscription ``key`` (the value of ``field``), passing over the
        kinds in ``skip`` (presence by default: other test clients come and go)."""
        while True:
            event: dict[str, Any] = (await self.data(key, wait))[field]
            if event.get("__typename") not in skip:
                return event

    async def nothing(self, key: str, wait: float = 1.0, *, but: str = "PresenceChanged") -> None:
        """Assert that no message (other than ``but`` events) arrives for ``key`` in ``wait``."""
        queue = self._inbox.setdefault(key, asyncio.Queue())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (left := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(queue.get(), left)
            except TimeoutError:
                return
            if but not in json.dumps(message):
                raise AssertionError(f"unexpected message: {message}")

    async def stop(self, key: str) -> None:
        await self.ws.send(json.dumps({"id": key, "type": "complete"}))


async def relayed(sessions: SessionFactory) -> None:
    """Wait until the relay has published every committed event and the hub of every server
    running in this process has dispatched them, so a new subscription starts after them."""
    for _ in range(400):
        async with sessions() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.position.is_(None))
            )
            last = await session.scalar(select(func.max(OutboxEvent.position)))
        hubs = [server.app.state.services.hub for server in RUNNING]
        if not waiting and all(hub.position == (last or 0) for hub in hubs):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the relay did not publish the outbox")


async def published(sessions: SessionFactory) -> None:
    """Wait until the relay has published every committed event (a resume replays them from
    then on), whether or not the hubs have dispatched them yet."""
    for _ in range(400):
        async with sessions() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.position.is_(None))
            )
        if not waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the relay did not publish the outbox")


def room_of(quotation_id: str) -> str:
    """The live room of a quotation."""
    return quotation_room(uuid.UUID(quotation_id))


async def listening(server: LiveServer, rooms: Mapping[str, int], seconds: float = 10.0) -> None:
    """Wait until ``server``'s hub has at least so many subscriptions listening in each room:
    from then on they receive whatever happens there. (What a fixed pause after subscribing
    stood for; read from the hub's room table, which only this process can see.)"""
    hub = server.app.state.services.hub
    deadline = time.monotonic() + seconds
    while any(hub.subscribers(room) < count for room, count in rooms.items()):
        assert time.monotonic() < deadline, f"subscriptions never listened in {dict(rooms)}"
        await asyncio.sleep(0.01)


async def present(redis: Redis, room: str, count: int = 1, seconds: float = 10.0) -> None:
    """Wait until ``count`` connections are present in ``room`` (in Redis, so on any server
    process): a subscription is present just before its hub listens for it."""
    deadline = time.monotonic() + seconds
    while await redis.zcard(f"presence:{room}") < count:
        assert time.monotonic() < deadline, f"no {count} present in {room}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def live(base_url: str, token: str | None) -> AsyncIterator[LiveClient]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        payload = {"token": token} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        client = LiveClient(ws)
        try:
            yield client
        finally:
            client._reader.cancel()
