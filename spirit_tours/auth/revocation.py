"""Signing out ends the access tokens too, not only the refresh tokens.

An access token names its session (the refresh-token family). ``logout`` revokes its session,
``logout(everywhere)`` and a password reset every session of the user, and a replayed refresh
token its whole family: each revoked session is written to Redis for as long as an access token
of it can live, and every authenticated request (HTTP or WebSocket) checks its session with a
single ``GET``. Open WebSockets of a revoked session are closed with 4401 within
``WATCH_SECONDS`` (one ``MGET`` per process, whatever the number of connections).

Failure choice, per use:
- checking a token *fails closed*: when Redis cannot answer, a request presenting a token is
  treated as unauthenticated (reason ``SESSION_CHECK_UNAVAILABLE``, retry later) rather than
  trusted — a revoked token must not work again just because Redis is down;
- revoking *fails closed* too: it runs inside the sign-out's transaction, so if Redis cannot
  record it the sign-out fails and changes nothing, and the client can retry;
- the WebSocket watch *fails open*: when Redis cannot answer it tries again at the next tick;
  the connection still ends at its token's expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from spirit_tours.errors import DomainError, unauthenticated

log = logging.getLogger(__name__)

KEY_PREFIX = "revoked-session:"
# A revocation outlives the longest-lived token of its session by this margin (clock skew
# between the servers that issue and check tokens).
_MARGIN_SECONDS = 60
WATCH_SECONDS = 2.0


def _key(session_id: uuid.UUID) -> str:
    return KEY_PREFIX + session_id.hex


class SessionRevocations:
    def __init__(self, redis: Redis, access_token_ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = access_token_ttl_seconds + _MARGIN_SECONDS

    async def revoke(self, session_ids: Iterable[uuid.UUID]) -> None:
        """Refuse every access token of these sessions from now on (raises on Redis errors)."""
        keys = [_key(session_id) for session_id in set(session_ids)]
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, b"1", ex=self._ttl)
            await pipe.execute()

    async def check(self, session_id: uuid.UUID) -> None:
        """Raise UNAUTHENTICATED when the session is revoked, or cannot be checked."""
        try:
            revoked = await self._redis.exists(_key(session_id))
        except (RedisError, OSError) as error:
            log.warning("session check unavailable: %s", error)
            raise unauthenticated(
                "Your session cannot be checked right now; try again shortly.",
                reason="SESSION_CHECK_UNAVAILABLE",
            ) from error
        if revoked:
            raise revoked_error()

    async def revoked_among(self, session_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = list(set(session_ids))
        if not ids:
            return set()
        values = await self._redis.mget([_key(session_id) for session_id in ids])
        return {session_id for session_id, value in zip(ids, values, strict=True) if value}


def revoked_error() -> DomainError:
    return unauthenticated("This session has ended; sign in again.", reason="TOKEN_REVOKED")


class SessionWatch:
    """Closes this process's WebSockets whose session was revoked.

    Connections register a close callback under their session; one loop checks the sessions
    of every open connection with a single ``MGET`` every ``WATCH_SECONDS``.
    """

    def __init__(self, revocations: SessionRevocations, interval: float = WATCH_SECONDS) -> None:
        self._revocations = revocations
        self._interval = interval
        self._closers: dict[uuid.UUID, dict[int, Callable[[], None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, session_id: uuid.UUID, key: int, close: Callable[[], None]) -> None:
        self._closers.setdefault(session_id, {})[key] = close

    def forget(self, session_id: uuid.UUID, key: int) -> None:
        closers = self._closers.get(session_id)
        if closers is not None:
            closers.pop(key, None)
            if not closers:
                del self._closers[session_id]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> None:
        """Close the connections of revoked sessions (one Redis round trip)."""
        if not self._closers:
            return
        for session_id in await self._revocations.revoked_among(list(self._closers)):
            for close in list(self._closers.pop(session_id, {}).values()):
                close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except (RedisError, OSError) as error:  # fail open: retried at the next tick
                log.warning("session watch skipped a sweep: %s", error)
