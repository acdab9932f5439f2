"""The rollups (materialized views) the refresh job keeps current, and when each was refreshed.

``VIEWS`` is the list the job refreshes, in order; a new report adds its views here (and
creates them in a migration, with the unique index ``REFRESH … CONCURRENTLY`` needs).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.persistence.base import Base

FUNNEL_VIEW = "analytics_quotation_funnel"
REVENUE_VIEW = "analytics_revenue_daily"
HOTELS_VIEW = "analytics_hotel_invitations"
HOTELS_MONTHLY_VIEW = "analytics_hotel_monthly"
CANCELLATIONS_VIEW = "analytics_booking_cancellations"
PAYMENTS_VIEW = "analytics_payment_outcomes"

VIEWS: list[str] = [
    FUNNEL_VIEW,
    REVENUE_VIEW,
    HOTELS_VIEW,
    HOTELS_MONTHLY_VIEW,  # after the view it adds up
    CANCELLATIONS_VIEW,
    PAYMENTS_VIEW,
]


class AnalyticsRefresh(Base):
    """When a rollup was last refreshed: the reports' ``refreshedAt``."""

    __tablename__ = "analytics_refreshes"

    view_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    # Taken before the refresh began: the view holds at least everything committed by then.
    refreshed_at: Mapped[datetime]
    duration_ms: Mapped[int]


REFRESH_LOCK = "analytics_refresh"
"""The transaction lock one refresh of the rollups holds (every process, every instance)."""


async def take_refresh_lock(session: AsyncSession, *, wait: bool) -> bool:
    """Take the refresh's transaction lock: waiting for a running refresh to commit, or not
    (then False when one is running). One refresh at a time: another one at once would hold
    a connection blocked on the views' locks, only to redo the same work right after."""
    function = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
    taken = await session.scalar(select(function(func.hashtext(REFRESH_LOCK))))
    return wait or bool(taken)


@dataclass(frozen=True)
class Refreshed:
    view: str
    refreshed_at: datetime
    duration_ms: int


async def refresh_views(session: AsyncSession, views: Sequence[str] = VIEWS) -> list[Refreshed]:
    """Refresh each view concurrently (readers keep reading the previous contents meanwhile)
    and record when; in the caller's transaction, so the times commit with the data."""
    done = []
    for view in views:
        if view not in VIEWS:
            raise ValueError(f"{view} is not an analytics rollup")
        started_at, started = now_utc(), time.monotonic()
        await session.execute(text(f'REFRESH MATERIALIZED VIEW CONCURRENTLY "{view}"'))
        # A refresh leaves the planner's statistics as they were (none, the first time): a
        # report would be planned for a handful of rows.
        await session.execute(text(f'ANALYZE "{view}"'))
        refreshed = Refreshed(view, started_at, round((time.monotonic() - started) * 1000))
        upsert = insert(AnalyticsRefresh).values(
            view_name=view, refreshed_at=started_at, duration_ms=refreshed.duration_ms
        )
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=[AnalyticsRefresh.view_name],
                set_={"refreshed_at": started_at, "duration_ms": refreshed.duration_ms},
            )
        )
        done.append(refreshed)
    return done


async def last_refreshed(session: AsyncSession, views: Iterable[str]) -> datetime | None:
    """The oldest refresh of these views (what a report reading them all is as fresh as);
    None when one of them has no recorded refresh."""
    wanted = set(views)
    rows = await session.execute(
        select(func.count(), func.min(AnalyticsRefresh.refreshed_at)).where(
            AnalyticsRefresh.view_name.in_(wanted)
        )
    )
    count, oldest = rows.one()
    return oldest if count == len(wanted) else None
