"""E-mail operations: dead letters and their requeue, the newsletter, preferences and the
statistics per template, locale and day."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus, SuppressionSource
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, not_found
from spirit_tours.emails.catalog import LOCALES
from spirit_tours.emails.queueing import Queued
from spirit_tours.emails.render import TEMPLATES
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.emails import EmailMessage, EmailSuppression
from spirit_tours.persistence.repositories.events import record_audit

MARKETING = tuple(sorted(name for name, info in TEMPLATES.items() if info.marketing))
SECRET_LINKS = tuple(sorted(name for name, info in TEMPLATES.items() if info.secret_links))
MAX_STATS_DAYS = 366
_CAMPAIGNS = uuid.UUID("6f1d2c1e-9a4b-4c51-8f0e-5e3f2f1a7b10")  # names campaigns by their key


async def requeue(session: AsyncSession, viewer: Viewer, message_id: uuid.UUID) -> Queued:
    """A dead letter goes back to its queue with fresh attempts (ADMIN)."""
    row = await session.get(EmailMessage, message_id, with_for_update=True)
    if row is None:
        raise not_found("E-mail message")
    if TEMPLATES[row.template].secret_links:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            "Its link has expired: the user asks for a new one instead.",
            status=row.status.value,
        )
    if row.status != EmailStatus.FAILED:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"Only failed messages can be requeued; this one is {row.status.value}.",
            status=row.status.value,
        )
    row.status = EmailStatus.QUEUED
    row.attempts = 0  # three fresh attempts
    row.requeues += 1
    row.failed_at = None
    row.scheduled_at = now_utc()
    record_audit(session, viewer, "email.requeue", "EmailMessage", row.id,
                 template=row.template, attempts=row.attempts)  # fmt: skip
    return Queued(row.id, row.priority, row.scheduled_at)


MAX_REQUEUE = 10_000


async def requeue_all(session: AsyncSession, viewer: Viewer, template: str | None) -> list[Queued]:
    """Every dead letter (of one template) back to its queue — after an SMTP outage, say.
    Mail with secret links (password resets) stays: its links have expired."""
    if template is not None and template not in TEMPLATES:
        raise bad_input("template", f"Unknown template {template!r}; see {sorted(TEMPLATES)}.")
    now = now_utc()
    chosen = (
        select(EmailMessage.id)
        .where(EmailMessage.status == EmailStatus.FAILED,
               EmailMessage.template.not_in(SECRET_LINKS),
               *([EmailMessage.template == template] if template else []))
        .order_by(EmailMessage.failed_at)
        .limit(MAX_REQUEUE)
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    rows = await session.execute(
        update(EmailMessage)
        .where(EmailMessage.id.in_(chosen.scalar_subquery()))
        .values(
            status=EmailStatus.QUEUED,
            attempts=0,
            requeues=EmailMessage.requeues + 1,
            failed_at=None,
            scheduled_at=now,
        )
        .returning(EmailMessage.id, EmailMessage.priority, EmailMessage.scheduled_at)
    )
    queued = [Queued(row.id, row.priority, row.scheduled_at) for row in rows]
    record_audit(session, viewer, "email.requeue_all", "EmailMessage", None,
                 template=template, count=len(queued))  # fmt: skip
    return queued


@dataclass(frozen=True, slots=True)
class Newsletter:
    headline: str
    body: str
    article_url: str
    scheduled_at: datetime | None = None
    idempotency_key: str | None = None


def _check_newsletter(letter: Newsletter, now: datetime) -> None:
    if not 1 <= len(letter.headline.strip()) <= 200:
        raise bad_input("headline", "The headline needs 1 to 200 characters.")
    if not 1 <= len(letter.body.strip()) <= 20_000:
        raise bad_input("body", "The body needs 1 to 20,000 characters.")
    if not letter.article_url.startswith(("https://", "http://")) or len(letter.article_url) > 2000:
        raise bad_input("articleUrl", "The article link must be an http(s) URL.")
    if letter.scheduled_at is not None:
        if letter.scheduled_at.tzinfo is None:
            raise bad_input("scheduledAt", "Give the time with its UTC offset.")
        if letter.scheduled_at > now + timedelta(days=90):
            raise bad_input("scheduledAt", "Schedule at most 90 days ahead.")


async def send_newsletter(
    session: AsyncSession, viewer: Viewer, letter: Newsletter, domain: str
) -> tuple[list[Queued], int]:
    """One BULK message per active user, in their locale, in one statement; addresses that
    unsubscribed from the newsletter get a SUPPRESSED row instead. Returns (queued, suppressed)."""
    now = now_utc()
    _check_newsletter(letter, now)
    if letter.idempotency_key is not None and not 1 <= len(letter.idempotency_key) <= 200:
        raise bad_input("idempotencyKey", "The key needs 1 to 200 characters.")
    # The key names this very letter: the same key with other content is another campaign,
    # never a silent no-op.
    content = "\x1f".join((letter.idempotency_key or "", letter.headline, letter.body,
                           letter.article_url))  # fmt: skip
    campaign = uuid.uuid5(_CAMPAIGNS, content) if letter.idempotency_key else uuid.uuid4()
    scheduled = letter.scheduled_at or now
    # The contexts are sealed in Python (email_messages.context is encrypted): the recipients
    # are read first, then inserted in batched statements.
    recipients = await session.execute(
        select(User.id, User.email, User.full_name, User.locale,
               EmailSuppression.email.is_not(None).label("opted_out"))
        .outerjoin(EmailSuppression, and_(EmailSuppression.email == func.lower(User.email),
                                          EmailSuppression.category == "newsletter"))
        .where(User.is_active)
    )  # fmt: skip
    headline, body = letter.headline.strip(), letter.body.strip()
    messages = [
        {"id": uuid.uuid4(), "template": "newsletter", "locale": user.locale.value,
         "recipient": user.email, "user_id": user.id, "priority": "BULK",
         "context": {"name": user.full_name, "headline": headline, "body": body,
                     "article_url": letter.article_url},
         "status": EmailStatus.SUPPRESSED if user.opted_out else EmailStatus.QUEUED,
         "source_key": f"newsletter:{campaign}:{user.id}",
         "message_id": f"<{uuid.uuid4().hex}@{domain}>", "created_at": now,
         "scheduled_at": scheduled, "attempts": 0, "requeues": 0, "links": [],
         "open_count": 0, "click_count": 0}
        for user in recipients
    ]  # fmt: skip
    queued, suppressed = [], 0
    for row in (
        await session.execute(
            insert(EmailMessage)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(EmailMessage.id, EmailMessage.status, EmailMessage.scheduled_at),
            messages,
        )
        if messages
        else ()
    ):
        if row.status == EmailStatus.QUEUED:
            queued.append(Queued(row.id, "BULK", row.scheduled_at))
        else:
            suppressed += 1
    record_audit(session, viewer, "email.newsletter", "Campaign", campaign,
                 headline=letter.headline.strip(), queued=len(queued),
                 suppressed=suppressed)  # fmt: skip
    return queued, suppressed


async def suppressed_categories(session: AsyncSession, email: str) -> set[str]:
    rows = await session.scalars(
        select(EmailSuppression.category).where(EmailSuppression.email == email.lower())
    )
    return set(rows)


async def set_preferences(
    session: AsyncSession,
    email: str,
    wanted: dict[str, bool],
    source: SuppressionSource,
    *,
    message: EmailMessage | None = None,
) -> set[str]:
    """Subscribe or unsubscribe an address per marketing mail; transactional mail has no
    switch. Returns the categories now suppressed."""
    unknown = sorted(set(wanted) - set(MARKETING))
    if unknown:
        raise bad_input("categories", f"Only {', '.join(MARKETING)} can be switched off.")
    address = email.lower()
    off = [category for category, on in wanted.items() if not on]
    on = [category for category, on in wanted.items() if on]
    if off:
        await session.execute(
            insert(EmailSuppression)
            .values([{"email": address, "category": c, "source": source} for c in off])
            .on_conflict_do_nothing()
        )
        if message is not None and message.template in off and message.unsubscribed_at is None:
            message.unsubscribed_at = now_utc()
    if on:
        await session.execute(
            delete(EmailSuppression).where(
                EmailSuppression.email == address, EmailSuppression.category.in_(on)
            )
        )
    return await suppressed_categories(session, email)


@dataclass(frozen=True, slots=True)
class StatsRow:
    day: date
    template: str
    locale: str
    queued: int
    sent: int
    failed: int
    suppressed: int
    opened: int
    clicked: int
    unsubscribed: int


def _check_range(since: date, until: date) -> None:
    if until < since:
        raise bad_input("since", "since must not be after until.")
    if (until - since).days >= MAX_STATS_DAYS:
        raise bad_input("since", f"Ask for at most {MAX_STATS_DAYS} days.")


async def email_stats(
    session: AsyncSession,
    since: date,
    until: date,
    templates: Iterable[str] | None = None,
    locales: Iterable[str] | None = None,
) -> list[StatsRow]:
    """Counts per day (UTC, the day a message was queued), template and locale."""
    _check_range(since, until)
    unknown = sorted(set(templates or ()) - set(TEMPLATES))
    if unknown:
        raise bad_input("templates", f"Unknown templates {unknown}; see {sorted(TEMPLATES)}.")
    odd = sorted(set(locales or ()) - set(LOCALES))
    if odd:
        raise bad_input("locales", f"Unknown locales {odd}; expected {list(LOCALES)}.")
    day = cast(func.timezone("UTC", EmailMessage.created_at), Date).label("day")
    start = datetime.combine(since, time.min, UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, UTC)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count(case((condition, 1)))

    conditions = [EmailMessage.created_at >= start, EmailMessage.created_at < end]
    if templates:
        conditions.append(EmailMessage.template.in_(list(templates)))
    if locales:
        conditions.append(EmailMessage.locale.in_(list(locales)))
    status = EmailMessage.status
    rows = await session.execute(
        select(
            day,
            EmailMessage.template,
            cast(EmailMessage.locale, String),
            count(status != EmailStatus.SUPPRESSED),
            count(status == EmailStatus.SENT),
            count(status == EmailStatus.FAILED),
            count(status == EmailStatus.SUPPRESSED),
            count(EmailMessage.opened_at.is_not(None)),
            count(EmailMessage.clicked_at.is_not(None)),
            count(EmailMessage.unsubscribed_at.is_not(None)),
        )
        .where(and_(*conditions))
        .group_by(day, EmailMessage.template, EmailMessage.locale)
        .order_by(day, EmailMessage.template, EmailMessage.locale)
    )
    return [StatsRow(*tuple(row)) for row in rows]
