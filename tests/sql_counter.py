"""Count the SQL statements the live server runs, for N+1 and hot-path checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from spirit_tours.services import Services
from tests.conftest import LiveServer


@contextmanager
def count_statements(live_server: LiveServer) -> Iterator[list[str]]:
    services: Services = live_server.app.state.services
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
