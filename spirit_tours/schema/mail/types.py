"""E-mail and job operations in GraphQL: dead letters, statistics (also live), queues, the
newsletter and each user's marketing preferences."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, timedelta
from enum import Enum

import strawberry

from spirit_tours.context import Context
from spirit_tours.emails.queueing import hand_over
from spirit_tours.errors import bad_input
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.emails import EmailStatus as StatusValue
from spirit_tours.persistence.emails import SuppressionSource
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories.pagination import (
    encode_cursor,
    newest_first_page,
    page_size,
)
from spirit_tours.resolvers import emails
from spirit_tours.schema.common import PageInfo
from spirit_tours.schema.ids import parse_id

Info = strawberry.Info[Context, None]
STATS_POLL_SECONDS = 5.0


@strawberry.enum(description="Where a message stands.")
class EmailStatus(Enum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"


@strawberry.type(description="One message to one recipient (ADMIN).")
class EmailMessage:
    id: strawberry.ID
    template: str
    locale: str
    recipient: str
    priority: str = strawberry.field(description="HIGH, NORMAL, LOW or BULK.")
    status: EmailStatus
    attempts: int
    last_error: str | None
    requeues: int
    created_at: datetime
    scheduled_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None

    @classmethod
    def build(cls, row: MessageRow) -> EmailMessage:
        return cls(
            id=strawberry.ID(str(row.id)), template=row.template, locale=row.locale,
            recipient=row.recipient, priority=row.priority, status=EmailStatus(row.status.value),
            attempts=row.attempts, last_error=row.last_error, requeues=row.requeues,
            created_at=row.created_at, scheduled_at=row.scheduled_at, sent_at=row.sent_at,
            failed_at=row.failed_at, opened_at=row.opened_at, clicked_at=row.clicked_at,
        )  # fmt: skip


@strawberry.type
class EmailMessageEdge:
    cursor: str
    node: EmailMessage


@strawberry.type
class EmailMessageConnection:
    edges: list[EmailMessageEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="Messages of one template and locale queued on one UTC day.")
class EmailStats:
    day: date
    template: str
    locale: str
    queued: int = strawberry.field(description="Meant to be sent (suppressed ones excluded).")
    sent: int
    failed: int = strawberry.field(description="Dead letters: every attempt failed.")
    suppressed: int = strawberry.field(description="Not sent: the recipient unsubscribed.")
    opened: int
    clicked: int
    unsubscribed: int


@strawberry.type(description="A saq queue as its workers report it.")
class JobQueue:
    name: str
    queued: int = strawberry.field(description="Waiting to run now.")
    active: int
    scheduled: int = strawberry.field(description="Waiting for a later time (incl. retries).")
    workers: int
    completed: int = strawberry.field(description="Since the live workers started.")
    failed: int
    retried: int
    aborted: int
    throughput_per_minute: float = strawberry.field(
        description="Completed jobs per minute, averaged over the live workers' uptime."
    )


@strawberry.type(description="Marketing mail you receive; transactional mail always comes.")
class EmailPreferences:
    newsletter: bool
    survey: bool
    birthday: bool

    @classmethod
    def from_suppressed(cls, suppressed: set[str]) -> EmailPreferences:
        return cls(**{category: category not in suppressed for category in emails.MARKETING})


@strawberry.input
class EmailPreferencesInput:
    newsletter: bool | None = None
    survey: bool | None = None
    birthday: bool | None = None


@strawberry.input
class SendNewsletterInput:
    headline: str
    body: str
    article_url: str
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Send later; unset: now."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Sending again with the same key (a retried request) mails no one twice.",
    )


@strawberry.type
class SendNewsletterPayload:
    queued: int
    suppressed: int = strawberry.field(description="Recipients who unsubscribed: not sent.")


def _stats(rows: list[emails.StatsRow]) -> list[EmailStats]:
    return [EmailStats(**dataclasses.asdict(row)) for row in rows]


async def _queue_info(info: Info) -> list[JobQueue]:
    result = []
    for name, queue in sorted(info.context.services.queues.items()):
        raw = await queue.info()
        stats = [w["stats"] for w in raw["workers"].values() if w.get("stats")]

        def total(key: str, stats: list = stats) -> int:  # type: ignore[type-arg]
            return sum(int(s[key]) for s in stats)

        uptime_minutes = sum(float(s["uptime"]) for s in stats) / 60_000
        completed = total("complete")
        result.append(
            JobQueue(
                name=name,
                queued=raw["queued"],
                active=raw["active"],
                scheduled=max(raw["scheduled"], 0),
                workers=len(raw["workers"]),
                completed=completed,
                failed=total("failed"),
                retried=total("retried"),
                aborted=total("aborted"),
                throughput_per_minute=round(completed / uptime_minutes, 2)
                if uptime_minutes
                else 0.0,
            )
        )
    return result


def _range(since: date | None, until: date | None) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    until = until or today
    return since or until - timedelta(days=6), until


@strawberry.type
class EmailQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Messages whose every attempt failed, newest first; requeue them with "
        "`requeueEmail`.",
    )
    async def email_dead_letters(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> EmailMessageConnection:
        async with info.context.session() as session:
            page = await newest_first_page(
                session, MessageRow, [MessageRow.status == StatusValue.FAILED],
                first=page_size(first), after=after,
            )  # fmt: skip
        edges = [
            EmailMessageEdge(cursor=encode_cursor(r.created_at, r.id), node=EmailMessage.build(r))
            for r in page.rows
        ]
        return EmailMessageConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Counts per UTC day, template and locale; default: the last 7 days.",
    )
    async def email_stats(
        self,
        info: Info,
        since: date | None = None,
        until: date | None = None,
        templates: list[str] | None = None,
        locales: list[str] | None = None,
    ) -> list[EmailStats]:
        start, end = _range(since, until)
        async with info.context.session() as session:
            return _stats(await emails.email_stats(session, start, end, templates, locales))

    @strawberry.field(
        permission_classes=[IsAdmin], description="Every job queue: depth, workers, throughput."
    )
    async def job_queues(self, info: Info) -> list[JobQueue]:
        return await _queue_info(info)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def email_preferences(self, info: Info) -> EmailPreferences:
        viewer = info.context.require_viewer()
        async with info.context.session() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
            assert user is not None
            return EmailPreferences.from_suppressed(
                await emails.suppressed_categories(session, user.email)
            )


@strawberry.type
class EmailMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Send a dead letter again (fresh attempts)."
    )
    async def requeue_email(self, info: Info, id: strawberry.ID) -> EmailMessage:
        viewer = info.context.require_viewer()
        message_id = parse_id(id, "id")
        async with info.context.transaction() as session:
            queued = await emails.requeue(session, viewer, message_id)
        services = info.context.services
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, [queued], timeout_seconds=timeout)
        async with info.context.session() as session:
            return EmailMessage.build(await session.get_one(MessageRow, message_id))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Every dead letter (or those of one template) sent again, oldest first, "
        "up to 10,000 per call; returns how many. Password-reset mail is left out.",
    )
    async def requeue_dead_letters(self, info: Info, template: str | None = None) -> int:
        viewer = info.context.require_viewer()
        async with info.context.transaction() as session:
            queued = await emails.requeue_all(session, viewer, template)
        services = info.context.services
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, queued, timeout_seconds=timeout)
        return len(queued)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="The newsletter to every active user in their language (BULK priority; "
        "those who unsubscribed are skipped).",
    )
    async def send_newsletter(
        self, info: Info, input: SendNewsletterInput
    ) -> SendNewsletterPayload:
        viewer = info.context.require_viewer()
        services = info.context.services
        letter = emails.Newsletter(input.headline, input.body, input.article_url,
                                   input.scheduled_at, input.idempotency_key)  # fmt: skip
        async with info.context.transaction() as session:
            queued, suppressed = await emails.send_newsletter(
                session, viewer, letter, services.message_id_domain
            )
        # After the commit; should this process die here, the dispatcher picks them up.
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, queued, timeout_seconds=timeout)
        return SendNewsletterPayload(queued=len(queued), suppressed=suppressed)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Switch marketing mail on or off for your address.",
    )
    async def set_email_preferences(
        self, info: Info, input: EmailPreferencesInput
    ) -> EmailPreferences:
        viewer = info.context.require_viewer()
        wanted = {
            name: value for name in emails.MARKETING if (value := getattr(input, name)) is not None
        }
        if not wanted:
            raise bad_input("input", "Say which mail to switch on or off.")
        async with info.context.transaction() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
            assert user is not None
            suppressed = await emails.set_preferences(
                session, user.email, wanted, SuppressionSource.PREFERENCES
            )
        return EmailPreferences.from_suppressed(suppressed)


@strawberry.type
class EmailSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsAdmin],
        description="The e-mail statistics, sent again whenever they change (checked every "
        "5 s); default range: today (UTC) — each check counts the range's messages again.",
    )
    async def email_stats(
        self, info: Info, since: date | None = None, until: date | None = None
    ) -> AsyncGenerator[list[EmailStats], None]:
        last: list[EmailStats] | None = None
        while True:
            today = datetime.now(UTC).date()
            start, end = _range(since or until or today, until)
            async with info.context.session() as session:
                current = _stats(await emails.email_stats(session, start, end))
            if current != last:
                last = current
                yield current
            await asyncio.sleep(STATS_POLL_SECONDS)
