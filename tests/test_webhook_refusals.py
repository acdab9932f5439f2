"""The per-address limit on refused webhook deliveries, as several server processes see it:
the process that counts the refusal reaching the limit refuses the next delivery at once, the
others learn it within ``CLEAR_SECONDS`` (each remembers an address under the limit that long,
so a provider's stream of deliveries costs a Redis round trip per address and second)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from spirit_tours.core.enums import Provider
from spirit_tours.payments.refusals import CLEAR_SECONDS, WebhookRefusals

ADDRESS = "198.51.100.77"


async def test_the_counting_process_refuses_at_once_and_the_others_within_a_second(
    redis: Redis,
) -> None:
    here, there = WebhookRefusals(redis, per_minute=3), WebhookRefusals(redis, per_minute=3)
    assert await there.retry_after(ADDRESS) is None  # remembered as under the limit
    for _ in range(3):
        assert await here.retry_after(ADDRESS) is None
        await here.record(Provider.STRIPE, ADDRESS, "invalid signature")
    wait = await here.retry_after(ADDRESS)
    assert wait is not None
    assert 0 < wait <= 60
    assert await there.retry_after(ADDRESS) is None  # not yet: it remembered the address clear
    await asyncio.sleep(CLEAR_SECONDS + 0.1)
    wait = await there.retry_after(ADDRESS)
    assert wait is not None
    assert 0 < wait <= 60
    # Other addresses are not affected, in either process.
    assert await here.retry_after("198.51.100.78") is None
    assert await there.retry_after("198.51.100.78") is None


async def test_a_limit_learnt_from_redis_lasts_no_longer_than_its_window(redis: Redis) -> None:
    """Once the window's counter expires, the address is served again: a process remembers a
    limit no longer than the counter it read lives."""
    here, there = WebhookRefusals(redis, per_minute=2), WebhookRefusals(redis, per_minute=2)
    for _ in range(2):
        await here.record(Provider.PAYPAL, ADDRESS, "invalid signature")
    await redis.expire(f"webhook-refusals:{ADDRESS}", 1)  # the window ends in a second
    assert await there.retry_after(ADDRESS) == 1
    await asyncio.sleep(1.2)
    assert await there.retry_after(ADDRESS) is None


async def test_deleting_an_addresss_counter_lifts_its_limit_within_a_second(redis: Redis) -> None:
    """What an operator does for a provider refused after a secret rotation, once fixed."""
    here = WebhookRefusals(redis, per_minute=2)
    for _ in range(2):
        await here.record(Provider.STRIPE, ADDRESS, "invalid signature")
    assert await here.retry_after(ADDRESS) is not None
    await redis.delete(f"webhook-refusals:{ADDRESS}")
    await asyncio.sleep(CLEAR_SECONDS + 0.1)
    assert await here.retry_after(ADDRESS) is None


async def test_without_redis_nothing_is_limited_even_past_a_limit_of_one() -> None:
    """Fail-open: a refusal that Redis could not count limits nobody, not even locally."""
    unreachable = Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        refusals = WebhookRefusals(unreachable, per_minute=1)
        await refusals.record(Provider.STRIPE, ADDRESS, "invalid signature")
        assert await refusals.retry_after(ADDRESS) is None
    finally:
        await unreachable.aclose()
