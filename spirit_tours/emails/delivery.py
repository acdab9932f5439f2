"""One attempt at one stored message: claim it under a lease, render and send it outside any
transaction, record the outcome (claims and outcomes go to the database in batches:
``spirit_tours.emails.claims``). Three attempts with exponential backoff, then the message
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
from prometheus_client import Counter

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus
from spirit_tours.core.metrics import PROCESS
from spirit_tours.emails.claims import ClaimBook, Outcome
from spirit_tours.emails.compose import Composer
from spirit_tours.emails.queueing import ATTEMPTS, lane_rank
from spirit_tours.emails.render import template_info
from spirit_tours.emails.transport import Envelope, Transport
from spirit_tours.persistence.emails import EmailMessage

log = logging.getLogger(__name__)

OUTCOMES = Counter(
    "spirit_email_outcomes", "Delivery attempts by template and outcome: sent, retried (a "
    "failure to try again), failed (the last attempt: a dead letter), suppressed (the recipient "
    "unsubscribed or bounced)", ["template", "outcome"], registry=PROCESS,
)  # fmt: skip


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


def _spent(row: EmailMessage) -> dict[str, Any] | None:
    """Once a mail with secret links is sent or dead, its row keeps no usable link: the
    mailbox has it (or nobody will), and the row stays for statistics and audit. None: the
    context stays as it is."""
    if not template_info(row.template).secret_links:
        return None
    return {k: SPENT_LINK if k.endswith("_url") else v for k, v in row.context.items()}


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


async def _send_within(
    transport: Transport, message: MimeMessage, envelope: Envelope, seconds: float, *, rank: int
) -> None:
    """Send, or raise TimeoutError after ``seconds``. Not ``wait_for``: it waits for the
    cancelled send to finish, and aiosmtplib's cancellation politely waits for the very
    server that stopped answering."""
    task = asyncio.create_task(transport.send(message, rank=rank, envelope=envelope))
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


async def deliver(
    claims: ClaimBook,
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
    claim = await claims.claim(message_id, lease)
    if claim is None:
        return "not queued"
    row = claim.row
    if claim.suppressed:
        await claims.record(claim, Outcome(EmailStatus.SUPPRESSED, keep_error=True))
        OUTCOMES.labels(row.template, "suppressed").inc()
        return "suppressed"
    try:
        message, links = composer.compose(row)
        envelope = composer.envelope(row)
        await _send_within(transport, message, envelope, lease * 0.75, rank=lane_rank(row.priority))
    except Exception as error:
        final = is_permanent(error) or row.attempts >= policy.attempts
        reason = _error_text(error, _secret_values(row))  # never a reset token in a log
        if final:
            dead = Outcome(EmailStatus.FAILED, failed_at=now_utc(), last_error=reason,
                           context=_spent(row))  # fmt: skip
            await claims.record(claim, dead)
            OUTCOMES.labels(row.template, "failed").inc()
            log.warning("e-mail %s (%s) dead-lettered: %s", row.id, row.template, reason)
            return "dead-lettered"
        delay = policy.delay(row.attempts)
        later = now_utc() + timedelta(seconds=delay)
        await claims.record(
            claim, Outcome(EmailStatus.QUEUED, scheduled_at=later, last_error=reason)
        )
        OUTCOMES.labels(row.template, "retried").inc()
        # Run again after the delay (no jitter: a refusing server sees a predictable, growing
        # pause); should the queue give up first, the dispatcher finds the QUEUED row.
        retry_in(delay)
        if _secret_values(row):  # saq keeps and logs the error: only its redacted text
            raise DeliveryError(reason) from None
        raise
    sent = Outcome(EmailStatus.SENT, sent_at=now_utc(), links=links, context=_spent(row))
    await claims.record(claim, sent)
    OUTCOMES.labels(row.template, "sent").inc()
    return "sent"
