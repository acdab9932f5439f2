"""E-mail jobs on saq: one queue per priority (``spirit_tours.emails.queueing``), each with
workers of its own, so a flood of BULK mail never delays a HIGH message. A job only names a
stored message; ``spirit_tours.emails.delivery`` makes the attempt.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from saq import Queue, Worker

from spirit_tours.core.clock import now_utc
from spirit_tours.emails.delivery import DeliveryPolicy, deliver
from spirit_tours.emails.queueing import (
    EmailQueues,
    Priority,
    enqueue_messages,
    queue_name,
    stranded,
)
from spirit_tours.jobs.lean_queue import LeanJobQueue
from spirit_tours.persistence.database import SessionFactory

log = logging.getLogger(__name__)

# Concurrent sends per queue in one worker process. BULK runs many at once: its sends wait on
# the SMTP server, the database and Redis far more than on this process, and the claims and
# outcomes of concurrent jobs go to the database together (``emails.claims``). HIGH has
# workers of its own and is first in line for a free SMTP connection, so it never waits behind
# them.
CONCURRENCY = {Priority.HIGH: 4, Priority.NORMAL: 4, Priority.LOW: 2, Priority.BULK: 32}


def email_queues(redis_url: str, *, client: Redis | None = None) -> dict[Priority, Queue]:
    """The priority queues, on ``client`` (with the server's timeouts) or a client of their own."""
    redis = client or Redis.from_url(redis_url)
    return {priority: LeanJobQueue(redis, name=queue_name(priority)) for priority in Priority}


async def send_email(ctx: dict[str, Any], *, message_id: str) -> str:
    """saq's entry point for one attempt at one stored message."""
    job = ctx["job"]

    def retry_in(seconds: float) -> None:
        job.retry_backoff = False
        job.retry_delay = seconds

    # The lease ends before saq would sweep this job as stuck, and the send before the lease.
    lease = max(float(job.timeout or 60) - 1.0, 1.0)
    return await deliver(
        ctx["claims"],
        ctx["composer"],
        ctx["transport"],
        uuid.UUID(message_id),
        lease=lease,
        policy=ctx.get("delivery") or DeliveryPolicy(),
        retry_in=retry_in,
    )


async def dispatch_stranded(ctx: dict[str, Any]) -> int:
    """Re-hand to saq the messages overdue by more than a minute (QUEUED, or SENDING by a
    worker that died), HIGH ones first."""
    sessions: SessionFactory = ctx["sessions"]
    async with sessions() as session:
        overdue = await stranded(session, now_utc() - timedelta(minutes=1), per_lane=2000)
    settings = ctx.get("settings")
    timeout = settings.email_send_timeout_seconds if settings else 60
    added = await enqueue_messages(ctx["email_queues"], overdue, timeout_seconds=timeout)
    if added:
        log.warning("re-queued %d e-mail messages whose jobs were lost", added)
    return added


def email_workers(
    queues: EmailQueues,
    startup: Any,
    shutdown: Any,
    *,
    sweep_seconds: int = 60,
    kind: type[Worker] = Worker,
    dequeue_timeout: float = 0.0,
) -> list[Worker]:
    """One saq worker per priority queue, each with its own concurrency."""
    return [
        kind(
            queues[priority],
            functions=[send_email],
            concurrency=CONCURRENCY[priority],
            startup=startup,
            shutdown=shutdown,
            timers={"sweep": sweep_seconds},
            dequeue_timeout=dequeue_timeout,
        )
        for priority in Priority
    ]
