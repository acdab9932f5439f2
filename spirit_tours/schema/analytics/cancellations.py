"""Cancellations and refunds as GraphQL types, and their field on ``Analytics``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import DateRange
from spirit_tours.core.currencies import Currency
from spirit_tours.core.money import normalised
from spirit_tours.resolvers.analytics import cancellations

GRAPHQL_ROW_LIMIT = 2000
"""The most rows one answer holds; ``truncated`` tells."""


@strawberry.type(
    description="The bookings sold (created) in one month and destination, in one currency, "
    "and what became of them: every amount is an exact decimal in `currency`."
)
class CancellationRow:
    month: str = strawberry.field(description="The UTC month of sale, YYYY-MM.")
    destination: str = strawberry.field(description="The booking's destination, as written.")
    currency: Currency = strawberry.field(
        description="The bookings' currency: every amount of this row is in it, written with "
        "exactly its minor units (never added across currencies)."
    )
    bookings: int = strawberry.field(description="Bookings sold, cancelled ones included.")
    cancelled_bookings: int = strawberry.field(
        description="Of those, how many are cancelled now (by the owner or the operator)."
    )
    cancellation_rate: float | None = strawberry.field(
        description="cancelledBookings / bookings, 0 to 1, 4 decimals (rounded half up)."
    )
    median_days_before_start: float | None = strawberry.field(
        description="Median, over the cancelled bookings, of the days from the cancellation "
        "(its UTC day) to the trip's first day, the notice the cancellation policy reads; "
        "null when none was cancelled."
    )
    refunds: int = strawberry.field(
        description="Refunds the cancellation policy made due on these bookings (a cancellation "
        "with nothing paid, or past every refund tier, makes none); over-payments sent back "
        "are not cancellations' and are not counted."
    )
    refund_amount: Decimal = strawberry.field(
        description="What those refunds give back, whatever their progress."
    )
    refunded_amount: Decimal = strawberry.field(
        description="Of that, what was sent back already (refunds REFUNDED)."
    )
    average_refund_percent: Decimal | None = strawberry.field(
        description="Mean of those refunds' percentages of what had been paid (the tier the "
        "notice met), 2 decimals; null when there is no refund."
    )

    @classmethod
    def build(cls, row: cancellations.CancellationRow) -> CancellationRow:
        return cls(
            month=row.month, destination=row.destination, currency=Currency(row.currency),
            bookings=row.bookings, cancelled_bookings=row.cancelled_bookings,
            cancellation_rate=row.cancellation_rate,
            median_days_before_start=row.median_days_before_start, refunds=row.refunds,
            refund_amount=normalised(row.refund_amount, row.currency),
            refunded_amount=normalised(row.refunded_amount, row.currency),
            average_refund_percent=row.average_refund_percent,
        )  # fmt: skip


@strawberry.type(
    description="Cancellations and refunds of the bookings sold in the range (UTC days of the "
    "booking's creation), from the rollup (see `refreshedAt`)."
)
class CancellationReport:
    refreshed_at: datetime | None = strawberry.field(
        description="When the rollup these figures come from was refreshed (ISO 8601, UTC): "
        "changes since then are not counted yet. Null if it never was."
    )
    destination: str | None = strawberry.field(
        description="The destination the bookings were narrowed to; null for all."
    )
    rows: list[CancellationRow] = strawberry.field(
        description="One row per month, destination and currency, in that order; at most "
        f"{GRAPHQL_ROW_LIMIT}."
    )
    truncated: bool = strawberry.field(
        description=f"More than {GRAPHQL_ROW_LIMIT} rows: the last are left out (the CSV "
        "export holds up to 10,000)."
    )


@strawberry.type
class CancellationReports:
    days: strawberry.Private[DateRange]

    @strawberry.field(
        description="Cancellations and refunds by month of sale and destination, one row per "
        "currency. BAD_USER_INPUT when `destination` is blank or longer than 200 characters."
    )
    async def cancellations(
        self,
        info: strawberry.Info[Context, None],
        destination: Annotated[
            str | None,
            strawberry.argument(
                description="Only the bookings to this destination (as written, case and "
                "surrounding spaces aside); all when left out."
            ),
        ] = None,
    ) -> CancellationReport:
        async with info.context.session() as session:
            report = await cancellations.cancellation_report(
                session, self.days, destination, limit=GRAPHQL_ROW_LIMIT
            )
        return CancellationReport(
            refreshed_at=report.refreshed_at,
            destination=report.destination,
            rows=[CancellationRow.build(row) for row in report.rows],
            truncated=report.truncated,
        )
