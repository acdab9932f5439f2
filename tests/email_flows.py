"""A real SMTP server (aiosmtpd) for the tests, and the job workers running against it."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.queueing import Queued, enqueue_messages, queue_email
from spirit_tours.emails.smtp_pool import PoolLimits
from spirit_tours.emails.transport import SmtpTransport
from spirit_tours.jobs.worker import JobRunner
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailFeedCursor
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.events import OutboxEvent

DOMAIN = "spirit-tours.example"


class Inbox:
    """An SMTP server's handler: refuses while ``down``, stalls while ``stall`` is set,
    otherwise keeps what it receives. It also watches the connections (``ConnectionLog``) and
    can misbehave as relays do: hang up after a message's DATA without answering
    (``drop_after_data``), or answer the first MAIL of a connection that already carried
    ``close_reused_after`` messages with 421 and hang up (an idle timeout that the client
    notices only as it sends)."""

    def __init__(self) -> None:
        self.connections = ConnectionLog()
        self.drop_after_data: set[str] = set()  # recipients: their next DATA is dropped once
        self.dropped: dict[str, list[float]] = {}  # recipient → when its DATA was dropped
        self.close_reused_after: int | None = None
        self.server_idle_seconds: float | None = None  # the server hangs up idle connections
        self.closed_reused = 0
        self.data_delay = 0.0  # seconds each accepted message takes
        self.peers: list[tuple[str, int]] = []  # the connection each received message came on
        self.accepted_at: dict[str, list[float]] = {}  # recipient → when its message was taken
        self.down = False
        self.permanent = False
        self.stall: threading.Event | None = None  # set from the test's loop: thread-safe
        self.accept_after_stall = False
        self.stalled = 0
        self.refusals: dict[str, list[float]] = {}  # recipient → when refused
        self.received: list[EmailMessage] = []
        self.raw: list[bytes] = []  # the bytes of each received message, as they arrived

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if dropped := self.drop_after_data.intersection(envelope.rcpt_tos):
            self.drop_after_data -= dropped
            for recipient in dropped:
                self.dropped.setdefault(recipient, []).append(time.monotonic())
            cast(asyncio.Transport, server.transport).abort()  # the content came; no answer goes
            return "421 4.4.2 never sent"
        if self.down:
            for recipient in envelope.rcpt_tos:
                self.refusals.setdefault(recipient, []).append(time.monotonic())
            return "451 4.3.0 Try again later"
        if self.permanent:
            return "550 5.1.1 No such mailbox"
        if self.stall is not None:
            self.stalled += 1
            # a thread waits for the test's signal; the client may die meanwhile
            await asyncio.to_thread(self.stall.wait)
            if not self.accept_after_stall:
                return "421 4.3.0 Closing"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        self.raw.append(envelope.content)
        assert isinstance(session.peer, tuple)
        self.peers.append(session.peer)
        for recipient in envelope.rcpt_tos:
            self.accepted_at.setdefault(recipient, []).append(time.monotonic())
        if isinstance(server, WatchedSMTP):
            server.carried += 1
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.connections.quits += 1
        return "221 Bye"

    def per_connection(self) -> list[int]:
        """How many messages each connection carried, in the order they first carried one."""
        return list(Counter(self.peers).values())

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    def raw_headers(self, message: EmailMessage) -> list[bytes]:
        """The header section of a received message as it came over the wire, one raw
        (still folded) header per item."""
        index = next(i for i, m in enumerate(self.received) if m is message)
        head = self.raw[index].split(b"\r\n\r\n", 1)[0]
        headers: list[bytes] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and headers:
                headers[-1] += b"\r\n" + line  # a continuation: folded at whitespace
            else:
                headers.append(line)
        return headers


class ConnectionLog:
    """The SMTP connections a server saw, from EHLO to hang-up (counted on the server's
    thread, read by the test)."""

    def __init__(self) -> None:
        self.opened = 0
        self.open_now = 0
        self.most_open = 0
        self.quits = 0


class WatchedSMTP(SMTP):
    """aiosmtpd's server, counting its connections in the handler's ``ConnectionLog``."""

    carried = 0  # messages accepted on this connection
    counted = False  # said EHLO: a client's connection

    def __init__(self, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(inbox, **kwargs)
        self.inbox = inbox

    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802
        """Counted here rather than when the socket opens: the controller's own probe of the
        server at start-up is no client's connection."""
        if not self.counted:
            self.counted = True
            log = self.inbox.connections
            log.opened += 1
            log.open_now += 1
            log.most_open = max(log.most_open, log.open_now)
        await super().smtp_EHLO(hostname)

    def connection_lost(self, error: Exception | None) -> None:
        if self.counted:
            self.inbox.connections.open_now -= 1
        super().connection_lost(error)

    def _reset_timeout(self, duration: float | None = None) -> None:
        super()._reset_timeout(duration or self.inbox.server_idle_seconds)

    async def smtp_MAIL(self, arg: str) -> None:  # noqa: N802
        limit = self.inbox.close_reused_after
        if limit is not None and self.carried >= limit:
            self.inbox.closed_reused += 1
            await self.push("421 4.4.2 Idle too long, closing connection")
            assert self.transport is not None
            self.transport.close()
            return
        await super().smtp_MAIL(arg)


class WatchingController(Controller):
    def __init__(self, inbox: Inbox, **kwargs: Any) -> None:
        super().__init__(inbox, **kwargs)
        self.inbox = inbox

    def factory(self) -> SMTP:
        return WatchedSMTP(self.inbox, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = WatchingController(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        if inbox.stall is not None:
            inbox.stall.set()
        controller.stop()


def mail_settings(settings: Settings, port: int, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": None,
            "email_sender": f"Spirit Tours <no-reply@{DOMAIN}>",
            "email_retry_delay_seconds": 1.0,  # 1 s, then 2 s (60 s, 120 s in production)
            **changes,
        }
    )


@contextlib.asynccontextmanager
async def running_jobs(
    settings: Settings,
    port: int,
    *,
    sweep_seconds: int | None = None,
    retry_delay_seconds: float = 1.0,
    limits: PoolLimits | None = None,
) -> AsyncIterator[JobRunner]:
    """Every worker of a worker process (feed, e-mail lanes, maintenance) in this loop, its
    SMTP pool bounded by ``limits`` (by default: the settings' defaults)."""
    assert settings.database_url
    assert settings.redis_url
    runner = JobRunner(
        mail_settings(settings, port, email_retry_delay_seconds=retry_delay_seconds),
        settings.database_url,
        settings.redis_url,
        transport=SmtpTransport(f"smtp://127.0.0.1:{port}", timeout_seconds=10, limits=limits),
        sweep_seconds=sweep_seconds,
    )
    await runner.start()
    await first_sweep(runner)
    try:
        yield runner
    finally:
        await runner.stop()


async def first_sweep(runner: JobRunner) -> None:
    """saq's sweep, run once as a worker starts, aborts a job it catches between dequeue and
    ACTIVE (the job is retried): wait until every queue's first sweep took its lock."""
    for queue in [runner.maintenance, *runner.email_queues.values()]:
        for _ in range(1000):
            if await queue.redis.exists(queue.namespace("sweep")):
                break
            await asyncio.sleep(0.01)


async def until(check: Callable[[], Any], seconds: float, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def settled(runner: JobRunner, sessions: SessionFactory, seconds: float = 30) -> None:
    """Wait until nothing more can be sent: every outbox event published and turned into mail
    by the feed, no message QUEUED or SENDING, no e-mail job queued, scheduled or running.
    (A pause after the last expected message stood for this: "nothing more arrives".)"""
    deadline = time.monotonic() + seconds
    unsent_rows = (
        select(func.count())
        .select_from(MessageRow)
        .where(MessageRow.status.in_([EmailStatus.QUEUED, EmailStatus.SENDING]))
    )
    while True:
        async with sessions() as session:
            unpublished = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.position.is_(None))
            )
            last = await session.scalar(select(func.max(OutboxEvent.position))) or 0
            fed = await session.scalar(select(func.max(EmailFeedCursor.position))) or 0
            unsent = await session.scalar(unsent_rows)
        jobs = [await queue.count("incomplete") for queue in runner.email_queues.values()]
        if not unpublished and fed >= last and not unsent and not any(jobs):
            return
        assert time.monotonic() < deadline, (unpublished, last, fed, unsent, jobs)
        await asyncio.sleep(0.05)


async def queue_now(
    sessions: SessionFactory,
    runner: JobRunner,
    template: str,
    to: str,
    locale: str,
    context: Mapping[str, object],
    **options: Any,
) -> Queued:
    """Queue one message as a producer does (row, commit, then saq)."""
    async with sessions() as session, session.begin():
        queued = await queue_email(
            session,
            template=template,
            to=to,
            locale=locale,
            context=context,
            message_id_domain=DOMAIN,
            **options,
        )
    assert queued is not None
    await enqueue_messages(runner.email_queues, [queued])
    return queued  # fmt: skip


async def message_row(sessions: SessionFactory, message_id: Any) -> MessageRow:
    async with sessions() as session:
        row = await session.scalar(select(MessageRow).where(MessageRow.id == message_id))
    assert row is not None
    return row


async def until_status(
    sessions: SessionFactory, message_id: Any, status: str, seconds: float
) -> MessageRow:
    """Poll the message's row until it reaches ``status``; the row as it then is."""
    deadline = time.monotonic() + seconds
    while (row := await message_row(sessions, message_id)).status != status:
        assert time.monotonic() < deadline, (row.status, row.attempts, row.last_error)
        await asyncio.sleep(0.1)
    return row


def parts(message: EmailMessage) -> dict[str, str]:
    """Content type → decoded text of every text part."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = str(part.get_content())
    return found
