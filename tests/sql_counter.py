"""Count the SQL statements the live server runs, for N+1 and hot-path checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from spirit_tours.services import Services
from tests.conftest import LiveServer
from tests.live_client import relayed

# The server's background loops (their tasks are named): their statements are not a request's.
BACKGROUND = frozenset({"outbox-relay", "hub-poll", "hub-broadcaster", "live-fanout",
                        "presence-sweeper", "presence-refresher", "session-watch"})  # fmt: skip


@asynccontextmanager
async def _request_statements(
    live_server: LiveServer, record: Callable[[Any, str], None]
) -> AsyncIterator[None]:
    """Calls ``record(connection, statement)`` for each statement the live server runs inside
    the block, once the outbox relay has caught up. The statements of the server's background
    loops (the relay's publishing, the live hub's polling: tasks named in ``BACKGROUND``) are
    not the request's and are left out, and so are the test's own."""
    services: Services = live_server.app.state.services
    await relayed(services.sessions)

    test = asyncio.current_task()  # the test's own reads (another counter's wait) are not

    def before_execute(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        task = asyncio.current_task()
        if task is not test and (task is None or task.get_name() not in BACKGROUND):
            record(connection, statement)

    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)


@asynccontextmanager
async def count_statements(live_server: LiveServer) -> AsyncIterator[list[str]]:
    """The statements run inside the block (background work left out)."""
    statements: list[str] = []
    async with _request_statements(live_server, lambda _, statement: statements.append(statement)):
        yield statements


@asynccontextmanager
async def statement_connections(live_server: LiveServer) -> AsyncIterator[set[int]]:
    """The pooled connections the request's statements ran on, inside the block."""
    connections: set[int] = set()

    def record(connection: Any, statement: str) -> None:
        connections.add(id(connection.connection.dbapi_connection))

    async with _request_statements(live_server, record):
        yield connections
