"""E-mail queries (ADMIN): dead letters, statistics, the job queues; and one's own preferences."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.enums import EmailStatus, EmailTemplate, Locale
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories.pagination import (
    encode_cursor,
    newest_first_page,
    window,
)
from spirit_tours.resolvers import emails
from spirit_tours.schema.common import AFTER, BEFORE, FIRST, LAST, page_info
from spirit_tours.schema.mail.types import (
    EmailMessage,
    EmailMessageConnection,
    EmailMessageEdge,
    EmailPreferences,
    EmailStats,
    JobQueue,
    stats_of,
    stats_range,
)

Info = strawberry.Info[Context, None]


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


@strawberry.type
class EmailQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Messages whose every attempt failed, newest first; requeue them with "
        "`requeueEmail`.",
    )
    async def email_dead_letters(
        self,
        info: Info,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> EmailMessageConnection:
        pages = window(first, after, last, before)
        async with info.context.session() as session:
            page = await newest_first_page(
                session, MessageRow, [MessageRow.status == EmailStatus.FAILED],
                first=pages.size, after=pages.after,
                backwards=pages if pages.backwards else None,
            )  # fmt: skip
        edges = [
            EmailMessageEdge(cursor=encode_cursor(r.created_at, r.id), node=EmailMessage.build(r))
            for r in page.rows
        ]
        return EmailMessageConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges],
                has_next=page.has_next,
                has_previous=page.has_previous,
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
        since: Annotated[
            date | None,
            strawberry.argument(
                description="First UTC day (ISO 8601 date); default: 6 days before until. "
                "At most 366 days in all."
            ),
        ] = None,
        until: Annotated[
            date | None,
            strawberry.argument(description="Last UTC day (ISO 8601 date); default: today."),
        ] = None,
        templates: Annotated[
            list[EmailTemplate] | None,
            strawberry.argument(description="Only these templates, e.g. WELCOME; null: all."),
        ] = None,
        locales: Annotated[
            list[Locale] | None,
            strawberry.argument(description="Only these languages (ES, EN, PT); null: all."),
        ] = None,
    ) -> list[EmailStats]:
        start, end = stats_range(since, until)
        names = [template.value for template in templates] if templates is not None else None
        codes = [locale.value for locale in locales] if locales is not None else None
        async with info.context.session() as session:
            return stats_of(await emails.email_stats(session, start, end, names, codes))

    @strawberry.field(
        permission_classes=[IsAdmin], description="Every job queue: depth, workers, throughput."
    )
    async def job_queues(self, info: Info) -> list[JobQueue]:
        return await _queue_info(info)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The marketing mail the signed-in user receives.",
    )
    async def email_preferences(self, info: Info) -> EmailPreferences:
        viewer = info.context.require_viewer()
        async with info.context.session() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
            assert user is not None
            return EmailPreferences.from_suppressed(
                await emails.suppressed_categories(session, user.email)
            )
