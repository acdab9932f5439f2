"""Who is in a room, from the connections' lifecycle.

Each subscription to a quotation room holds an entry in the Redis sorted set
``presence:<room>`` (member ``user|role|connection``, score = when it expires), refreshed while
the subscription lives (every entry of the process at once, in one pipelined round trip).
Leaving removes it; a connection that vanished without closing is dropped by the WebSocket
ping (25 s interval, 30 s timeout) or, if its process died, expires and is swept: either way
the user turns offline within 60 s. Online/offline changes go out as ephemeral signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from redis.asyncio import Redis

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime.hub import EventHub
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

TTL_SECONDS = 60.0
REFRESH_SECONDS = 20.0
SWEEP_SECONDS = 10.0
_REFRESH_BATCH = 500
_PREFIX = "presence:"


def _key(room: str) -> str:
    return _PREFIX + room


# Whether a user has an unexpired entry, found in Redis: a room of thousands is not sent back
# to the process for each entering or leaving subscriber. KEYS[1] the room's set; ARGV[1] now,
# ARGV[2] "<user>|"; ENTER adds ARGV[4] expiring at ARGV[3] and answers whether the user was
# present before; LEAVE removes ARGV[3] and answers -1 (it was not there: swept), 1 (the user is
# still present through another connection) or 0.
_PRESENT = """
local function present()
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
    if string.sub(member, 1, #ARGV[2]) == ARGV[2] then return 1 end
  end
  return 0
end
"""
_ENTER = (
    _PRESENT
    + """
local was = present()
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
return was
"""
)
_LEAVE = (
    _PRESENT
    + """
if redis.call('ZREM', KEYS[1], ARGV[3]) == 0 then return -1 end
return present()
"""
)
_STILL = _PRESENT + "return present()"


class Presence:
    def __init__(self, redis: Redis, hub: EventHub) -> None:
        self._redis = redis
        self._hub = hub
        self._tasks: list[asyncio.Task[None]] = []
        self._held: dict[str, str] = {}  # member → key, refreshed together
        self._enter = redis.register_script(_ENTER)
        self._leave = redis.register_script(_LEAVE)
        self._still = redis.register_script(_STILL)

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
        return bool(await self._still(keys=[_key(room)], args=[epoch_seconds(), f"{user}|"]))

    async def _signal(self, room: str, viewer: Viewer, online: bool) -> None:
        data = {"user_id": str(viewer.user_id), "role": viewer.role.value, "online": online}
        await self._hub.publish_signal(room, "presence", data)

    async def enter(self, room: str, viewer: Viewer) -> str:
        """Mark ``viewer`` present in ``room`` until :meth:`leave` with the returned member."""
        member = f"{viewer.user_id}|{viewer.role.value}|{uuid.uuid4().hex}"
        try:
            now = epoch_seconds()
            args: list[str | float] = [now, f"{viewer.user_id}|", now + TTL_SECONDS, member]
            if not await self._enter(keys=[_key(room)], args=args):
                await self._signal(room, viewer, True)
        except Exception as error:  # presence is best-effort; the subscription still works
            log.info("presence unavailable: %s", error)
        self._held[member] = _key(room)
        return member

    async def leave(self, room: str, viewer: Viewer, member: str) -> None:
        self._held.pop(member, None)
        with contextlib.suppress(Exception):
            args: list[str | float] = [epoch_seconds(), f"{viewer.user_id}|", member]
            if await self._leave(keys=[_key(room)], args=args) == 0:
                await self._signal(room, viewer, False)

    async def refresh(self) -> None:
        """Push the expiry of every entry this process holds: a pipelined round trip per
        batch, so that ten thousand entries never hold the event loop at once."""
        expires = epoch_seconds() + TTL_SECONDS
        held = list(self._held.items())
        for start in range(0, len(held), _REFRESH_BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for member, key in held[start : start + _REFRESH_BATCH]:
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
