"""The e-mail statistics, live (ADMIN)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import date
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import today_utc
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.resolvers import emails
from spirit_tours.schema.mail.types import EmailStats, stats_of, stats_range

Info = strawberry.Info[Context, None]


STATS_POLL_SECONDS = 5.0


@strawberry.type
class EmailSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsAdmin],
        description="The e-mail statistics, sent again whenever they change (checked every "
        "5 s); default range: today (UTC) — each check counts the range's messages again.",
    )
    async def email_stats(
        self,
        info: Info,
        since: Annotated[
            date | None,
            strawberry.argument(
                description="First UTC day (ISO 8601 date); default: until, or today."
            ),
        ] = None,
        until: Annotated[
            date | None,
            strawberry.argument(description="Last UTC day (ISO 8601 date); default: today."),
        ] = None,
    ) -> AsyncGenerator[list[EmailStats], None]:
        last: list[EmailStats] | None = None
        while True:
            today = today_utc()
            start, end = stats_range(since or until or today, until)
            async with info.context.session() as session:
                current = stats_of(await emails.email_stats(session, start, end))
            if current != last:
                last = current
                yield current
            await asyncio.sleep(STATS_POLL_SECONDS)
