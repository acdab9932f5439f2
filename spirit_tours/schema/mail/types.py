"""E-mail and job queues as GraphQL types: messages, statistics, queues, preferences."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import today_utc
from spirit_tours.core.enums import EmailStatus, EmailTemplate, Locale
from spirit_tours.emails.queueing import Priority
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.resolvers import emails
from spirit_tours.schema.common import PageInfo

Info = strawberry.Info[Context, None]


@strawberry.type(description="One message to one recipient (ADMIN).")
class EmailMessage:
    id: strawberry.ID = strawberry.field(description="Stable identifier, a UUID.")
    template: EmailTemplate = strawberry.field(
        description="Which e-mail it is, e.g. BOOKING_CONFIRMED."
    )
    locale: Locale = strawberry.field(description="The language it was written in.")
    recipient: str = strawberry.field(description="The recipient's e-mail address.")
    priority: Priority = strawberry.field(description="The queue lane it goes through.")
    status: EmailStatus = strawberry.field(description="Where the message stands.")
    attempts: int = strawberry.field(
        description="Send attempts made so far: at most 3, counted afresh after a requeue."
    )
    last_error: str | None = strawberry.field(
        description="The last attempt's error; null when none failed."
    )
    requeues: int = strawberry.field(description="How many times the operator requeued it.")
    created_at: datetime = strawberry.field(description="When it was queued (ISO 8601, UTC).")
    scheduled_at: datetime = strawberry.field(
        description="When it is (or was) due to be sent (ISO 8601, UTC)."
    )
    sent_at: datetime | None = strawberry.field(
        description="When the SMTP server accepted it (ISO 8601, UTC); null before."
    )
    failed_at: datetime | None = strawberry.field(
        description="When its last attempt failed for good (ISO 8601, UTC); null unless it did."
    )
    opened_at: datetime | None = strawberry.field(
        description="First time its open pixel was loaded (ISO 8601, UTC); null if never."
    )
    clicked_at: datetime | None = strawberry.field(
        description="First time one of its tracked links was followed (ISO 8601, UTC); null if "
        "never."
    )

    @classmethod
    def build(cls, row: MessageRow) -> EmailMessage:
        return cls(
            id=strawberry.ID(str(row.id)), template=EmailTemplate(row.template),
            locale=Locale(row.locale), recipient=row.recipient,
            priority=Priority(row.priority), status=row.status,
            attempts=row.attempts, last_error=row.last_error, requeues=row.requeues,
            created_at=row.created_at, scheduled_at=row.scheduled_at, sent_at=row.sent_at,
            failed_at=row.failed_at, opened_at=row.opened_at, clicked_at=row.clicked_at,
        )  # fmt: skip


@strawberry.type(description="One message of a page, with its cursor.")
class EmailMessageEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this message; pass it as `after` to read on from it."
    )
    node: EmailMessage = strawberry.field(description="The message.")


@strawberry.type(description="A page of messages, newest first.")
class EmailMessageConnection:
    edges: list[EmailMessageEdge] = strawberry.field(
        description="The messages of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Whether and how to read the next page.")
    total_count: int = strawberry.field(description="How many messages there are in all.")

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[EmailMessage]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="Messages of one template and locale queued on one UTC day.")
class EmailStats:
    day: date = strawberry.field(description="The UTC day the messages were queued (ISO 8601).")
    template: EmailTemplate = strawberry.field(description="The e-mail counted, e.g. WELCOME.")
    locale: Locale = strawberry.field(description="The language counted.")
    queued: int = strawberry.field(description="Meant to be sent (suppressed ones excluded).")
    sent: int = strawberry.field(description="Accepted by the SMTP server.")
    failed: int = strawberry.field(description="Dead letters: every attempt failed.")
    suppressed: int = strawberry.field(description="Not sent: the recipient unsubscribed.")
    opened: int = strawberry.field(description="Opened at least once (open pixel loaded).")
    clicked: int = strawberry.field(description="With at least one tracked link followed.")
    unsubscribed: int = strawberry.field(
        description="Whose recipient unsubscribed through this message's link."
    )


@strawberry.type(description="A saq queue as its workers report it.")
class JobQueue:
    name: str = strawberry.field(description="The queue's name.")
    queued: int = strawberry.field(description="Waiting to run now.")
    active: int = strawberry.field(description="Running now.")
    scheduled: int = strawberry.field(description="Waiting for a later time (incl. retries).")
    workers: int = strawberry.field(description="Live workers serving the queue.")
    completed: int = strawberry.field(description="Since the live workers started.")
    failed: int = strawberry.field(description="Jobs failed, since the live workers started.")
    retried: int = strawberry.field(description="Jobs retried, since the live workers started.")
    aborted: int = strawberry.field(description="Jobs aborted, since the live workers started.")
    throughput_per_minute: float = strawberry.field(
        description="Completed jobs per minute, averaged over the live workers' uptime."
    )


@strawberry.type(description="Marketing mail you receive; transactional mail always comes.")
class EmailPreferences:
    newsletter: bool = strawberry.field(description="Whether you receive the newsletter.")
    survey: bool = strawberry.field(description="Whether you receive surveys after a trip.")
    birthday: bool = strawberry.field(description="Whether you receive birthday greetings.")

    @classmethod
    def from_suppressed(cls, suppressed: set[str]) -> EmailPreferences:
        return cls(**{category: category not in suppressed for category in emails.MARKETING})


@strawberry.type(description="What sending the newsletter queued.")
class SendNewsletterPayload:
    queued: int = strawberry.field(description="Messages queued, one per recipient.")
    suppressed: int = strawberry.field(description="Recipients who unsubscribed: not sent.")


def stats_of(rows: list[emails.StatsRow]) -> list[EmailStats]:
    return [EmailStats(**dataclasses.asdict(row)) for row in rows]


def stats_range(since: date | None, until: date | None) -> tuple[date, date]:
    today = today_utc()
    until = until or today
    return since or until - timedelta(days=6), until
