"""Hotel performance's rollup (``analytics_hotel_invitations``: one row per invitation with its
response, its offer's outcome and its price gap already derived, migration 0013) and the query
that adds it up per hotel over a range of invitation days (then names the few hotels of the
answer from ``hotels``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    Numeric,
    String,
    Uuid,
    column,
    func,
    literal,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from spirit_tours.core.analytics import DateRange, HotelGroupBy
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.analytics.medians import exact_median
from spirit_tours.persistence.analytics.views import HOTELS_VIEW

hotels_view = table(
    HOTELS_VIEW,
    column("invitation_id", Uuid()),
    column("hotel_id", Uuid()),
    column("destination", String()),
    column("invited_on", Date()),
    column("offered", Boolean()),
    column("declined", Boolean()),
    column("response_hours", Numeric()),
    column("won", Boolean()),
    column("gap_percent", Numeric()),
)


@dataclass(frozen=True)
class HotelCounts:
    """One hotel's invitations in the range and what came of them, as the view gives them."""

    hotel_id: uuid.UUID
    hotel_name: str
    destination: str | None
    """None: every destination together."""
    invitations: int
    responses: int
    """Invitations it answered: with an offer or a decline."""
    offers: int
    wins: int
    median_response_hours: Decimal | None
    priced_losses: int
    """Quotations it lost with an active offer, compared with the winning offer."""
    median_gap_percent: Decimal | None


async def hotel_counts(
    session: AsyncSession,
    days: DateRange,
    group_by: HotelGroupBy,
    destination: str | None,
    *,
    limit: int,
) -> tuple[list[HotelCounts], bool]:
    """Per hotel (and destination, as written), the invitations made on ``days`` (UTC), of
    one destination (case and surrounding spaces aside) or all: the first ``limit`` rows by
    most invitations, then name, and whether rows were left out."""
    v = hotels_view.c
    keys = [v.hotel_id]
    place: ColumnElement[str | None] = literal(None, String())
    if group_by is HotelGroupBy.HOTEL_AND_DESTINATION:
        keys.append(v.destination)
        place = v.destination
    sums = (
        select(
            v.hotel_id,
            place.label("destination"),
            func.count().label("invitations"),
            func.count().filter(v.offered | v.declined).label("responses"),
            func.count().filter(v.offered).label("offers"),
            func.count().filter(v.won).label("wins"),
            exact_median(v.response_hours).label("median_response_hours"),
            func.count(v.gap_percent).label("priced_losses"),
            exact_median(v.gap_percent).label("median_gap_percent"),
        )
        .where(v.invited_on >= days.start, v.invited_on <= days.end)
        .group_by(*keys)
    )
    if destination is not None:
        sums = sums.where(func.lower(v.destination) == destination.strip().lower())
    per_hotel = sums.subquery()
    query = (
        select(per_hotel.c.hotel_id, Hotel.name.label("hotel_name"),
               *(c for c in per_hotel.c if c.name != "hotel_id"))
        .join(Hotel, Hotel.id == per_hotel.c.hotel_id)
        .order_by(per_hotel.c.invitations.desc(), Hotel.name, per_hotel.c.hotel_id,
                  per_hotel.c.destination)
    )  # fmt: skip
    rows = (await session.execute(query.limit(limit + 1))).mappings().all()
    return [HotelCounts(**row) for row in rows[:limit]], len(rows) > limit
