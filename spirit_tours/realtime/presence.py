"""Who is in a room, from the connections' lifecycle.

Each subscription to a quotation room holds an entry in the Redis sorted set
``presence:<room>`` (member ``user|role|connection``, score = when it expires), refreshed while
the subscription lives (every entry of the process at once, in one pipelined round trip).
Leaving removes it; a connection that vanished without closing is dropped by the WebSocket
ping (30 s interval, 30 s timeout) or, if its process died, expires and is swept: either way
the user turns offline within 60 s. Online/offline changes go out as ephemeral signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime.hub import EventHub
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

TTL_SECONDS = 60.0
REFRESH_SECONDS = 20.0
SWEEP_SECONDS = 10.0
_PREFIX = "presence:"


def _key(room: str) -> str:
    return _PREFIX + room


def _users(members: list[bytes]) -> set[str]:
    return {member.decode().split("|", 1)[0] for member in members}


class Presence:
    def __init__(self, redis: Redis, hub: EventHub) -> None:
        self._redis = redis
        self._hub = hub
        self._tasks: list[asyncio.Task[None]] = []
        self._held: dict[str, str] = {}  # member → key, refreshed together

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._sweep_forever(), name="presence-sweeper"),
            asyncio.create_task(self._refresh_forever(), name="presence-refresher"),
        ]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)

    async def online(self, room: str) -> list[tuple[str, str]]:
        """(user id, role) of everyone present."""
        members = await self._redis.zrangebyscore(_key(room), epoch_seconds(), "+inf")
        seen: dict[str, str] = {}
        for member in members:
            user, role, _ = member.decode().split("|", 2)
            seen[user] = role
        return sorted(seen.items())

    async def _is_present(self, room: str, user: str) -> bool:
        members = await self._redis.zrangebyscore(_key(room), epoch_seconds(), "+inf")
        return user in _users(members)

    async def _signal(self, room: str, viewer: Viewer, online: bool) -> None:
        data = {"user_id": str(viewer.user_id), "role": viewer.role.value, "online": online}
        await self._hub.publish_signal(room, "presence", data)

    async def enter(self, room: str, viewer: Viewer) -> str:
        """Mark ``viewer`` present in ``room`` until :meth:`leave` with the returned member."""
        member = f"{viewer.user_id}|{viewer.role.value}|{uuid.uuid4().hex}"
        try:
            was_present = await self._is_present(room, str(viewer.user_id))
            await self._redis.zadd(_key(room), {member: epoch_seconds() + TTL_SECONDS})
            if not was_present:
                await self._signal(room, viewer, True)
        except Exception as error:  # presence is best-effort; the subscription still works
            log.info("presence unavailable: %s", error)
        self._held[member] = _key(room)
        return member

    async def leave(self, room: str, viewer: Viewer, member: str) -> None:
        self._held.pop(member, None)
        with contextlib.suppress(Exception):
            removed = await self._redis.zrem(_key(room), member)
            if removed and not await self._is_present(room, str(viewer.user_id)):
                await self._signal(room, viewer, False)

    @contextlib.asynccontextmanager
    async def present(self, room: str, viewer: Viewer) -> AsyncIterator[None]:
        """Mark ``viewer`` present in ``room`` for the duration of the block."""
        member = await self.enter(room, viewer)
        try:
            yield
        finally:
            await self.leave(room, viewer, member)

    async def refresh(self) -> None:
        """Push the expiry of every entry this process holds, in one round trip."""
        if not self._held:
            return
        expires = epoch_seconds() + TTL_SECONDS
        async with self._redis.pipeline(transaction=False) as pipe:
            for member, key in list(self._held.items()):
                pipe.zadd(key, {member: expires}, xx=True)
            await pipe.execute()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception as error:
                log.info("presence refresh failed: %s", error)

    async def sweep(self) -> None:
        """Drop expired entries (their process died); announce users gone offline."""
        async for raw_key in self._redis.scan_iter(match=_PREFIX + "*", count=200):
            key = raw_key.decode()
            room = key.removeprefix(_PREFIX)
            expired = await self._redis.zrangebyscore(key, "-inf", epoch_seconds())
            for member in expired:
                if not await self._redis.zrem(key, member):
                    continue  # another process swept it first
                user, role, _ = member.decode().split("|", 2)
                if not await self._is_present(room, user):
                    data = {"user_id": user, "role": role, "online": False}
                    await self._hub.publish_signal(room, "presence", data)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception as error:
                log.info("presence sweep failed: %s", error)
