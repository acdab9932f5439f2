"""The revenue report as GraphQL types, and its field on ``Analytics``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import DateRange, RevenueGroupBy
from spirit_tours.core.currencies import Currency
from spirit_tours.core.money import normalised
from spirit_tours.resolvers.analytics import revenue
from spirit_tours.schema.analytics import enums  # noqa: F401 - registers the GraphQL enums

GRAPHQL_ROW_LIMIT = 2000
"""The most rows one answer holds; ``truncated`` tells."""


@strawberry.type(
    description="The bookings sold (created) in one month and/or destination, in one "
    "currency: every amount is an exact decimal in `currency`. Cancelled bookings count in "
    "`bookings`, `paidTotal` and `refundsTotal` only."
)
class RevenueRow:
    month: str | None = strawberry.field(
        description="The UTC month of sale, YYYY-MM; null when grouped by destination only."
    )
    destination: str | None = strawberry.field(
        description="The destination; null when grouped by month only."
    )
    currency: Currency = strawberry.field(
        description="The currency of every amount of this row, each written with exactly its "
        "minor units (never added across currencies)."
    )
    bookings: int = strawberry.field(description="Bookings sold, cancelled ones included.")
    cancelled_bookings: int = strawberry.field(description="Of those, how many are cancelled now.")
    selling_total: Decimal = strawberry.field(
        description="Sum of the selling prices (net + markup) of the bookings not cancelled."
    )
    hotel_net_total: Decimal = strawberry.field(
        description="Sum of the hotels' net prices (the booking's hotel lines) of the bookings "
        "not cancelled: what the operator owes the hotels."
    )
    margin: Decimal = strawberry.field(
        description="sellingTotal - hotelNetTotal: what the operator earns on the bookings not "
        "cancelled."
    )
    average_markup_percent: Decimal | None = strawberry.field(
        description="Mean, over the bookings not cancelled, of each booking's markup "
        "(selling - net) / net x 100, 2 decimals; null when there are none."
    )
    paid_total: Decimal = strawberry.field(
        description="Money received for these bookings, cancelled ones included, before any "
        "refund (what they hold now plus what was sent back from it; over-payments sent back "
        "are never counted)."
    )
    refunds_total: Decimal = strawberry.field(
        description="Refunds of that money: those the cancellation policy made due, whatever "
        "their progress, and those the operator sent back otherwise (e.g. goodwill)."
    )
    net_revenue: Decimal = strawberry.field(
        description="paidTotal - refundsTotal: the money received that the operator keeps."
    )

    @classmethod
    def build(cls, row: revenue.RevenueRow) -> RevenueRow:
        return cls(
            month=row.month, destination=row.destination, currency=Currency(row.currency),
            bookings=row.bookings, cancelled_bookings=row.cancelled_bookings,
            selling_total=normalised(row.selling_total, row.currency),
            hotel_net_total=normalised(row.hotel_net_total, row.currency),
            margin=normalised(row.margin, row.currency),
            average_markup_percent=row.average_markup_percent,
            paid_total=normalised(row.paid_total, row.currency),
            refunds_total=normalised(row.refunds_total, row.currency),
            net_revenue=normalised(row.net_revenue, row.currency),
        )  # fmt: skip


@strawberry.type(
    description="Revenue, margin and markup of the bookings sold in the range (UTC days of "
    "the booking's creation), from the rollup (see `refreshedAt`)."
)
class RevenueReport:
    refreshed_at: datetime | None = strawberry.field(
        description="When the rollup these figures come from was refreshed (ISO 8601, UTC): "
        "changes since then are not counted yet. Null if it never was."
    )
    group_by: RevenueGroupBy = strawberry.field(description="How the rows are grouped.")
    rows: list[RevenueRow] = strawberry.field(
        description="One row per group and currency, by month, destination, currency; at most "
        f"{GRAPHQL_ROW_LIMIT}."
    )
    truncated: bool = strawberry.field(
        description=f"More than {GRAPHQL_ROW_LIMIT} rows: the last are left out (the CSV "
        "export holds up to 10,000)."
    )


@strawberry.type
class RevenueReports:
    days: strawberry.Private[DateRange]

    @strawberry.field(
        description="Revenue, margin and markup by month and/or destination, one row per currency."
    )
    async def revenue(
        self,
        info: strawberry.Info[Context, None],
        group_by: Annotated[
            RevenueGroupBy,
            strawberry.argument(
                description="How to group the bookings; default MONTH_AND_DESTINATION."
            ),
        ] = RevenueGroupBy.MONTH_AND_DESTINATION,
    ) -> RevenueReport:
        async with info.context.session() as session:
            report = await revenue.revenue_report(
                session, self.days, group_by, limit=GRAPHQL_ROW_LIMIT
            )
        return RevenueReport(
            refreshed_at=report.refreshed_at,
            group_by=report.group_by,
            rows=[RevenueRow.build(row) for row in report.rows],
            truncated=report.truncated,
        )
