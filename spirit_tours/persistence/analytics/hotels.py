"""Hotel performance's rollup (``analytics_hotel_invitations``: one row per invitation with its
response, its offer's outcome and its price gap already derived, migration 0013) and the query
that adds it up per hotel over a range of invitation days (then names the few hotels of the
answer from ``hotels``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Numeric,
    String,
    Uuid,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NullType

from spirit_tours.core.analytics import DateRange, HotelGroupBy
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.analytics.medians import middles, packed_middles
from spirit_tours.persistence.analytics.months import MonthSplit, split_months
from spirit_tours.persistence.analytics.views import HOTELS_MONTHLY_VIEW, HOTELS_VIEW

hotels_view = table(
    HOTELS_VIEW,
    column("invitation_id", Uuid()),
    column("hotel_id", Uuid()),
    column("destination", String()),
    column("invited_on", Date()),
    column("offered", Boolean()),
    column("declined", Boolean()),
    column("response_hours", Numeric()),
    column("response_us", BigInteger()),
    column("won", Boolean()),
    column("gap_percent", Numeric()),
)

monthly_view = table(
    HOTELS_MONTHLY_VIEW,
    column("month", Date()),
    column("hotel_id", Uuid()),
    column("destination", String()),
    column("invitations", BigInteger()),
    column("responses", BigInteger()),
    column("offers", BigInteger()),
    column("wins", BigInteger()),
    # Untyped: asyncpg's lists of int and Decimal as they come, not converted again item by item.
    column("response_us"),
    column("gap_percents"),
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


def _sorted_array(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The non-null values, sorted; untyped, like the monthly rollup's arrays."""
    ordered = func.array_agg(aggregate_order_by(value, value)).filter(value.is_not(None))
    return type_coerce(ordered, NullType())


def _packed(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The non-null integers, sorted, packed as the monthly rollup packs them."""
    packed = func.string_agg(
        func.int8send(value), aggregate_order_by(literal_column("''::bytea"), value)
    )
    return type_coerce(packed.filter(value.is_not(None)), NullType())


def _edge_sums(spans: tuple[tuple[date, date], ...]) -> Select[Any]:
    """The invitations of the days outside whole months, per hotel and destination, in the
    monthly rollup's shape (sorted arrays built here, from a month or two of rows at most)."""
    v = hotels_view.c
    return (
        select(
            v.hotel_id,
            v.destination,
            func.count().label("invitations"),
            func.count().filter(v.offered | v.declined).label("responses"),
            func.count().filter(v.offered).label("offers"),
            func.count().filter(v.won).label("wins"),
            _packed(v.response_us).label("response_us"),
            _sorted_array(v.gap_percent).label("gap_percents"),
        )
        .where(or_(*(v.invited_on.between(first, last) for first, last in spans)))
        .group_by(v.hotel_id, v.destination)
    )


def _parts(split: MonthSplit, destination: str | None) -> Select[Any]:
    """The rows to add up: the whole months' from the monthly rollup, then the other days'."""
    m, v = monthly_view.c, hotels_view.c
    parts = []
    if split.months is not None:
        first, last = split.months
        months = select(
            m.hotel_id, m.destination, m.invitations, m.responses, m.offers, m.wins,
            m.response_us, m.gap_percents,
        ).where(m.month.between(first, last))  # fmt: skip
        if destination is not None:
            months = months.where(func.lower(m.destination) == destination)
        parts.append(months)
    if split.edges:
        days = _edge_sums(split.edges)
        if destination is not None:
            days = days.where(func.lower(v.destination) == destination)
        parts.append(days)
    return parts[0] if len(parts) == 1 else union_all(*parts)  # type: ignore[return-value]


@dataclass
class _Group:
    """One row of the answer, added up from its parts."""

    invitations: int = 0
    responses: int = 0
    offers: int = 0
    wins: int = 0
    response_us: list[bytes] = field(default_factory=list)
    gap_percents: list[list[Decimal]] = field(default_factory=list)

    def add(self, row: Any) -> None:
        self.invitations += row.invitations
        self.responses += row.responses
        self.offers += row.offers
        self.wins += row.wins
        if row.response_us:
            self.response_us.append(row.response_us)
        if row.gap_percents:
            self.gap_percents.append(row.gap_percents)

    def counts(self, hotel_id: uuid.UUID, name: str, destination: str | None) -> HotelCounts:
        hours = packed_middles(self.response_us)
        gap = middles(self.gap_percents)
        return HotelCounts(
            hotel_id=hotel_id,
            hotel_name=name,
            destination=destination,
            invitations=self.invitations,
            responses=self.responses,
            offers=self.offers,
            wins=self.wins,
            # Microseconds to hours, exact: the mean of the middles over 2 * 3600 * 10**6.
            median_response_hours=(
                None if hours is None else Decimal(hours[0] + hours[1]) / 7_200_000_000
            ),
            priced_losses=sum(len(run) for run in self.gap_percents),
            median_gap_percent=None if gap is None else (gap[0] + gap[1]) / 2,
        )


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
    most invitations, then name, and whether rows were left out.

    The whole months come from the monthly rollup, the days of a partial first or last month
    from the per-invitation view; the counts add up and the medians are exact, from the
    merged sorted arrays of every part.
    """
    wanted = None if destination is None else destination.strip().lower()
    query = _parts(split_months(days), wanted)
    by_place = group_by is HotelGroupBy.HOTEL_AND_DESTINATION
    groups: dict[tuple[uuid.UUID, str | None], _Group] = {}
    for row in await session.execute(query):
        key = (row.hotel_id, row.destination if by_place else None)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(row)
    if not groups:
        return [], False
    # The names in the database's own order (its collation), as an ORDER BY would sort them.
    named = await session.execute(
        select(Hotel.id, Hotel.name)
        .where(Hotel.id.in_({hotel_id for hotel_id, _ in groups}))
        .order_by(Hotel.name, Hotel.id)
    )
    names = {hotel_id: (rank, name) for rank, (hotel_id, name) in enumerate(named.all())}
    ordered = sorted(
        (key for key in groups if key[0] in names),
        key=lambda key: (-groups[key].invitations, names[key[0]][0], key[1] or ""),
    )
    rows = [groups[key].counts(key[0], names[key[0]][1], key[1]) for key in ordered[:limit]]
    return rows, len(ordered) > limit
