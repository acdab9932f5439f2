"""One attempt at one stored message: claim it under a lease, render and send it outside any
transaction, record the outcome. Three attempts with exponential backoff, then the message
becomes a dead letter the operator can requeue. The saq job (``spirit_tours.jobs.email``)
only calls :func:`deliver` and tells saq when to try again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiosmtplib
from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import InterfaceError, OperationalError

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.compose import Composer
from spirit_tours.emails.queueing import ATTEMPTS, is_suppressed
from spirit_tours.emails.render import template_info
from spirit_tours.emails.transport import Transport
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage

log = logging.getLogger(__name__)


def _error_text(error: BaseException, secrets: Iterable[str] = ()) -> str:
    if isinstance(error, TimeoutError):
        return "TimeoutError: the SMTP server did not take the message in time"
    found = f"{type(error).__name__}: {error}"
    for secret in sorted(secrets, key=len, reverse=True):  # the URL before its token
        found = found.replace(secret, "[secret]")
    return found[:2000]


SPENT_LINK = "(link removed after delivery)"


class DeliveryError(Exception):
    """An attempt's failure, told without the message's secrets."""


def _secret_values(row: EmailMessage) -> list[str]:
    """The secret links of a message (a password reset's), and the tokens inside them."""
    if not template_info(row.template).secret_links:
        return []
    urls = [v for k, v in row.context.items() if k.endswith("_url") and isinstance(v, str)]
    return [*urls, *(v for url in urls for _, v in parse_qsl(urlsplit(url).query) if v)]


def _spent(row: EmailMessage) -> dict[str, Any]:
    """Once a mail with secret links is sent or dead, its row keeps no usable link: the
    mailbox has it (or nobody will), and the row stays for statistics and audit."""
    if not template_info(row.template).secret_links:
        return {}
    return {"context": {k: SPENT_LINK if k.endswith("_url") else v for k, v in row.context.items()}}


def is_permanent(error: BaseException) -> bool:
    """A 5xx answer to this message (unknown mailbox, refused content) or a message we cannot
    even build:
    retrying changes nothing. Timeouts, 4xx and connection errors are worth retrying."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refused.code >= 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return error.code >= 500
    # A 5xx at sign-in, greeting or sender is our configuration (a rotated password), not
    # this message's fault: retried, never a dead letter on the first try.
    return isinstance(error, ValueError | TypeError | KeyError)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int = ATTEMPTS
    retry_delay_seconds: float = 60.0  # doubled at each attempt: 60 s, 120 s

    def delay(self, attempt: int) -> float:
        return float(self.retry_delay_seconds * 2 ** (attempt - 1))


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned send's error is already reported


async def _send_within(transport: Transport, message: MimeMessage, seconds: float) -> None:
    """Send, or raise TimeoutError after ``seconds``. Not ``wait_for``: it waits for the
    cancelled send to finish, and aiosmtplib's cancellation politely waits for the very
    server that stopped answering."""
    task = asyncio.create_task(transport.send(message))
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:  # cancelled from outside (saq's timeout, an abort): no orphan send
        task.cancel()
        task.add_done_callback(_quiet)
        raise
    if not done:
        task.cancel()
        task.add_done_callback(_quiet)
        raise TimeoutError
    task.result()


async def _claim(
    sessions: SessionFactory, message_id: uuid.UUID, lease: float
) -> EmailMessage | None:
    """Take the message for one attempt, committed before anything is sent: the attempt
    counts even if this worker dies, and no other worker takes it until the lease ends."""
    now = func.now()  # one clock (the database's) for every worker's leases
    async with sessions() as session, session.begin():
        return await session.scalar(
            update(EmailMessage)
            .where(
                EmailMessage.id == message_id,
                or_(
                    EmailMessage.status == EmailStatus.QUEUED,
                    and_(
                        EmailMessage.status == EmailStatus.SENDING,
                        EmailMessage.lease_until < now,
                    ),
                ),
            )
            .values(
                status=EmailStatus.SENDING,
                attempts=EmailMessage.attempts + 1,
                lease_until=now + timedelta(seconds=lease),
            )
            .returning(EmailMessage)
        )


async def _finish(sessions: SessionFactory, claim: EmailMessage, **values: Any) -> None:
    """Record the attempt's outcome — only if the claim is still ours (same attempt), and
    shielded from cancellation, with a few retries on a database hiccup: losing this write
    after the SMTP server took the message would send it again."""

    async def write() -> None:
        for attempt in range(3):
            try:
                async with sessions() as session, session.begin():
                    await session.execute(
                        update(EmailMessage)
                        .where(
                            EmailMessage.id == claim.id,
                            EmailMessage.status == EmailStatus.SENDING,
                            EmailMessage.attempts == claim.attempts,
                        )
                        .values(lease_until=None, **values)
                    )
                return
            except (OperationalError, InterfaceError):
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))

    await asyncio.shield(write())


async def deliver(
    sessions: SessionFactory,
    composer: Composer,
    transport: Transport,
    message_id: uuid.UUID,
    *,
    lease: float,
    policy: DeliveryPolicy,
    retry_in: Callable[[float], None],
) -> str:
    """One attempt: the third failed attempt (or a permanent refusal) makes the message a dead
    letter; a row that is not QUEUED (sent, dead, claimed) is left alone. A failure worth
    retrying is re-raised after ``retry_in(seconds)`` has told the queue when to run it again
    (redacted when the message carries secret links)."""
    row = await _claim(sessions, message_id, lease)
    if row is None:
        return "not queued"
    if template_info(row.template).marketing:
        async with sessions() as session:
            suppressed = await is_suppressed(session, row.recipient, row.template)
        if suppressed:
            await _finish(sessions, row, status=EmailStatus.SUPPRESSED)
            return "suppressed"
    try:
        message, links = composer.compose(row)
        await _send_within(transport, message, lease * 0.75)
    except Exception as error:
        final = is_permanent(error) or row.attempts >= policy.attempts
        reason = _error_text(error, _secret_values(row))  # never a reset token in a log
        if final:
            await _finish(sessions, row, status=EmailStatus.FAILED, failed_at=now_utc(),
                          last_error=reason, **_spent(row))  # fmt: skip
            log.warning("e-mail %s to %s dead-lettered: %s", row.template, row.recipient, reason)
            return "dead-lettered"
        delay = policy.delay(row.attempts)
        await _finish(sessions, row, status=EmailStatus.QUEUED, last_error=reason,
                      scheduled_at=now_utc() + timedelta(seconds=delay))  # fmt: skip
        # Run again after the delay (no jitter: a refusing server sees a predictable, growing
        # pause); should the queue give up first, the dispatcher finds the QUEUED row.
        retry_in(delay)
        if _secret_values(row):  # saq keeps and logs the error: only its redacted text
            raise DeliveryError(reason) from None
        raise
    await _finish(sessions, row, status=EmailStatus.SENT, sent_at=now_utc(), links=links,
                  last_error=None, **_spent(row))  # fmt: skip
    return "sent"
