"""Webhook deliveries whose signature failed: counted, never stored, limited per client address.

Anyone can POST to ``/webhooks/{provider}``. A refused delivery leaves no row (nothing to fill
the disk with); it increments ``spirit_webhook_refusals_total`` and a per-address counter in
Redis over a one-minute window. Past ``SPIRIT_WEBHOOK_REFUSALS_PER_MINUTE`` the address is
answered ``429`` before its body is read or verified (PayPal's check costs a certificate
fetch). Providers sign correctly, so their deliveries never count.

Each process remembers what Redis said of an address for ``CLEAR_SECONDS`` (under the limit,
or over it and until when), so a provider's steady stream of deliveries costs a Redis round
trip per address per second, not one per delivery. The process that counts the refusal
reaching the limit answers 429 from the next delivery on; the others within ``CLEAR_SECONDS``.
Deleting an address's counter in Redis lifts its limit everywhere within as long. At most
``REMEMBERED`` addresses are remembered (then forgotten all at once), so a flood from many
addresses cannot grow it.

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
        # address → (ask Redis again after, refused until), in time.monotonic(); "refused
        # until" is 0 for an address under the limit.
        self._known: dict[str, tuple[float, float]] = {}

    def _remember(self, client: str, now: float, refused_until: float) -> None:
        if client not in self._known and len(self._known) >= REMEMBERED:
            self._known.clear()
        self._known[client] = (now + CLEAR_SECONDS, refused_until)

    async def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may deliver again, or None when it is under the limit."""
        now = time.monotonic()
        known = self._known.get(client)
        if known is not None and known[0] > now:
            refused_until = known[1]
            return max(math.ceil(refused_until - now), 1) if refused_until > now else None
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(_key(client))
                pipe.ttl(_key(client))
                count, ttl = await pipe.execute()
        except RedisError as error:
            log.warning("webhook refusal counter unavailable (not limiting): %s", error)
            return None
        if count is None or int(count) < self._limit:
            self._remember(client, now, 0.0)
            return None
        wait = max(int(ttl), 1)
        self._remember(client, now, now + wait)
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
            log.warning("refused %s webhook from %s: %s (not counted: %s)",
                        provider.value, client, reason, error)  # fmt: skip
            return
        if count >= self._limit:
            now = time.monotonic()
            self._remember(client, now, now + max(int(ttl), 1))
        if count == 1 or count == self._limit:
            log.warning(
                "refused %s webhook from %s: %s (%d refused this minute from there%s)",
                provider.value, client, reason, count,
                "; now limited" if count == self._limit else "",
            )  # fmt: skip

    @staticmethod
    def limited(provider: Provider) -> None:
        REFUSALS.labels(provider.value, "rate_limited").inc()
