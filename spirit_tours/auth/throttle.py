"""Failed-login counters in Redis, per account and per client address.

Past the limit a login is refused before the password is even checked, until the window
expires; each failure also answers a little later than the previous one.

Without Redis the counters can be neither read nor written, so the throttle fails closed: a
sign-in is refused with SERVICE_UNAVAILABLE (within the client's read timeout) rather than let
unlimited guesses through during an outage. Only clearing the counter after a successful
sign-in fails open: the counter then simply expires with its window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from spirit_tours.core.errors import DomainError, ErrorCode

_MAX_DELAY_SECONDS = 2.0
_RETRY_AFTER_SECONDS = 30
log = logging.getLogger(__name__)


@contextlib.contextmanager
def _counters_required() -> Iterator[None]:
    """Redis unreachable, stalled or refusing the command: a typed refusal, no Redis details."""
    try:
        yield
    except (RedisError, OSError) as error:
        log.error("login throttle unavailable, refusing sign-ins: %r", error)
        raise DomainError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "Sign-in is temporarily unavailable; try again in a moment.",
            retryAfterSeconds=_RETRY_AFTER_SECONDS,
        ) from None


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        *,
        max_per_account: int,
        max_per_ip: int,
        window_seconds: int,
    ) -> None:
        self._redis = redis
        self._max_per_account = max_per_account
        self._max_per_ip = max_per_ip
        self._window = window_seconds

    @staticmethod
    def _account_key(email: str) -> str:
        return "login-failures:account:" + hashlib.sha256(email.lower().encode()).hexdigest()

    @staticmethod
    def _ip_key(ip: str) -> str:
        return f"login-failures:ip:{ip}"

    async def check(self, email: str, ip: str) -> None:
        """Raise TOO_MANY_ATTEMPTS when either counter is at its limit."""
        account_key, ip_key = self._account_key(email), self._ip_key(ip)
        with _counters_required():
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in (account_key, ip_key):
                    pipe.get(key)
                    pipe.ttl(key)
                account, account_ttl, by_ip, ip_ttl = await pipe.execute()
        blocked_for = 0
        if account is not None and int(account) >= self._max_per_account:
            blocked_for = max(blocked_for, int(account_ttl))
        if by_ip is not None and int(by_ip) >= self._max_per_ip:
            blocked_for = max(blocked_for, int(ip_ttl))
        if blocked_for:
            raise DomainError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"Too many failed sign-in attempts; try again in {blocked_for} seconds.",
                retryAfterSeconds=blocked_for,
            )

    async def record_failure(self, email: str, ip: str) -> None:
        account_key, ip_key = self._account_key(email), self._ip_key(ip)
        with _counters_required():
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in (account_key, ip_key):
                    pipe.incr(key)
                    pipe.expire(key, self._window, nx=True)
                failures, _, _, _ = await pipe.execute()
        await asyncio.sleep(min(_MAX_DELAY_SECONDS, 0.05 * 2 ** int(failures)))

    async def record_success(self, email: str) -> None:
        try:
            await self._redis.delete(self._account_key(email))
        except (RedisError, OSError) as error:  # fails open: the counter expires on its own
            log.warning("could not clear the failed-login counter: %r", error)
