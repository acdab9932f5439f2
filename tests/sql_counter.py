"""Count the SQL statements the live server runs, for N+1 and hot-path checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from spirit_tours.services import Services
from tests.conftest import LiveServer
from tests.live_client import relayed


@asynccontextmanager
async def count_statements(live_server: LiveServer) -> AsyncIterator[list[str]]:
    """The statements run inside the block, once the outbox relay has caught up (its
    publishing, and the live hub's polling, are background work, not the request's)."""
    services: Services = live_server.app.state.services
    await relayed(services.sessions)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "outbox_events" not in statement and "pg_try_advisory" not in statement:
            statements.append(statement)

    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@asynccontextmanager
async def statement_connections(live_server: LiveServer) -> AsyncIterator[set[int]]:
    """The pooled connections the request's statements ran on, inside the block (background
    work on the outbox left out, as in :func:`count_statements`)."""
    services: Services = live_server.app.state.services
    await relayed(services.sessions)
    connections: set[int] = set()

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "outbox_events" not in statement and "pg_try_advisory" not in statement:
            connections.add(id(connection.connection.dbapi_connection))

    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield connections
    finally:
        event.remove(engine, "before_cursor_execute", record)
