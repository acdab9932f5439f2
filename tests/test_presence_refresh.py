"""Presence entries live as long as their subscriptions: the process pushes the expiry of every
entry it holds, in batches, and forgets the ones that left."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.core.enums import Role
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime.presence import TTL_SECONDS
from tests.conftest import LiveServer


async def test_refresh_pushes_the_expiry_of_every_entry_the_process_holds(
    live_server: LiveServer, redis: Redis
) -> None:
    presence = live_server.app.state.services.presence
    viewer = Viewer(uuid.uuid4(), Role.ADMIN, None)
    rooms = [f"quotation:{uuid.uuid4()}" for _ in range(3)]
    held = [(rooms[n % 3], await presence.enter(rooms[n % 3], viewer)) for n in range(1200)]
    soon = epoch_seconds() + 1  # as if their last refresh were long ago
    for room, member in held:
        await redis.zadd(f"presence:{room}", {member: soon}, xx=True)
    gone_room, gone = held.pop()
    await presence.leave(gone_room, viewer, gone)
    await presence.refresh()
    floor = epoch_seconds() + TTL_SECONDS - 5
    for room, member in held:
        score = await redis.zscore(f"presence:{room}", member)
        assert score is not None
        assert score > floor, member
    assert await redis.zscore(f"presence:{gone_room}", gone) is None  # not brought back
    for room, member in held:
        await presence.leave(room, viewer, member)
    assert all([await redis.zcard(f"presence:{room}") == 0 for room in rooms])
