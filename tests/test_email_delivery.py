"""E-mail delivery through saq to a real SMTP server (aiosmtpd): sent once, retried with
growing delays when the server refuses, dead-lettered after the third attempt, delivered once
when requeued after the server recovers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from spirit_tours.emails.transport import SmtpTransport
from spirit_tours.jobs.email import Priority, email_queues, email_workers, enqueue_email, renderer
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailDeadLetter


class Inbox:
    """An SMTP server's handler: refuses while ``down``, otherwise keeps what it receives."""

    def __init__(self) -> None:
        self.down = False
        self.refusals: list[float] = []
        self.received: list[email.message.Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.down:
            self.refusals.append(time.monotonic())
            return "451 4.3.0 Try again later"
        assert isinstance(envelope.content, bytes)
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def running_workers(
    redis_url: str, sessions: SessionFactory, port: int
) -> AsyncIterator[dict[Priority, Any]]:
    queues = email_queues(redis_url)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["sessions"] = sessions
        ctx["transport"] = SmtpTransport(f"smtp://127.0.0.1:{port}")
        ctx["render"] = renderer("Spirit Tours <no-reply@spirit-tours.example>",
                                 "spirit-tours.example")  # fmt: skip

    async def shutdown(ctx: dict[str, Any]) -> None:
        return None

    for queue in queues.values():
        await queue.connect()
    workers = email_workers(queues, startup, shutdown)
    tasks = [asyncio.create_task(worker.start()) for worker in workers]
    try:
        yield queues
    finally:
        for worker in workers:
            await worker.stop()
        for task in tasks:
            task.cancel()
        for queue in queues.values():
            await queue.disconnect()


WELCOME = {"name": "Ana <b>Quispe</b>", "login_url": "https://app.spirit-tours.example/login"}


async def _until(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_message_is_delivered_once_with_both_parts(
    smtp: tuple[Inbox, int], redis_url: str, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    async with running_workers(redis_url, sessions, port) as queues:
        await enqueue_email(queues, template="welcome", locale="pt", to="ana@example.com",
                            context=WELCOME, priority=Priority.HIGH)  # fmt: skip
        await _until(lambda: inbox.received, 20)
        await asyncio.sleep(0.5)
    (message,) = inbox.received
    assert message["To"] == "ana@example.com"
    assert message["Message-ID"].endswith("@spirit-tours.example>")
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "<b>Quispe</b>" not in body.decode()


async def test_a_refused_message_is_retried_then_dead_lettered_then_requeued_once(
    smtp: tuple[Inbox, int], redis_url: str, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    inbox.down = True
    async with running_workers(redis_url, sessions, port) as queues:
        await enqueue_email(queues, template="welcome", locale="es", to="ana@example.com",
                            context=WELCOME)  # fmt: skip

        async def dead() -> list[EmailDeadLetter]:
            async with sessions() as session:
                return list(await session.scalars(select(EmailDeadLetter)))

        deadline = time.monotonic() + 60
        while not await dead():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        (letter,) = await dead()
        assert (letter.template, letter.recipient, letter.attempts) == (
            "welcome",
            "ana@example.com",
            3,
        )
        assert "451" in letter.last_error
        assert len(inbox.refusals) == 3
        first, second = (b - a for a, b in zip(inbox.refusals, inbox.refusals[1:], strict=False))
        assert second > first  # the delay grows
        assert inbox.received == []

        inbox.down = False  # the server recovers; the operator requeues the dead letter
        await enqueue_email(queues, template=letter.template, locale=letter.locale,
                            to=letter.recipient, context=letter.context)  # fmt: skip
        await _until(lambda: inbox.received, 20)
        await asyncio.sleep(1.0)
    assert len(inbox.received) == 1
