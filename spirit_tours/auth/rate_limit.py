"""Cost points per viewer and minute, counted in Redis (a fixed window per minute).

Each operation adds its static cost (``schema.query_cost``) to the viewer's counter for the
current minute: one pipelined round trip (INCRBY + EXPIRE). Past the limit the operation is
refused until the minute ends; refused operations count too, so hammering does not help.

Fail-open: the limiter protects capacity, it is not a security boundary, so when Redis does not
answer within ``timeout_seconds`` (stalled, down, pool exhausted) the operation goes through and
a warning is logged — a stalled Redis never hangs a request here.
"""

from __future__ import annotations

import asyncio
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from spirit_tours.core.clock import epoch_seconds

log = logging.getLogger("spirit_tours.rate_limit")

WINDOW_SECONDS = 60


class CostRateLimiter:
    def __init__(self, *, points_per_minute: int, timeout_seconds: float) -> None:
        self.points_per_minute = points_per_minute
        self.timeout_seconds = timeout_seconds

    async def charge(self, redis: Redis, who: str, cost: int) -> int | None:
        """Add ``cost`` to ``who``'s minute. None when within the limit (or not checked),
        else the seconds until the window ends."""
        if self.points_per_minute <= 0:
            return None
        now = epoch_seconds()
        window = int(now // WINDOW_SECONDS)
        key = f"rate-limit:{who}:{window}"
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async with redis.pipeline(transaction=False) as pipe:
                    pipe.incrby(key, cost)
                    pipe.expire(key, 2 * WINDOW_SECONDS)
                    spent, _ = await pipe.execute()
        except (TimeoutError, RedisError, OSError) as error:
            log.warning("rate limit not checked for %s (Redis: %r); letting it through", who, error)
            return None
        if int(spent) <= self.points_per_minute:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
