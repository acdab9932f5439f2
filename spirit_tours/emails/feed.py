"""Turn domain events into e-mail: read the outbox in position order after the feed's own
cursor, queue the messages each event causes (``triggers.py`` says which) and move the
cursor, in one transaction. The worker's loop (``spirit_tours.jobs.email_feed``) calls
:func:`feed_once` and hands the new messages to saq.

A replayed batch queues nothing twice (each message's ``source_key`` names its event), and
only one process reads at a time (the cursor row is locked, others skip it).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.tracing import continued, current_traceparent
from spirit_tours.emails.queueing import Queued, queue_email
from spirit_tours.emails.triggers import FrontEnd, outgoing_for
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailFeedCursor
from spirit_tours.persistence.events import OutboxEvent

log = logging.getLogger(__name__)
CURSOR = "email"
BATCH = 200


async def feed_once(
    sessions: SessionFactory, links: FrontEnd, message_id_domain: str
) -> tuple[int, list[Queued]]:
    """Process one batch of events: (events read, messages queued)."""
    queued: list[Queued] = []
    async with sessions() as session, session.begin():
        if not await _events_waiting(session):
            return 0, []
        await session.execute(
            insert(EmailFeedCursor).values(name=CURSOR, position=0).on_conflict_do_nothing()
        )
        cursor = await session.scalar(
            select(EmailFeedCursor)
            .where(EmailFeedCursor.name == CURSOR)
            .with_for_update(skip_locked=True)
        )
        if cursor is None:
            return 0, []  # another process is reading
        events = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.position > cursor.position)
                .order_by(OutboxEvent.position)
                .limit(BATCH)
            )
        )
        for event in events:
            try:
                # In the trace of the request that caused the event, when it was traced.
                with continued(event.trace_parent, f"e-mail for {event.kind}"):
                    async with session.begin_nested():  # one bad event must not stop the mail
                        queued.extend(await _queue_for(session, event, links, message_id_domain))
            except DBAPIError:
                raise  # the database's trouble: the whole batch is read again
            except Exception:  # the event's own (a payload no trigger understands): logged
                log.exception("e-mail for event %s (%s) skipped", event.position, event.kind)
        if events:
            cursor.position = events[-1].position or cursor.position
    return len(events), queued


async def _events_waiting(session: AsyncSession) -> bool:
    """Whether an event lies past the cursor: read without a lock, so an idle feed polling every
    second takes no row lock and so no transaction id (one would change the database snapshot
    and end every response-cache entry of the API each second)."""
    read_up_to = (
        select(EmailFeedCursor.position).where(EmailFeedCursor.name == CURSOR).scalar_subquery()
    )
    waiting = await session.scalar(
        select(OutboxEvent.position)
        .where(OutboxEvent.position > func.coalesce(read_up_to, 0))
        .limit(1)
    )
    return waiting is not None


async def _queue_for(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd, message_id_domain: str
) -> list[Queued]:
    queued = []
    for out in await outgoing_for(session, event, links):
        suffix = f":{out.about}" if out.about else ""
        message = await queue_email(
            session,
            template=out.template,
            to=out.user.email,
            locale=out.user.locale.value,
            context=out.context,
            message_id_domain=message_id_domain,
            user_id=out.user.id,
            source_key=f"event:{event.position}:{out.template}:{out.user.id}{suffix}",
        )
        if message is not None:
            # Its job continues this trace (the span of the event's e-mail, if any).
            trace_parent = current_traceparent()
            queued.append(replace(message, trace_parent=trace_parent) if trace_parent else message)
    return queued
