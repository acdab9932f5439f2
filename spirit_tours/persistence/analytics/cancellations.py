"""Cancellations' rollup (``analytics_booking_cancellations``: one row per booking with its
cancellation and the refund its cancellation policy made due, migration 0013) and the query
that adds it up per month of sale, destination and currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Boolean, Date, Integer, Numeric, String, Uuid, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange
from spirit_tours.persistence.analytics.medians import exact_median
from spirit_tours.persistence.analytics.views import CANCELLATIONS_VIEW

cancellations_view = table(
    CANCELLATIONS_VIEW,
    column("booking_id", Uuid()),
    column("booked_on", Date()),
    column("destination", String()),
    column("currency", String()),
    column("cancelled", Boolean()),
    column("days_before_start", Integer()),
    column("refunds", Integer()),
    column("refund_amount", Numeric()),
    column("refunded_amount", Numeric()),
    column("refund_percent_sum", Numeric()),
)


@dataclass(frozen=True)
class CancellationSums:
    """The bookings of one month of sale (UTC, YYYY-MM), destination and currency."""

    month: str
    destination: str
    currency: str
    bookings: int
    cancelled: int
    median_days_before_start: Decimal | None
    refunds: int
    refund_amount: Decimal
    refunded_amount: Decimal
    refund_percent_sum: Decimal


async def cancellation_sums(
    session: AsyncSession, days: DateRange, destination: str | None, *, limit: int
) -> tuple[list[CancellationSums], bool]:
    """The bookings made on ``days`` (UTC), of one destination or all, per month, destination
    and currency in that order: the first ``limit`` rows, and whether rows were left out."""
    v = cancellations_view.c
    month = func.to_char(v.booked_on, "YYYY-MM")
    query = (
        select(
            month.label("month"),
            v.destination,
            v.currency,
            func.count().label("bookings"),
            func.count().filter(v.cancelled).label("cancelled"),
            exact_median(v.days_before_start).label("median_days_before_start"),
            func.sum(v.refunds).label("refunds"),
            func.sum(v.refund_amount).label("refund_amount"),
            func.sum(v.refunded_amount).label("refunded_amount"),
            func.sum(v.refund_percent_sum).label("refund_percent_sum"),
        )
        .where(v.booked_on >= days.start, v.booked_on <= days.end)
        .group_by(month, v.destination, v.currency)
        .order_by(month, v.destination, v.currency)
    )
    if destination is not None:
        query = query.where(func.lower(v.destination) == destination.strip().lower())
    rows = (await session.execute(query.limit(limit + 1))).mappings().all()
    return [CancellationSums(**row) for row in rows[:limit]], len(rows) > limit
