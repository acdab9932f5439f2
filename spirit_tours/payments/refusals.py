"""Webhook deliveries whose signature failed: counted, never stored, limited per client address.

Anyone can POST to ``/webhooks/{provider}``. A refused delivery leaves no row (nothing to fill
the disk with); it increments ``spirit_webhook_refusals_total`` and a per-address counter in
Redis over a one-minute window. Past ``SPIRIT_WEBHOOK_REFUSALS_PER_MINUTE`` the address is
answered ``429`` before its body is read or verified (PayPal's check costs a certificate
fetch). Providers sign correctly, so their deliveries never count.

Each process remembers for ``CLEAR_SECONDS`` that an address was under the limit, and until
its window ends that it was over it, so a provider's steady stream of deliveries costs a Redis
round trip per address per second, not one per delivery. The process that counts the refusal
reaching the limit answers 429 from the next delivery on; the others within ``CLEAR_SECONDS``.
At most ``REMEMBERED`` addresses are remembered (then forgotten all at once), so a flood from
many addresses cannot grow it.

Fail-open: when Redis does not answer, deliveries are verified anyway — a genuine payment
confirmation matters more than the limit, and nothing unverified is stored either way.
"""

from __future__ import annotations

import logging
import math
import time

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from spirit_tours.core.enums import Provider
from spirit_tours.core.metrics import PROCESS

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
CLEAR_SECONDS = 1.0
REMEMBERED = 10_000
REFUSALS = Counter(
    "spirit_webhook_refusals", "Webhook deliveries refused (bad signature, or rate-limited)",
    ["provider", "reason"], registry=PROCESS,
)  # fmt: skip


def _key(client: str) -> str:
    return f"webhook-refusals:{client}"


class WebhookRefusals:
    """One per process (``Services.webhook_refusals``): it remembers what it learnt."""

    def __init__(self, redis: Redis, *, per_minute: int) -> None:
        self._redis = redis
        self._limit = per_minute
        self._clear_until: dict[str, float] = {}  # address → time.monotonic()
        self._limited_until: dict[str, float] = {}

    @staticmethod
    def _remember(table: dict[str, float], client: str, until: float) -> None:
        if len(table) >= REMEMBERED:
            table.clear()
        table[client] = until

    async def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may deliver again, or None when it is under the limit."""
        now = time.monotonic()
        limited_until = self._limited_until.get(client, 0.0)
        if limited_until > now:
            return max(math.ceil(limited_until - now), 1)
        if self._clear_until.get(client, 0.0) > now:
            return None
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(_key(client))
                pipe.ttl(_key(client))
                count, ttl = await pipe.execute()
        except RedisError as error:
            log.warning("webhook refusal counter unavailable (not limiting): %s", error)
            return None
        if count is None or int(count) < self._limit:
            self._remember(self._clear_until, client, now + CLEAR_SECONDS)
            return None
        wait = max(int(ttl), 1)
        self._remember(self._limited_until, client, now + wait)
        return wait

    async def record(self, provider: Provider, client: str, reason: str) -> None:
        """Count one refused delivery; log the first of a window and the one reaching the limit
        (a log capped per address, not one line per forged request)."""
        REFUSALS.labels(provider.value, "signature").inc()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(_key(client), 0, ex=WINDOW_SECONDS, nx=True)  # Redis 6 has no EXPIRE NX
                pipe.incr(_key(client))
                pipe.ttl(_key(client))
                _, count, ttl = await pipe.execute()
        except RedisError as error:
            log.warning("webhook refusal counter unavailable: %s", error)
            count, ttl = 1, 0
        if count >= self._limit:
            self._clear_until.pop(client, None)
            until = time.monotonic() + max(int(ttl), 1)
            self._remember(self._limited_until, client, until)
        if count == 1 or count == self._limit:
            log.warning(
                "refused %s webhook from %s: %s (%d refused this minute from there%s)",
                provider.value, client, reason, count,
                "; now limited" if count == self._limit else "",
            )  # fmt: skip

    @staticmethod
    def limited(provider: Provider) -> None:
        REFUSALS.labels(provider.value, "rate_limited").inc()
