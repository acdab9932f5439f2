"""The saq worker process: its queue, job functions, cron schedule and lifecycle."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from saq import CronJob, Queue, Worker
from saq.queue.redis import RedisQueue

from spirit_tours.config import Settings
from spirit_tours.jobs.bookings import payment_reminders
from spirit_tours.jobs.maintenance import purge_refresh_tokens
from spirit_tours.jobs.payments import execute_due_refunds
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.persistence.database import create_engine, create_session_factory

MAINTENANCE_QUEUE = "maintenance"


def maintenance_queue(redis_url: str) -> Queue:
    return RedisQueue(Redis.from_url(redis_url), name=MAINTENANCE_QUEUE)


def build_worker(
    queue: Queue, database_url: str, *, settings: Settings | None = None, concurrency: int = 4
) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["engine"] = create_engine(database_url, pool_size=concurrency)
        ctx["sessions"] = create_session_factory(ctx["engine"])
        ctx["payments"] = PaymentProviders.from_settings(settings or Settings())

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["engine"].dispose()

    return Worker(
        queue,
        functions=[purge_refresh_tokens, payment_reminders, execute_due_refunds],
        cron_jobs=[
            CronJob(purge_refresh_tokens, cron="17 * * * *"),
            CronJob(payment_reminders, cron="5 * * * *"),
            CronJob(execute_due_refunds, cron="* * * * *"),
        ],
        concurrency=concurrency,
        startup=startup,
        shutdown=shutdown,
    )
