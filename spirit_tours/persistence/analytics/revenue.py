"""The revenue rollup (``analytics_revenue_daily``: per UTC day of sale, destination and
currency, the bookings' counts and sums) and the query that adds its days up by month and/or
destination, never across currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Numeric,
    String,
    cast,
    column,
    func,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from spirit_tours.core.analytics import DateRange, RevenueGroupBy
from spirit_tours.persistence.analytics.views import REVENUE_VIEW

revenue_view = table(
    REVENUE_VIEW,
    column("sold_on", Date()),
    column("destination", String()),
    column("currency", String()),
    column("bookings", BigInteger()),
    column("cancelled_bookings", BigInteger()),
    column("selling_total", Numeric()),
    column("hotel_net_total", Numeric()),
    column("markup_percent_sum", Numeric()),
    column("markup_count", BigInteger()),
    column("paid_total", Numeric()),
    column("refunds_total", Numeric()),
)


@dataclass(frozen=True)
class RevenueSums:
    """One group's sums, in one currency."""

    month: str | None
    destination: str | None
    currency: str
    bookings: int
    cancelled_bookings: int
    selling_total: Decimal
    hotel_net_total: Decimal
    markup_percent_sum: Decimal
    markup_count: int
    paid_total: Decimal
    refunds_total: Decimal


async def revenue_sums(
    session: AsyncSession, days: DateRange, group_by: RevenueGroupBy, *, limit: int
) -> tuple[list[RevenueSums], bool]:
    """The sums of the bookings sold in ``days``, per group and currency (months and
    destinations in order; at most ``limit`` rows), and whether rows were left out."""
    v = revenue_view.c
    # Sorts faster than its text. Truncated as a timestamp without time zone: a bare date
    # would become a timestamptz in the session's TimeZone (east of UTC, the month before).
    month = func.date_trunc("month", cast(v.sold_on, DateTime())).label("month")
    keys: list[ColumnElement[Any]] = []
    if group_by is not RevenueGroupBy.DESTINATION:
        keys.append(month)
    if group_by is not RevenueGroupBy.MONTH:
        keys.append(v.destination)
    sums = [
        func.sum(v[name]).label(name)
        for name in (
            "bookings",
            "cancelled_bookings",
            "selling_total",
            "hotel_net_total",
            "markup_percent_sum",
            "markup_count",
            "paid_total",
            "refunds_total",
        )
    ]
    query = (
        select(*keys, v.currency, *sums)
        .where(v.sold_on >= days.start, v.sold_on <= days.end)
        .group_by(*keys, v.currency)
        .order_by(*keys, v.currency)
        .limit(limit + 1)
    )
    rows = (await session.execute(query)).mappings().all()
    result = [
        RevenueSums(
            month=row["month"].strftime("%Y-%m") if "month" in row else None,
            destination=row.get("destination"),
            currency=row["currency"],
            bookings=int(row["bookings"]),
            cancelled_bookings=int(row["cancelled_bookings"]),
            selling_total=row["selling_total"],
            hotel_net_total=row["hotel_net_total"],
            markup_percent_sum=row["markup_percent_sum"],
            markup_count=int(row["markup_count"]),
            paid_total=row["paid_total"],
            refunds_total=row["refunds_total"],
        )
        for row in rows[:limit]
    ]
    return result, len(rows) > limit
