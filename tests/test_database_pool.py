"""Pooled connections: checked before use only after sitting idle, replaced when dead."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.persistence.database import create_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(
    database_url: str, engine: AsyncEngine
) -> None:
    """A database restart or a proxy's idle timeout drops pooled connections: the next request
    after an idle spell must get a live one, not an error."""
    pooled = create_engine(database_url, pool_size=1, ping_after_idle_seconds=0.2)
    try:
        pid = await _backend_pid(pooled)
        await _terminate(engine, pid)
        await asyncio.sleep(0.3)  # idle longer than the ping threshold
        assert await _backend_pid(pooled) != pid  # a new connection, no error
    finally:
        await pooled.dispose()


async def test_a_connection_back_in_use_at_once_is_not_pinged(
    database_url: str,
) -> None:
    """No ping round trip on a busy server: a connection checked in a moment ago is reused as
    it is (the pool stays on one backend, and no extra statement runs)."""
    pooled = create_engine(database_url, pool_size=1, ping_after_idle_seconds=60)
    try:
        pings = 0
        dialect = pooled.sync_engine.dialect
        real_ping = dialect.do_ping

        def counting_ping(connection: object) -> bool:
            nonlocal pings
            pings += 1
            return real_ping(connection)  # type: ignore[arg-type]

        dialect.do_ping = counting_ping  # type: ignore[method-assign,assignment]
        pids = {await _backend_pid(pooled) for _ in range(5)}
        assert len(pids) == 1
        assert pings == 0
    finally:
        await pooled.dispose()
