"""Signing out ends the access tokens too, not only the refresh tokens.

An access token names its session (the refresh-token family). ``logout`` revokes its session,
``logout(everywhere)`` and a password reset every session of the user, and a replayed refresh
token its whole family: each revoked session is written to Redis for as long as an access token
of it can live, and every authenticated request (HTTP or WebSocket) checks its session with a
single ``EXISTS``. Open WebSockets of a revoked session are closed with 4401 within
``WATCH_SECONDS`` (one ``MGET`` per process, whatever the number of connections).

When Redis does not answer (README "When Redis does not answer"):
- checking a token *fails open*, like every other use of a bearer token: the token's signature
  and expiry still hold, only a sign-out made in the last 15 minutes is not seen until Redis is
  back. After a failure the check is skipped for ``OUTAGE_SECONDS``, so an outage does not add
  the Redis read timeout to every request;
- revoking *fails closed*: it runs inside the sign-out's (or password reset's) transaction, so
  if Redis cannot record it, it is refused with SERVICE_UNAVAILABLE and changes nothing, and the
  client retries. A replayed refresh token revokes its family in PostgreSQL whatever happens;
  its access tokens are revoked in Redis when it answers;
- the WebSocket watch *fails open*: it tries again at the next tick, and the connection still
  ends at its token's expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from spirit_tours.core.errors import DomainError, ErrorCode, unauthenticated

log = logging.getLogger(__name__)

KEY_PREFIX = "revoked-session:"
# A revocation outlives the longest-lived token of its session by this margin (clock skew
# between the servers that issue and check tokens).
_MARGIN_SECONDS = 60
WATCH_SECONDS = 2.0
OUTAGE_SECONDS = 5.0
_RETRY_AFTER_SECONDS = 30


def _key(session_id: uuid.UUID) -> str:
    return KEY_PREFIX + session_id.hex


class SessionRevocations:
    def __init__(self, redis: Redis, access_token_ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = access_token_ttl_seconds + _MARGIN_SECONDS
        self._unreadable_until = 0.0

    async def revoke(self, session_ids: Iterable[uuid.UUID], *, best_effort: bool = False) -> None:
        """Refuse every access token of these sessions from now on. Raises SERVICE_UNAVAILABLE
        when Redis cannot record it (only logs with ``best_effort``)."""
        keys = [_key(session_id) for session_id in set(session_ids)]
        if not keys:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, b"1", ex=self._ttl)
                await pipe.execute()
        except (RedisError, OSError) as error:
            log.error("cannot record %d revoked session(s): %r", len(keys), error)
            if best_effort:
                return
            raise DomainError(
                ErrorCode.SERVICE_UNAVAILABLE,
                "Signing out is temporarily unavailable; try again in a moment.",
                retryAfterSeconds=_RETRY_AFTER_SECONDS,
            ) from None

    async def check(self, session_id: uuid.UUID) -> None:
        """Raise UNAUTHENTICATED (TOKEN_REVOKED) when the session has ended; accept it when
        Redis cannot tell (fails open, see the module docstring)."""
        if time.monotonic() < self._unreadable_until:
            return
        try:
            revoked = await self._redis.exists(_key(session_id))
        except (RedisError, OSError) as error:
            self._unreadable_until = time.monotonic() + OUTAGE_SECONDS
            log.warning("session revocations unreadable, accepting tokens for %.0f s: %r",
                        OUTAGE_SECONDS, error)  # fmt: skip
            return
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
