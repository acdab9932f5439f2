"""E-mail through saq: one queue per priority, each with workers of its own, so a flood of
BULK mail never delays a HIGH message; three attempts with exponential backoff, then the
message becomes a dead letter the operator can requeue.

The message itself lives in PostgreSQL (``email_messages``); a saq job only names it. A job
lost with Redis, or a worker killed mid-send, leaves the row QUEUED, and the dispatcher
hands it to saq again: nothing is lost, and a row that is no longer QUEUED is never sent
twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from saq import Queue, Worker
from saq.queue.redis import RedisQueue
from sqlalchemy import select

from spirit_tours.emails.compose import Composer
from spirit_tours.emails.queueing import Queued, is_suppressed, stranded
from spirit_tours.emails.render import template_info
from spirit_tours.emails.transport import Transport
from spirit_tours.persistence.base import utcnow
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage, EmailStatus

log = logging.getLogger(__name__)

ATTEMPTS = 3
RETRY_DELAY_SECONDS = 2.0


class Priority(StrEnum):
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
    BULK = "BULK"


# Concurrent sends per queue in one worker process.
CONCURRENCY = {Priority.HIGH: 4, Priority.NORMAL: 4, Priority.LOW: 2, Priority.BULK: 4}
EmailQueues = Mapping[Priority, Queue]


def queue_name(priority: Priority) -> str:
    return f"email-{priority.value.lower()}"


def email_queues(redis_url: str) -> dict[Priority, Queue]:
    redis = Redis.from_url(redis_url)
    return {priority: RedisQueue(redis, name=queue_name(priority)) for priority in Priority}


async def enqueue_messages(
    queues: EmailQueues, messages: Iterable[Queued], *, timeout_seconds: int = 60
) -> int:
    """Hand messages to their queues. The job key is the message id, so a message already
    waiting or running in saq is not queued twice. Returns how many were new to saq."""
    added = 0
    now = time.time()
    for message in messages:
        at = message.scheduled_at.timestamp()
        job = await queues[Priority(message.priority)].enqueue(
            "send_email",
            key=f"email:{message.id}",
            message_id=str(message.id),
            retries=ATTEMPTS,
            retry_delay=RETRY_DELAY_SECONDS,
            retry_backoff=False,
            # 0 puts it straight on the queue; a time waits for saq's once-a-second scheduler
            scheduled=int(at) if at > now + 1 else 0,
            timeout=timeout_seconds,
        )
        added += job is not None
    return added


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


async def send_email(ctx: dict[str, Any], *, message_id: str) -> str:
    """Render and send one stored message; the last failed attempt makes it a dead letter.

    The row stays locked while the SMTP server takes the message, so two jobs for the same
    message (a swept job racing its own retry) never both send it.
    """
    job = ctx["job"]
    sessions: SessionFactory = ctx["sessions"]
    composer: Composer = ctx["composer"]
    transport: Transport = ctx["transport"]
    failure: BaseException | None = None
    async with sessions() as session, session.begin():
        row = await session.scalar(
            select(EmailMessage)
            .where(EmailMessage.id == uuid.UUID(message_id))
            .where(EmailMessage.status == EmailStatus.QUEUED)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return "not queued"  # sent, dead-lettered or being sent by another job
        if template_info(row.template).marketing and await is_suppressed(
            session, row.recipient, row.template
        ):
            row.status = EmailStatus.SUPPRESSED
            return "suppressed"
        row.attempts += 1
        try:
            message, links = composer.compose(row)
            await transport.send(message)
        except Exception as error:
            failure = error
            row.last_error = _error_text(error)
            if job.attempts >= job.retries:
                row.status = EmailStatus.FAILED
                row.failed_at = utcnow()
                log.warning("e-mail %s to %s dead-lettered: %s", row.template, row.recipient, error)
                return "dead-lettered"
        else:
            row.status = EmailStatus.SENT
            row.sent_at = utcnow()
            row.links = links
            row.last_error = None
            return "sent"
    # saq retries it; the delay doubles each time (2 s, 4 s, …), no jitter, so a refusing
    # server sees a predictable, growing pause.
    job.retry_backoff = False
    job.retry_delay = RETRY_DELAY_SECONDS * 2 ** (job.attempts - 1)
    raise failure


async def dispatch_stranded(ctx: dict[str, Any]) -> int:
    """Re-hand to saq the QUEUED messages that are overdue by more than a minute."""
    sessions: SessionFactory = ctx["sessions"]
    async with sessions() as session:
        overdue = await stranded(session, utcnow() - timedelta(minutes=1), limit=5000)
    added = await enqueue_messages(ctx["email_queues"], overdue)
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
        )
        for priority in Priority
    ]
