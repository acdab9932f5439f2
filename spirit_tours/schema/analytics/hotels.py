"""Hotel performance as GraphQL types, and its field on ``Analytics``.

Every hotel's figures together, its competitors' included: for ADMIN only, as the whole of
``Analytics`` is (docs/privacy.md §2.8); a hotel never reads another hotel's figures.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import DateRange, HotelGroupBy
from spirit_tours.resolvers.analytics import hotels
from spirit_tours.schema.analytics import enums  # noqa: F401 - registers the GraphQL enums

GRAPHQL_ROW_LIMIT = 2000
"""The most hotels one answer holds; ``truncated`` tells."""


@strawberry.type(description="One hotel's invitations of the range and what came of them.")
class HotelPerformanceRow:
    hotel_id: strawberry.ID = strawberry.field(description="The hotel's id.")
    hotel_name: str = strawberry.field(description="The hotel's name.")
    destination: str | None = strawberry.field(
        description="The quotations' destination, as written, when grouped by hotel and "
        "destination; null when grouped by hotel."
    )
    invitations: int = strawberry.field(
        description="Invitations the hotel received on the range's days (UTC day of the "
        "invitation), taken-back invitations excepted."
    )
    responses: int = strawberry.field(
        description="Of those, the ones it answered: with an offer (withdrawn since or not) or "
        "a decline."
    )
    response_rate: float | None = strawberry.field(
        description="responses / invitations, 0 to 1, 4 decimals (rounded half up)."
    )
    offers: int = strawberry.field(
        description="Of the invitations, the ones it answered with an offer (withdrawn since "
        "or not; a revision is the same offer)."
    )
    offer_rate: float | None = strawberry.field(
        description="offers / invitations, 0 to 1, 4 decimals."
    )
    median_response_hours: float | None = strawberry.field(
        description="Median, over the answered invitations, of the hours from the invitation "
        "to the hotel's first offer or its decline (2 decimals); null when none was answered."
    )
    wins: int = strawberry.field(
        description="Offers that are their quotation's selected offer: proposed by the "
        "operator and not rejected by the owner (approved, booked or awaiting the owner)."
    )
    win_rate: float | None = strawberry.field(
        description="wins / offers, 0 to 1, 4 decimals; null when it made no offer."
    )
    priced_losses: int = strawberry.field(
        description="Quotations it lost with an offer still active (not withdrawn) while "
        "another hotel's offer in the same currency was selected: what `medianGapPercent` "
        "is computed over."
    )
    median_gap_percent: Decimal | None = strawberry.field(
        description="Median, over `pricedLosses`, of (its net price - the winning net price) "
        "/ the winning net price * 100, 2 decimals: how far above (positive) or below "
        "(negative) the winner it priced. Null when there is no such quotation."
    )

    @classmethod
    def build(cls, row: hotels.HotelRow) -> HotelPerformanceRow:
        return cls(
            hotel_id=strawberry.ID(str(row.hotel_id)), hotel_name=row.hotel_name,
            destination=row.destination,
            invitations=row.invitations, responses=row.responses,
            response_rate=row.response_rate, offers=row.offers, offer_rate=row.offer_rate,
            median_response_hours=row.median_response_hours, wins=row.wins,
            win_rate=row.win_rate, priced_losses=row.priced_losses,
            median_gap_percent=row.median_gap_percent,
        )  # fmt: skip


@strawberry.type(
    description="Per hotel, the invitations made in the range (UTC days of the invitation): "
    "how it answered and how its offers fared, from the rollup (see `refreshedAt`)."
)
class HotelPerformance:
    refreshed_at: datetime | None = strawberry.field(
        description="When the rollup these figures come from was refreshed (ISO 8601, UTC): "
        "changes since then are not counted yet. Null if it never was."
    )
    group_by: HotelGroupBy = strawberry.field(description="How the rows are grouped.")
    destination: str | None = strawberry.field(
        description="The destination the quotations were narrowed to; null for all."
    )
    rows: list[HotelPerformanceRow] = strawberry.field(
        description="One row per hotel (and destination) invited in the range, most "
        f"invitations first, then by name; at most {GRAPHQL_ROW_LIMIT}."
    )
    truncated: bool = strawberry.field(
        description=f"More than {GRAPHQL_ROW_LIMIT} rows: the least invited are left out "
        "(the CSV export holds up to 10,000)."
    )


@strawberry.type
class HotelReports:
    days: strawberry.Private[DateRange]

    @strawberry.field(
        description="Hotel performance: invitations, response and offer rates, median response "
        "time, offers, wins, win rate and how far the offers sit from the winning price. "
        "BAD_USER_INPUT when `destination` is blank or longer than 200 characters."
    )
    async def hotel_performance(
        self,
        info: strawberry.Info[Context, None],
        group_by: Annotated[
            HotelGroupBy,
            strawberry.argument(description="How to group the invitations; default HOTEL."),
        ] = HotelGroupBy.HOTEL,
        destination: Annotated[
            str | None,
            strawberry.argument(
                description="Only the quotations to this destination (as written, case and "
                "surrounding spaces aside); all when left out."
            ),
        ] = None,
    ) -> HotelPerformance:
        async with info.context.session() as session:
            report = await hotels.hotel_report(
                session, self.days, group_by, destination, limit=GRAPHQL_ROW_LIMIT
            )
        return HotelPerformance(
            refreshed_at=report.refreshed_at,
            group_by=report.group_by,
            destination=report.destination,
            rows=[HotelPerformanceRow.build(row) for row in report.rows],
            truncated=report.truncated,
        )
