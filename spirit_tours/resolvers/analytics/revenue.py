"""Revenue, margin and markup of the bookings sold, per month and/or destination, one row per
currency (amounts in different currencies are never added together)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange, RevenueGroupBy
from spirit_tours.persistence.analytics.revenue import RevenueSums, revenue_sums
from spirit_tours.persistence.analytics.views import REVENUE_VIEW, last_refreshed
from spirit_tours.resolvers.analytics.answers import ANSWERS
from spirit_tours.resolvers.analytics.figures import percent


@dataclass(frozen=True)
class RevenueRow:
    month: str | None
    destination: str | None
    currency: str
    bookings: int
    cancelled_bookings: int
    selling_total: Decimal
    hotel_net_total: Decimal
    margin: Decimal
    average_markup_percent: Decimal | None
    paid_total: Decimal
    refunds_total: Decimal
    net_revenue: Decimal


@dataclass(frozen=True)
class RevenueReport:
    refreshed_at: datetime | None
    group_by: RevenueGroupBy
    rows: list[RevenueRow]
    truncated: bool


def _row(sums: RevenueSums) -> RevenueRow:
    markup = percent(sums.markup_percent_sum / sums.markup_count) if sums.markup_count else None
    return RevenueRow(
        month=sums.month,
        destination=sums.destination,
        currency=sums.currency,
        bookings=sums.bookings,
        cancelled_bookings=sums.cancelled_bookings,
        selling_total=sums.selling_total,
        hotel_net_total=sums.hotel_net_total,
        margin=sums.selling_total - sums.hotel_net_total,
        average_markup_percent=markup,
        paid_total=sums.paid_total,
        refunds_total=sums.refunds_total,
        net_revenue=sums.paid_total - sums.refunds_total,
    )


async def revenue_report(
    session: AsyncSession, days: DateRange, group_by: RevenueGroupBy, *, limit: int
) -> RevenueReport:
    """The bookings sold (created) in ``days`` (UTC), read from the rollup (or kept from an
    earlier request since its last refresh)."""
    refreshed_at = await last_refreshed(session, [REVENUE_VIEW])

    async def compute() -> RevenueReport:
        sums, truncated = await revenue_sums(session, days, group_by, limit=limit)
        return RevenueReport(refreshed_at, group_by, [_row(row) for row in sums], truncated)

    question = ("revenue", days, group_by, limit)
    return await ANSWERS.get_or_compute(question, refreshed_at, compute)
