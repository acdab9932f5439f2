"""The per-operation GraphQL context: services, the viewer and the DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from spirit_tours.core.errors import DomainError, unauthenticated
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.resolvers.loaders import Loaders
from spirit_tours.services import Services


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None = None
    viewer: Viewer | None = None
    # Why a presented token was refused; reported when a field needs a viewer.
    auth_error: DomainError | None = None
    connection_params: dict[str, Any] | None = None
    # The operation's static cost as the request guard charged it (the response cache keeps
    # it with a stored answer and charges it again for each hit).
    operation_cost: int | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    # Reads that write as a side effect (a hotel opening a quotation marks its invitation
    # VIEWED) take turns: a query reading many quotations at once holds one write connection,
    # never the whole pool.
    side_writes: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def require_viewer(self) -> Viewer:
        if self.viewer is not None:
            return self.viewer
        raise self.auth_error or unauthenticated()

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.services.reads)
        return self._loaders

    def refresh_loaders(self) -> None:
        """Forget cached reads: each live event is resolved against current data."""
        self._loaders = None

    async def end_reads(self) -> None:
        """The operation is over: give its read session's connection back to the pool."""
        if self._loaders is not None:
            await self._loaders.reads.close()

    @cached_property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A short read session of its own: resolvers run concurrently, sessions must not.
        (Hot reads share the operation's session: ``loaders.reads``.)"""
        async with self.services.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on any error."""
        async with self.services.sessions() as session, session.begin():
            yield session
        self.services.relay.poke()  # publish the transaction's events right away
