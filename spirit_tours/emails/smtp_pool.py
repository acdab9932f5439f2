"""A bounded pool of open SMTP connections, each carrying many messages.

Relays (Amazon SES, Postmark, a corporate Postfix) expect a sender to keep a few connections
open and send message after message over them, not to open one per message: a connection
costs a TCP and TLS handshake, a greeting, EHLO and a sign-in, and relays limit how many a
client may open.

- At most ``size`` connections are open (or opening); a send waits for a free one, the most
  urgent lane first (the lowest ``rank``: HIGH before BULK), then in order of arrival.
- A connection carries at most ``max_messages`` messages, then says QUIT; one left idle for
  ``idle_seconds`` says QUIT too.
- A connection the server closed while it sat idle is replaced, and the message sent on a
  new one, without counting against the message — but only while nothing of the message has
  been sent: once its DATA has started the server may have taken it, and the error is the
  attempt's (sending again could deliver it twice).
- Any other failure closes the connection, except a refusal of the message itself (a 4xx or
  5xx answer to MAIL, RCPT or DATA): aiosmtplib has reset the transaction (RSET), the
  connection goes back to the pool, and the error is the caller's.
- A message sent with its ``Envelope`` is flattened here once for the server's capabilities
  (8BITMIME, SMTPUTF8), as aiosmtplib's ``send_message`` would flatten it, and handed over as
  bytes: ``send_message`` also copies the message and parses its From and To headers each
  time to find an envelope the caller already knows.
"""

from __future__ import annotations

import asyncio
import email.policy
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from spirit_tours.emails.mime import flatten

log = logging.getLogger(__name__)

_QUIT_SECONDS = 5.0
# aiosmtplib's flattening policy by (SMTPUTF8, 8BITMIME): 8-bit bodies re-encoded for others.
_POLICIES = {
    (utf8, eight_bit): (email.policy.SMTPUTF8 if utf8 else email.policy.SMTP).clone(
        cte_type="8bit" if eight_bit else "7bit"
    )
    for utf8 in (False, True)
    for eight_bit in (False, True)
}
_SERVICE_CLOSING = 421  # "service not available, closing transmission channel"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the message is from and to, as the SMTP commands MAIL and RCPT say it (bare
    addresses): known to the caller, so never parsed back out of the message's headers."""

    sender: str
    recipients: tuple[str, ...]


class _Flat:
    """A message and its bytes, flattened once per kind of server (8BITMIME, SMTPUTF8) however
    many connections the send takes."""

    __slots__ = ("forms", "message")

    def __init__(self, message: EmailMessage) -> None:
        self.message = message
        self.forms: dict[tuple[bool, bool], bytes] = {}

    def bytes_for(self, *, utf8: bool, eight_bit: bool) -> bytes:
        """What ``aiosmtplib.email.flatten_message`` writes for this server."""
        if (found := self.forms.get((utf8, eight_bit))) is not None:
            return found
        policy = _POLICIES[utf8, eight_bit]
        flat = self.forms[utf8, eight_bit] = flatten(self.message, policy)
        return flat


@dataclass(frozen=True, slots=True)
class PoolLimits:
    size: int = 8
    max_messages: int = 100
    idle_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.size < 1 or self.max_messages < 1 or self.idle_seconds <= 0:
            raise ValueError("an SMTP pool needs size ≥ 1, max_messages ≥ 1, idle_seconds > 0")


class PooledClient(aiosmtplib.SMTP):
    """An aiosmtplib client that tells whether the current message's DATA has started."""

    data_started = False

    async def send_flat(self, flat: _Flat, envelope: Envelope) -> None:
        """``send_message`` with the envelope given and the bytes flattened at most once per
        kind of server."""
        if self.is_ehlo_or_helo_needed:  # the extensions decide the bytes (as send_message)
            try:
                await self.ehlo()
            except aiosmtplib.SMTPHeloError:
                if not self.is_connected:
                    raise
                await self.helo()
        options = []
        utf8 = not (envelope.sender + "".join(envelope.recipients)).isascii()
        if utf8:
            if not self.supports_extension("smtputf8"):
                raise aiosmtplib.SMTPNotSupported(
                    "An address containing non-ASCII characters was provided, but "
                    "SMTPUTF8 is not supported by this server"
                )
            options.append("SMTPUTF8")
        eight_bit = self.supports_extension("8BITMIME")
        if eight_bit:
            options.append("BODY=8BITMIME")
        content = flat.bytes_for(utf8=utf8, eight_bit=eight_bit)
        recipients = list(envelope.recipients)
        await self.sendmail(envelope.sender, recipients, content, mail_options=options)

    async def data(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(*args, **kwargs)


class _Connection:
    __slots__ = ("client", "idle_since", "sent")

    def __init__(self, client: PooledClient) -> None:
        self.client = client
        self.sent = 0
        self.idle_since = 0.0


def closed_by_server(error: BaseException) -> bool:
    """The server hung up (or said it is closing): the connection is gone, not the message
    refused."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refused.code == _SERVICE_CLOSING for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code == _SERVICE_CLOSING
    return isinstance(error, ConnectionError)  # SMTPServerDisconnected is one


def _has_bcc(message: EmailMessage) -> bool:
    return "Bcc" in message or "Resent-Bcc" in message  # names compared without case


def _refused_message(error: BaseException) -> bool:
    return isinstance(error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused)


# A waiter is handed a connection, or None: a free slot to open one in.
_Handed = _Connection | None


class SmtpPool:
    """Open connections from ``connect`` (which returns a connected, signed-in client)."""

    def __init__(self, connect: Callable[[], Awaitable[PooledClient]], limits: PoolLimits) -> None:
        self._connect_client = connect
        self.limits = limits
        self._idle: list[_Connection] = []  # the longest idle first
        self._count = 0  # connections open or opening
        self._waiters: list[tuple[int, int, asyncio.Future[_Handed]]] = []  # a heap
        self._arrivals = itertools.count()
        self._reaper: asyncio.Task[None] | None = None
        self._quitting: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._count

    async def send(
        self, message: EmailMessage, *, rank: int = 0, envelope: Envelope | None = None
    ) -> None:
        """Send on a pooled connection, to ``envelope`` (else to the addresses of the
        message's headers, Bcc left out); raises what aiosmtplib raises."""
        stale = 0
        # A Bcc header must not go out: only send_message's copy leaves it behind.
        flat = None if envelope is None or _has_bcc(message) else _Flat(message)
        while True:
            connection = await self._acquire(rank)
            client = connection.client
            client.data_started = False
            try:
                if flat is not None and envelope is not None:
                    await client.send_flat(flat, envelope)
                elif envelope is not None:
                    await client.send_message(
                        message, sender=envelope.sender, recipients=list(envelope.recipients)
                    )
                else:
                    await client.send_message(message)
            except BaseException as error:
                if (
                    connection.sent
                    and not client.data_started
                    and closed_by_server(error)
                    and stale < self.limits.size
                ):
                    # Closed while idle (a relay's idle timeout), noticed only now: nothing
                    # of this message went, so it goes on another connection.
                    stale += 1
                    log.info("SMTP connection closed by the server while idle: %s", error)
                    self._discard(connection)
                    continue
                if _refused_message(error) and client.is_connected:
                    self._release(connection)
                else:  # a timeout, a cancellation, a broken connection: never reused
                    self._discard(connection)
                raise
            connection.sent += 1
            self._release(connection)
            return

    async def close(self) -> None:
        """QUIT every idle connection; one still sending closes when its send ends."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        while self._idle:
            self._retire(self._idle.pop())
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(aiosmtplib.SMTPServerDisconnected("the SMTP pool closed"))
        self._waiters.clear()
        if self._quitting:
            await asyncio.gather(*self._quitting, return_exceptions=True)

    # -- taking and giving back ---------------------------------------------------------------

    async def _acquire(self, rank: int) -> _Connection:
        if self._closed:
            raise aiosmtplib.SMTPServerDisconnected("the SMTP pool is closed")
        if self._idle:
            connection = self._idle.pop()  # the most recently used: the others may age out
            if connection.client.is_connected:
                return connection
            connection.client.close()  # the server closed it while idle: reuse its slot
            return await self._open()
        if self._count < self.limits.size:
            self._count += 1
            return await self._open()
        return await self._wait(rank)

    async def _wait(self, rank: int) -> _Connection:
        future: asyncio.Future[_Handed] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (rank, next(self._arrivals), future))
        try:
            handed = await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed over as we were cancelled
                self._give_back(future.result())
            raise
        if handed is not None and handed.client.is_connected:
            return handed
        if handed is not None:
            handed.client.close()
        return await self._open()

    async def _open(self) -> _Connection:
        """A new connection in a slot already counted; the slot is freed if it fails."""
        try:
            return _Connection(await self._connect_client())
        except BaseException:
            self._free_slot()
            raise

    def _release(self, connection: _Connection) -> None:
        """Back to the pool after a message (sent or refused)."""
        if self._closed or connection.sent >= self.limits.max_messages:
            self._retire(connection)
            return
        if (waiter := self._next_waiter()) is not None:
            waiter.set_result(connection)
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.append(connection)
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap())

    def _give_back(self, handed: _Handed) -> None:
        if handed is None:
            self._free_slot()
        else:
            self._release(handed)

    def _discard(self, connection: _Connection) -> None:
        connection.client.close()
        self._free_slot()

    def _retire(self, connection: _Connection) -> None:
        """QUIT in the background; the slot is free once the connection is closed."""
        task = asyncio.create_task(self._quit(connection.client))
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def _quit(self, client: PooledClient) -> None:
        try:
            await client.quit(timeout=_QUIT_SECONDS)
        except Exception as error:  # already gone, or rude: closed anyway
            log.debug("SMTP QUIT: %s", error)
        finally:
            client.close()
            self._free_slot()

    def _free_slot(self) -> None:
        if (waiter := self._next_waiter()) is not None:
            waiter.set_result(None)  # it opens a connection in this slot
        else:
            self._count -= 1

    def _next_waiter(self) -> asyncio.Future[_Handed] | None:
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                return waiter
        return None

    async def _reap(self) -> None:
        """QUIT the connections idle for ``idle_seconds``; ends when none is idle."""
        loop = asyncio.get_running_loop()
        try:
            while self._idle:
                oldest = self._idle[0]
                wait = oldest.idle_since + self.limits.idle_seconds - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                self._idle.pop(0)
                self._retire(oldest)
        finally:
            if self._reaper is asyncio.current_task():
                self._reaper = None
