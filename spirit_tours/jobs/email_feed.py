"""The e-mail feed's loop in a worker process: a batch of outbox events every second, more
while behind (``spirit_tours.emails.feed`` reads them and queues the mail they cause)."""

from __future__ import annotations

import asyncio
import logging

from spirit_tours.emails.feed import BATCH, feed_once
from spirit_tours.emails.queueing import EmailQueues, enqueue_messages
from spirit_tours.emails.triggers import FrontEnd
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)
_IDLE_SECONDS = 1.0


class EmailFeed:
    """The feed's loop in a worker process: a batch every second, more while behind."""

    def __init__(
        self,
        sessions: SessionFactory,
        queues: EmailQueues,
        links: FrontEnd,
        message_id_domain: str,
        *,
        send_timeout_seconds: int = 60,
    ) -> None:
        self._sessions, self._queues, self._links = sessions, queues, links
        self._domain = message_id_domain
        self._timeout = send_timeout_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="email-feed")

    @property
    def running(self) -> bool:
        """Started and not ended (its loop survives every error; ending means it died)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    async def _run(self) -> None:
        while True:
            try:
                read, queued = await feed_once(self._sessions, self._links, self._domain)
                # After the commit: a crash here leaves the rows QUEUED for the dispatcher.
                await enqueue_messages(self._queues, queued, timeout_seconds=self._timeout)
            except Exception:
                log.exception("e-mail feed failed; retrying")
                read = 0
            if read < BATCH:
                await asyncio.sleep(_IDLE_SECONDS)
