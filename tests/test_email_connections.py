"""SMTP connections kept open (a real aiosmtpd server): many messages over one connection, no
more connections than the pool's size, QUIT after a connection's last message or an idle
while; a connection the server closed while idle is replaced and the message still sent once,
but one dropped after the message's DATA is that attempt's failure, retried later, never sent
again at once; HIGH mail is first in line for a connection; a message sent with its envelope
goes out byte for byte as aiosmtplib's send_message sends it, without its Bcc."""

from __future__ import annotations

import asyncio
import email.policy
import threading
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from aiosmtplib.email import extract_recipients, extract_sender

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.compose import Composer
from spirit_tours.emails.context import encode_context
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.mime import assemble
from spirit_tours.emails.queueing import Queued
from spirit_tours.emails.smtp_pool import PoolLimits
from spirit_tours.emails.transport import Envelope as MailEnvelope
from spirit_tours.emails.transport import SmtpTransport
from spirit_tours.jobs.worker import JobRunner
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from tests.email_flows import (
    Inbox,
    free_port,
    message_row,
    queue_now,
    running_jobs,
    settled,
    smtp,
    until,
    until_status,
)

__all__ = ["smtp"]

WELCOME = {"name": "Ana", "login_url": "https://app.spirit-tours.example/login"}


async def _welcome(
    sessions: SessionFactory, runner: JobRunner, recipients: list[str]
) -> list[Queued]:
    return [await queue_now(sessions, runner, "welcome", to, "en", WELCOME) for to in recipients]


async def test_many_messages_go_over_one_connection_which_says_quit_after_its_limit(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    limits = PoolLimits(size=1, max_messages=5, idle_seconds=30)
    async with running_jobs(settings, port, limits=limits) as runner:
        await _welcome(sessions, runner, [f"reader{n}@example.com" for n in range(12)])
        await until(lambda: len(inbox.received) == 12, 30, "twelve messages")
        await settled(runner, sessions)
        assert inbox.connections.quits == 2  # the two full connections; the third stays open
        assert inbox.connections.open_now == 1
    assert inbox.per_connection() == [5, 5, 2]
    assert inbox.connections.opened == 3
    assert inbox.connections.most_open == 1
    assert inbox.connections.quits == 3  # stopping the worker closes the last one politely


async def test_the_pool_never_opens_more_connections_than_its_size(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    inbox.data_delay = 0.05  # slow enough that every lane's sends overlap
    limits = PoolLimits(size=2, max_messages=100, idle_seconds=30)
    async with running_jobs(settings, port, limits=limits) as runner:
        await _welcome(sessions, runner, [f"reader{n}@example.com" for n in range(16)])
        await until(lambda: len(inbox.received) == 16, 30, "sixteen messages")
        await settled(runner, sessions)
    assert inbox.connections.most_open == 2
    assert inbox.connections.opened == 2
    assert sorted(inbox.per_connection()) != [1] * 16


async def test_an_idle_connection_says_quit_after_the_idle_timeout(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    limits = PoolLimits(size=2, max_messages=100, idle_seconds=1.0)
    async with running_jobs(settings, port, limits=limits) as runner:
        (queued,) = await _welcome(sessions, runner, ["ana@example.com"])
        await until_status(sessions, queued.id, EmailStatus.SENT, 20)
        sent = time.monotonic()
        assert inbox.connections.open_now == 1  # kept for the next message
        await until(lambda: inbox.connections.open_now == 0, 10, "the idle connection to close")
        assert time.monotonic() - sent > 0.5
        assert inbox.connections.quits == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_mail_sent_once(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """The server hangs up a connection after its idle timeout (here at once, as the next MAIL
    arrives, with 421): the message goes over a new connection in the same attempt."""
    inbox, port = smtp
    inbox.close_reused_after = 1
    limits = PoolLimits(size=1, max_messages=100, idle_seconds=30)
    async with running_jobs(settings, port, limits=limits) as runner:
        (first,) = await _welcome(sessions, runner, ["first@example.com"])
        await until_status(sessions, first.id, EmailStatus.SENT, 20)
        (second,) = await _welcome(sessions, runner, ["second@example.com"])
        await until_status(sessions, second.id, EmailStatus.SENT, 20)
        await settled(runner, sessions)
    assert inbox.closed_reused == 1
    assert [m["To"] for m in inbox.received] == ["first@example.com", "second@example.com"]
    row = await message_row(sessions, second.id)
    assert (row.attempts, row.last_error) == (1, None)  # not a failed attempt
    assert inbox.connections.opened == 2


async def test_a_connection_that_timed_out_while_idle_is_noticed_before_sending(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """The server closes a connection idle for 0.5 s (its FIN arrives while the pool, which
    would keep it 30 s, has it idle): the next message takes a new one."""
    inbox, port = smtp
    inbox.server_idle_seconds = 0.5
    limits = PoolLimits(size=1, max_messages=100, idle_seconds=30)
    async with running_jobs(settings, port, limits=limits) as runner:
        (first,) = await _welcome(sessions, runner, ["first@example.com"])
        await until_status(sessions, first.id, EmailStatus.SENT, 20)
        await until(lambda: inbox.connections.open_now == 0, 10, "the server's idle timeout")
        # The next connection stays open until the pool closes it at stop, however long the
        # stop takes on a busy machine (with 0.5 s the server could hang up on it too).
        inbox.server_idle_seconds = None
        (second,) = await _welcome(sessions, runner, ["second@example.com"])
        await until_status(sessions, second.id, EmailStatus.SENT, 20)
        await settled(runner, sessions)
    assert [m["To"] for m in inbox.received] == ["first@example.com", "second@example.com"]
    row = await message_row(sessions, second.id)
    assert (row.attempts, row.last_error) == (1, None)
    assert inbox.connections.opened == 2
    assert inbox.connections.quits == 1  # the new one's, at stop: the server hung up the first


async def test_a_connection_dropped_after_the_data_is_a_failed_attempt_never_resent_at_once(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """The server takes the content of the second message on a connection and hangs up
    without answering: it may have taken the message, so the pool does not send it again on
    a new connection; the attempt failed and the message is retried after the delay."""
    inbox, port = smtp
    inbox.drop_after_data = {"second@example.com"}
    limits = PoolLimits(size=1, max_messages=100, idle_seconds=30)
    async with running_jobs(settings, port, limits=limits) as runner:
        (first,) = await _welcome(sessions, runner, ["first@example.com"])
        await until_status(sessions, first.id, EmailStatus.SENT, 20)
        (second,) = await _welcome(sessions, runner, ["second@example.com"])
        failed = await until_attempt(sessions, second.id, EmailStatus.QUEUED, 1)
        assert failed.last_error is not None
        assert "SMTPServerDisconnected" in failed.last_error
        assert inbox.to("second@example.com") == []
        row = await until_status(sessions, second.id, EmailStatus.SENT, 20)
        await settled(runner, sessions)
    assert row.attempts == 2
    (dropped,) = inbox.dropped["second@example.com"]
    (accepted,) = inbox.accepted_at["second@example.com"]
    assert accepted - dropped >= 0.9  # the retry delay (1 s), not a resend on the spot
    assert len(inbox.to("second@example.com")) == 1


async def until_attempt(
    sessions: SessionFactory, message_id: uuid.UUID, status: EmailStatus, attempts: int
) -> MessageRow:
    deadline = time.monotonic() + 20
    while True:
        row = await message_row(sessions, message_id)
        if (row.status, row.attempts) == (status, attempts):
            return row
        assert time.monotonic() < deadline, (row.status, row.attempts, row.last_error)
        await asyncio.sleep(0.02)


def _newsletter(to: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Spirit Tours <no-reply@spirit-tours.example>"
    message["To"] = to
    message["Subject"] = "News"
    message["Message-ID"] = make_msgid(domain="spirit-tours.example")
    message.set_content("News from the Andes.")
    return message


async def test_a_high_message_gets_the_next_free_connection_before_waiting_bulk_ones(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    inbox.stall = threading.Event()  # the first message holds the only connection until set
    inbox.accept_after_stall = True
    transport = SmtpTransport(
        f"smtp://127.0.0.1:{port}", limits=PoolLimits(size=1, max_messages=100, idle_seconds=30)
    )
    try:
        first = asyncio.create_task(transport.send(_newsletter("bulk0@example.com"), rank=3))
        await until(lambda: inbox.stalled == 1, 10, "the first message's DATA")
        bulk = [
            asyncio.create_task(transport.send(_newsletter(f"bulk{n}@example.com"), rank=3))
            for n in range(1, 4)
        ]
        await asyncio.sleep(0.05)  # the bulk ones queue up behind the first...
        high = asyncio.create_task(transport.send(_newsletter("ana@example.com"), rank=0))
        await asyncio.sleep(0.05)
        inbox.stall.set()
        await asyncio.gather(first, *bulk, high)  # ...the HIGH one, last to come, goes next
    finally:
        await transport.close()
    order = [m["To"] for m in inbox.received]
    assert order == [
        "bulk0@example.com", "ana@example.com", "bulk1@example.com", "bulk2@example.com",
        "bulk3@example.com",
    ]  # fmt: skip
    assert inbox.connections.opened == 1


class _Wire:
    """aiosmtpd handler keeping each transaction as it came: envelope, options and bytes."""

    def __init__(self) -> None:
        self.got: list[tuple[str, list[str], list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert envelope.mail_from is not None
        assert envelope.original_content is not None
        self.got.append((envelope.mail_from, envelope.rcpt_tos, envelope.mail_options,
                         envelope.original_content))  # fmt: skip
        return "250 OK"


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8BITMIME", "7bit server"])
async def test_a_message_sent_with_its_envelope_goes_as_send_message_sends_it_bcc_never(
    eight_bit: bool,
) -> None:
    wire = _Wire()
    port = free_port()
    # decode_data: aiosmtpd then offers no 8BITMIME, and the 8-bit body must be re-encoded.
    controller = Controller(wire, hostname="127.0.0.1", port=port, decode_data=not eight_bit)
    controller.start()
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}", timeout_seconds=10)
    message = assemble(
        subject="Año nuevo en el Valle Sagrado",
        sender="Spirit Tours <no-reply@spirit-tours.example>", to="ana@example.com",
        date="Mon, 30 Nov 2026 09:00:00 +0000",
        message_id="<a1@spirit-tours.example>", unsubscribe_url=None, language="es",
        text="Señora Pérez: cinco itinerarios nuevos, ¡con una noche en Aguas Calientes!\n" * 3,
        html="<p>Señora Pérez: cinco itinerarios nuevos.</p>\n.a line that starts with a dot\n",
    )  # fmt: skip
    envelope = MailEnvelope("no-reply@spirit-tours.example", ("ana@example.com",))
    try:
        await transport.send(message)  # aiosmtplib's send_message: the envelope from headers
        await transport.send(message, envelope=envelope)
        message["Bcc"] = "hidden@example.com"
        await transport.send(message, envelope=envelope)
    finally:
        await transport.close()
        controller.stop()
    (by_headers, by_envelope, with_bcc) = wire.got
    assert by_envelope == by_headers
    assert by_envelope[0] == "no-reply@spirit-tours.example"
    assert by_envelope[1] == ["ana@example.com"]
    assert ("BODY=8BITMIME" in by_envelope[2]) is eight_bit
    assert by_envelope[3].isascii() is not eight_bit
    assert with_bcc[1] == ["ana@example.com"]  # the envelope's recipients only
    assert b"hidden@example.com" not in with_bcc[3]
    assert with_bcc[3] == by_envelope[3]


@pytest.mark.parametrize(
    "to",
    [
        "ana@example.test",
        "o'neil+tours@mail.example.test",
        "Ana Pérez <ana@example.test>",
        '"Pérez, Ana" <ana.perez@example.test>',
    ],
)
def test_the_envelope_holds_the_addresses_send_message_reads_from_the_headers(to: str) -> None:
    composer = Composer(
        "Spirit Tours <no-reply@spirit-tours.example>",
        LinkSigner(b"s" * 32, "https://api.spirit-tours.example"),
    )
    row = MessageRow(
        id=uuid.uuid4(), template="welcome", locale="en", recipient=to, priority="HIGH",
        context=encode_context(WELCOME), status=EmailStatus.QUEUED,
        message_id="<a2@spirit-tours.example>", attempts=0,
    )  # fmt: skip
    message, _ = composer.compose(row)
    envelope = composer.envelope(row)
    assert envelope.sender == extract_sender(message)
    assert list(envelope.recipients) == extract_recipients(message)
