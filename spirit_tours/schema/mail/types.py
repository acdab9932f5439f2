"""E-mail and job queues as GraphQL types: messages, statistics, queues, preferences."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import today_utc
from spirit_tours.core.enums import EmailStatus
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.resolvers import emails
from spirit_tours.schema.common import PageInfo

Info = strawberry.Info[Context, None]


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
            recipient=row.recipient, priority=row.priority, status=row.status,
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

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[EmailMessage]:
        return [edge.node for edge in self.edges]


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


@strawberry.type
class SendNewsletterPayload:
    queued: int
    suppressed: int = strawberry.field(description="Recipients who unsubscribed: not sent.")


def stats_of(rows: list[emails.StatsRow]) -> list[EmailStats]:
    return [EmailStats(**dataclasses.asdict(row)) for row in rows]


def stats_range(since: date | None, until: date | None) -> tuple[date, date]:
    today = today_utc()
    until = until or today
    return since or until - timedelta(days=6), until
