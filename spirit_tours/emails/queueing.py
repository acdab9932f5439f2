"""Queue mail: as rows in PostgreSQL, in the caller's transaction (a message exists exactly
when the change that caused it commits), then handed to saq, one queue per priority, after
the commit. The workers (``spirit_tours.jobs.email``) take the jobs from there.

The message itself lives in PostgreSQL (``email_messages``); a saq job only names it. A job
lost with Redis, or a worker killed mid-send, leaves the row QUEUED, and the dispatcher
hands it to saq again: nothing is lost, and a row that is no longer QUEUED is never sent
twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from enum import StrEnum

from saq import Queue
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import epoch_seconds, now_utc
from spirit_tours.core.enums import EmailStatus
from spirit_tours.core.tracing import attached
from spirit_tours.emails.catalog import check_locale
from spirit_tours.emails.context import encode_context
from spirit_tours.emails.render import template_info
from spirit_tours.permissions.mail import recipient_of, refused_keys
from spirit_tours.persistence.emails import EmailMessage, EmailSuppression

log = logging.getLogger(__name__)

ATTEMPTS = 3
RETRY_DELAY_SECONDS = 2.0

# Filled in by the composer: producers never build these links themselves.
GENERATED_KEYS = frozenset({"unsubscribe_url"})


@dataclass(frozen=True, slots=True)
class Queued:
    """What the dispatcher needs to hand a new message to its saq queue."""

    id: uuid.UUID
    priority: str
    scheduled_at: datetime
    # The trace its job continues (core/tracing.py): a message queued for a traced event.
    trace_parent: str | None = None


class Priority(StrEnum):
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
    BULK = "BULK"


EmailQueues = Mapping[Priority, Queue]
_RANKS = {priority.value: rank for rank, priority in enumerate(Priority)}


def lane_rank(priority: str) -> int:
    """0 for HIGH up to 3 for BULK: who goes first when lanes wait for the same thing (a free
    SMTP connection)."""
    return _RANKS.get(priority, len(_RANKS))


def queue_name(priority: Priority) -> str:
    return f"email-{priority.value.lower()}"


async def is_suppressed(session: AsyncSession, email: str, template: str) -> bool:
    row = await session.get(EmailSuppression, (email.lower(), template))
    return row is not None


async def queue_email(
    session: AsyncSession,
    *,
    template: str,
    to: str,
    locale: str,
    context: Mapping[str, object],
    message_id_domain: str,
    user_id: uuid.UUID | None = None,
    source_key: str | None = None,
    scheduled_at: datetime | None = None,
    priority: str | None = None,
) -> Queued | None:
    """Add a message; None when ``source_key`` was already queued or the recipient opted out
    of this marketing mail (kept as SUPPRESSED for the statistics, never sent)."""
    info = template_info(template)
    check_locale(locale)
    if refused := refused_keys(template, info.required | context.keys()):
        raise ValueError(
            f"E-mail template {template!r} would carry {refused}, which its recipient "
            f"({recipient_of(template).value}) must never see (docs/privacy.md §2.6)."
        )
    missing = sorted(info.required - GENERATED_KEYS - context.keys())
    if missing:
        raise ValueError(f"E-mail template {template!r} needs context keys {missing}.")
    suppressed = info.marketing and await is_suppressed(session, to, template)
    message_id = uuid.uuid4()
    values = {
        "id": message_id,
        "template": template,
        "locale": locale,
        "recipient": to,
        "user_id": user_id,
        "priority": priority or info.priority,
        "context": encode_context({k: v for k, v in context.items() if k in info.required}),
        "status": EmailStatus.SUPPRESSED if suppressed else EmailStatus.QUEUED,
        "source_key": source_key,
        "message_id": make_msgid(idstring=message_id.hex[:12], domain=message_id_domain),
        "created_at": now_utc(),
        "scheduled_at": scheduled_at or now_utc(),
    }
    inserted = await session.scalar(
        insert(EmailMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(EmailMessage.id)
    )
    if inserted is None or suppressed:
        return None
    return Queued(message_id, str(values["priority"]), values["scheduled_at"])  # type: ignore[arg-type]


async def stranded(session: AsyncSession, older_than: datetime, per_lane: int) -> list[Queued]:
    """Messages that should have gone by now, HIGH first, then NORMAL, LOW, BULK: QUEUED ones
    whose saq job was lost (a Redis restart without persistence, a crash between commit and
    enqueue) or is still waiting, and SENDING ones whose worker died (lease over)."""
    overdue = or_(
        and_(EmailMessage.status == EmailStatus.QUEUED, EmailMessage.scheduled_at < older_than),
        and_(EmailMessage.status == EmailStatus.SENDING, EmailMessage.lease_until < older_than),
    )
    found: list[Queued] = []
    for lane in ("HIGH", "NORMAL", "LOW", "BULK"):
        rows = await session.execute(
            select(EmailMessage.id, EmailMessage.priority, EmailMessage.scheduled_at)
            .where(overdue, EmailMessage.priority == lane)
            .order_by(EmailMessage.scheduled_at)
            .limit(per_lane)
        )
        found.extend(Queued(row.id, row.priority, row.scheduled_at) for row in rows)
    return found


async def enqueue_messages(
    queues: EmailQueues, messages: Iterable[Queued], *, timeout_seconds: int = 60
) -> int:
    """Hand messages to their queues. The job key is the message id, so a message already
    waiting or running in saq is not queued twice. Returns how many were new to saq."""
    added = 0
    now = epoch_seconds()
    for message in messages:
        at = message.scheduled_at.timestamp()
        with attached(message.trace_parent):
            job = await queues[Priority(message.priority)].enqueue(
                "send_email",
                key=f"email:{message.id}",
                message_id=str(message.id),
                retries=ATTEMPTS + 2,  # the row's own count decides; saq must not give up first
                retry_delay=RETRY_DELAY_SECONDS,
                retry_backoff=False,
                # 0 puts it straight on the queue; a time waits for saq's once-a-second scheduler
                scheduled=int(at) if at > now + 1 else 0,
                timeout=timeout_seconds,
            )
        added += job is not None
    return added


async def hand_over(
    queues: EmailQueues, messages: Iterable[Queued], *, timeout_seconds: int
) -> None:
    """Enqueue right after a commit; if Redis fails now, the rows are committed anyway and the
    dispatcher hands them over within minutes — the caller's change stands, so no error."""
    try:
        await enqueue_messages(queues, messages, timeout_seconds=timeout_seconds)
    except Exception as error:
        log.warning("e-mail left to the dispatcher (could not enqueue: %s)", error)
