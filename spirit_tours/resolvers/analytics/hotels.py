"""Hotel performance: per hotel, how it answers invitations, how fast, how often its offers
win and how far they sit from the winning price."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.analytics import DateRange, HotelGroupBy
from spirit_tours.persistence.analytics.hotels import HotelCounts, hotel_counts
from spirit_tours.persistence.analytics.views import (
    HOTELS_MONTHLY_VIEW,
    HOTELS_VIEW,
    last_refreshed,
)
from spirit_tours.resolvers.analytics.answers import ANSWERS
from spirit_tours.resolvers.analytics.destinations import destination_filter
from spirit_tours.resolvers.analytics.figures import percent, ratio, two_places


@dataclass(frozen=True)
class HotelRow:
    hotel_id: uuid.UUID
    hotel_name: str
    destination: str | None
    invitations: int
    responses: int
    response_rate: float | None
    offers: int
    offer_rate: float | None
    median_response_hours: float | None
    wins: int
    win_rate: float | None
    priced_losses: int
    median_gap_percent: Decimal | None


@dataclass(frozen=True)
class HotelReport:
    refreshed_at: datetime | None
    group_by: HotelGroupBy
    destination: str | None
    rows: list[HotelRow]
    truncated: bool


def _row(counts: HotelCounts) -> HotelRow:
    median_hours = counts.median_response_hours
    gap = counts.median_gap_percent
    return HotelRow(
        hotel_id=counts.hotel_id,
        hotel_name=counts.hotel_name,
        destination=counts.destination,
        invitations=counts.invitations,
        responses=counts.responses,
        response_rate=ratio(counts.responses, counts.invitations),
        offers=counts.offers,
        offer_rate=ratio(counts.offers, counts.invitations),
        median_response_hours=two_places(median_hours),
        wins=counts.wins,
        win_rate=ratio(counts.wins, counts.offers),
        priced_losses=counts.priced_losses,
        median_gap_percent=percent(gap) if gap is not None else None,
    )


async def hotel_report(
    session: AsyncSession,
    days: DateRange,
    group_by: HotelGroupBy,
    destination: str | None,
    *,
    limit: int,
) -> HotelReport:
    """The invitations made on ``days`` (UTC), per hotel (and destination), read from the
    rollup (or kept from an earlier request since its last refresh); BAD_USER_INPUT for a
    destination that cannot be one."""
    wanted = destination_filter(destination)
    refreshed_at = await last_refreshed(session, [HOTELS_VIEW, HOTELS_MONTHLY_VIEW])

    async def compute() -> HotelReport:
        counts, truncated = await hotel_counts(session, days, group_by, wanted, limit=limit)
        rows = [_row(row) for row in counts]
        return HotelReport(refreshed_at, group_by, wanted, rows, truncated)

    question = ("hotel-performance", days, group_by, wanted, limit)
    return await ANSWERS.get_or_compute(question, refreshed_at, compute)
