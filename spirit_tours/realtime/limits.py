"""Per-process caps on what one viewer may hold open live, and on the database work of live
subscriptions, so that one signed-in user cannot exhaust the pool (or memory) for everyone.

- WebSocket connections: at most ``max_websockets_per_user`` per signed-in user, and
  ``max_websockets_per_address`` anonymous ones per client address; the excess is closed with
  4429 and a reason (``TooManyConnectionsError``).
- Operations in flight over WebSocket (subscriptions, and queries while they run): at most
  ``max_subscriptions_per_user`` per user across all their connections; the excess is refused
  with ``RATE_LIMITED`` (``extensions.limit``).
- Database work of subscriptions: at most ``database_concurrency`` at once, so that live
  traffic (starts, replays, fan-out of one event to thousands of subscribers) always leaves
  pool connections to queries and mutations. A subscription start waits at most
  ``start_timeout_seconds`` for its turn, then fails with ``SERVICE_UNAVAILABLE`` and
  ``retryAfterSeconds``; an event being delivered waits its turn.

Counting is per process: behind N processes a user may hold N times as much, each process
protecting its own pool.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from spirit_tours.core.errors import DomainError, ErrorCode

TOO_MANY_CONNECTIONS_CLOSE_CODE = 4429
_RETRY_AFTER_SECONDS = 5


class TooManyConnectionsError(Exception):
    """The viewer already holds as many WebSocket connections as allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LiveLimits:
    def __init__(
        self,
        *,
        max_websockets_per_user: int,
        max_websockets_per_address: int,
        max_subscriptions_per_user: int,
        database_concurrency: int,
        start_timeout_seconds: float,
    ) -> None:
        self.max_websockets_per_user = max_websockets_per_user
        self.max_websockets_per_address = max_websockets_per_address
        self.max_subscriptions_per_user = max_subscriptions_per_user
        self.start_timeout_seconds = start_timeout_seconds
        self._sockets: Counter[str] = Counter()
        self._socket_owner: dict[int, str] = {}
        self._operations: Counter[uuid.UUID] = Counter()
        self._database = asyncio.Semaphore(database_concurrency)

    def admit_socket(self, socket: int, user_id: uuid.UUID | None, address: str) -> None:
        """Count connection ``socket`` for its user (or, anonymous, its address), or raise
        ``TooManyConnectionsError``. Called again for the same socket, it is counted once."""
        self.release_socket(socket)
        if user_id is not None:
            owner, cap, whom = f"user:{user_id}", self.max_websockets_per_user, "per user"
        else:
            owner, cap, whom = f"ip:{address}", self.max_websockets_per_address, "per address"
        if self._sockets[owner] >= cap:
            raise TooManyConnectionsError(f"Too many connections: at most {cap} {whom}")
        self._sockets[owner] += 1
        self._socket_owner[socket] = owner

    def release_socket(self, socket: int) -> None:
        owner = self._socket_owner.pop(socket, None)
        if owner is not None:
            self._sockets[owner] -= 1
            if self._sockets[owner] <= 0:
                del self._sockets[owner]

    def take_operation(self, user_id: uuid.UUID) -> DomainError | None:
        """Count one more operation of this user, or the error refusing it."""
        if self._operations[user_id] >= self.max_subscriptions_per_user:
            return DomainError(
                ErrorCode.RATE_LIMITED,
                f"Too many subscriptions: at most {self.max_subscriptions_per_user} at once per "
                "user; complete some first.",
                limit="subscriptionsPerUser",
                max=self.max_subscriptions_per_user,
            )
        self._operations[user_id] += 1
        return None

    def drop_operation(self, user_id: uuid.UUID) -> None:
        self._operations[user_id] -= 1
        if self._operations[user_id] <= 0:
            del self._operations[user_id]

    @asynccontextmanager
    async def start(self) -> AsyncIterator[None]:
        """The database work of a subscription start; SERVICE_UNAVAILABLE if its turn does not
        come in time (rather than queueing for the pool without bound)."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the task's
            # cancellation when the semaphore is granted in the same loop turn.
            async with asyncio.timeout(self.start_timeout_seconds):
                await self._database.acquire()
        except TimeoutError:
            raise DomainError(
                ErrorCode.SERVICE_UNAVAILABLE,
                "Too busy to start this subscription now; try again shortly.",
                retryAfterSeconds=_RETRY_AFTER_SECONDS,
            ) from None
        try:
            yield
        finally:
            self._database.release()

    @asynccontextmanager
    async def delivery(self) -> AsyncIterator[None]:
        """The database work of resolving one event for one subscriber: waits its turn."""
        async with self._database:
            yield
