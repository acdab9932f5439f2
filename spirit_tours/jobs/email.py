"""E-mail through saq: one queue per priority, each with workers of its own, so a flood of
BULK mail never delays a HIGH message; three attempts with exponential backoff, then a
dead letter the operator can requeue."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from saq import Queue, Worker
from saq.queue.redis import RedisQueue

from spirit_tours.emails.transport import Transport
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailDeadLetter

log = logging.getLogger(__name__)

ATTEMPTS = 3
RETRY_DELAY_SECONDS = 2.0


class Priority(StrEnum):
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
    BULK = "BULK"


# Concurrent sends per queue in one worker process.
CONCURRENCY = {Priority.HIGH: 4, Priority.NORMAL: 4, Priority.LOW: 2, Priority.BULK: 2}


def queue_name(priority: Priority) -> str:
    return f"email-{priority.value.lower()}"


def email_queues(redis_url: str) -> dict[Priority, Queue]:
    redis = Redis.from_url(redis_url)
    return {priority: RedisQueue(redis, name=queue_name(priority)) for priority in Priority}


async def enqueue_email(
    queues: Mapping[Priority, Queue],
    *,
    template: str,
    locale: str,
    to: str,
    context: Mapping[str, Any],
    priority: Priority = Priority.NORMAL,
    scheduled: datetime | None = None,
) -> None:
    """Queue a message; ``scheduled`` delays it to that moment."""
    await queues[priority].enqueue(
        "send_email",
        template=template,
        locale=locale,
        to=to,
        context=dict(context),
        lane=priority.value,  # not "priority": saq takes that name for a field of its own
        retries=ATTEMPTS,
        retry_delay=RETRY_DELAY_SECONDS,
        retry_backoff=False,
        scheduled=int(scheduled.timestamp()) if scheduled else 0,
        timeout=60,
    )


async def send_email(
    ctx: dict[str, Any],
    *,
    template: str,
    locale: str,
    to: str,
    context: dict[str, Any],
    lane: str,
) -> str:
    """Render and send one message. The last failed attempt becomes a dead letter."""
    job = ctx["job"]
    try:
        message = ctx["render"](template, locale, context, to)
        transport: Transport = ctx["transport"]
        await transport.send(message)
    except Exception as error:
        if job.attempts < job.retries:
            # saq retries it; the delay doubles each time (2 s, 4 s, …), no jitter, so a
            # refusing server sees a predictable, growing pause.
            job.retry_backoff = False
            job.retry_delay = RETRY_DELAY_SECONDS * 2 ** (job.attempts - 1)
            raise
        log.warning("e-mail %s to %s dead-lettered: %s", template, to, error)
        sessions: SessionFactory = ctx["sessions"]
        async with sessions() as session, session.begin():
            session.add(
                EmailDeadLetter(template=template, locale=locale, recipient=to,
                                priority=lane, context=context, attempts=job.attempts,
                                last_error=f"{type(error).__name__}: {error}"[:2000])
            )  # fmt: skip
        return "dead-lettered"
    return "sent"


def renderer(sender: str, message_id_domain: str) -> Any:
    """The worker's renderer: template, locale, context, recipient → a complete message."""
    from spirit_tours.emails.render import render  # the templates load on first use

    def render_for(template: str, locale: str, context: dict[str, Any], to: str) -> EmailMessage:
        return render(template, locale, context, to=to, sender=sender,
                      message_id_domain=message_id_domain)  # fmt: skip

    return render_for


def email_workers(queues: Mapping[Priority, Queue], startup: Any, shutdown: Any) -> list[Worker]:
    """One saq worker per priority queue, each with its own concurrency."""
    return [
        Worker(
            queues[priority],
            functions=[send_email],
            concurrency=CONCURRENCY[priority],
            startup=startup,
            shutdown=shutdown,
        )
        for priority in Priority
    ]
