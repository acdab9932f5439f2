"""Cancellations and refunds: per month of sale, destination and currency, how many bookings
were cancelled, how long before the trip, and what the cancellation policy gave back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange
from spirit_tours.persistence.analytics.cancellations import CancellationSums, cancellation_sums
from spirit_tours.persistence.analytics.views import CANCELLATIONS_VIEW, last_refreshed
from spirit_tours.resolvers.analytics.answers import ANSWERS
from spirit_tours.resolvers.analytics.destinations import destination_filter
from spirit_tours.resolvers.analytics.figures import percent, ratio, two_places


@dataclass(frozen=True)
class CancellationRow:
    month: str
    destination: str
    currency: str
    bookings: int
    cancelled_bookings: int
    cancellation_rate: float | None
    median_days_before_start: float | None
    refunds: int
    refund_amount: Decimal
    refunded_amount: Decimal
    average_refund_percent: Decimal | None


@dataclass(frozen=True)
class CancellationReport:
    refreshed_at: datetime | None
    destination: str | None
    rows: list[CancellationRow]
    truncated: bool


def _row(sums: CancellationSums) -> CancellationRow:
    days = sums.median_days_before_start
    return CancellationRow(
        month=sums.month,
        destination=sums.destination,
        currency=sums.currency,
        bookings=sums.bookings,
        cancelled_bookings=sums.cancelled,
        cancellation_rate=ratio(sums.cancelled, sums.bookings),
        median_days_before_start=two_places(days),
        refunds=sums.refunds,
        refund_amount=sums.refund_amount,
        refunded_amount=sums.refunded_amount,
        average_refund_percent=(
            percent(sums.refund_percent_sum / sums.refunds) if sums.refunds else None
        ),
    )


async def cancellation_report(
    session: AsyncSession, days: DateRange, destination: str | None, *, limit: int
) -> CancellationReport:
    """The bookings made on ``days`` (UTC), read from the rollup (or kept from an earlier
    request since its last refresh); BAD_USER_INPUT for a destination that cannot be one."""
    wanted = destination_filter(destination)
    refreshed_at = await last_refreshed(session, [CANCELLATIONS_VIEW])

    async def compute() -> CancellationReport:
        sums, truncated = await cancellation_sums(session, days, wanted, limit=limit)
        return CancellationReport(refreshed_at, wanted, [_row(row) for row in sums], truncated)

    question = ("cancellations", days, wanted, limit)
    return await ANSWERS.get_or_compute(question, refreshed_at, compute)
