"""Revenue, margin and markup against the small known history (tests/analytics_history.py):
the figures worked out by hand, one row per currency, grouped by month and/or destination, and
old until the rollup is refreshed."""

from __future__ import annotations

import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import update

from spirit_tours.core.enums import BookingStatus
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.database import SessionFactory
from tests.analytics_flows import Tokens, refresh, revenue, sign_in_everyone
from tests.analytics_history import SPECS, Spec, known_history
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient

FROM, TO = "2026-01-01", "2026-12-31"
CENT = Decimal("0.01")


def _money(amount: Decimal, currency: str) -> str:
    """The amount as the API writes it: every currency of the history has two decimals."""
    assert currency in {"USD", "EUR", "BRL"}
    return str(amount.quantize(CENT))


def by_hand(group_by: str) -> list[dict[str, Any]]:
    """The report's rows, from the specs' sales, in Python."""
    groups: dict[tuple[str | None, str | None, str], list[Spec]] = defaultdict(list)
    for spec in SPECS:
        if spec.sale is None:
            continue
        sold = spec.times()[5]
        if sold.year != 2026:
            continue
        month = sold.strftime("%Y-%m") if group_by != "DESTINATION" else None
        destination = spec.destination if group_by != "MONTH" else None
        groups[(month, destination, spec.currency)].append(spec)
    rows = []
    for (month, destination, currency), specs in sorted(groups.items(), key=lambda g: str(g[0])):
        standing = [s.sale for s in specs if s.sale and s.sale.status != BookingStatus.CANCELLED]
        selling = sum((Decimal(sale.selling) for sale in standing), Decimal(0))
        net = sum((Decimal(n) for sale in standing for n in sale.nets), Decimal(0))
        markups = [
            (Decimal(sale.selling) - sum(map(Decimal, sale.nets)))
            / sum(map(Decimal, sale.nets))
            * 100
            for sale in standing
        ]
        paid = sum((Decimal(s.sale.paid) for s in specs if s.sale), Decimal(0))
        refunds = sum(
            (Decimal(s.sale.refund) for s in specs if s.sale and s.sale.refund), Decimal(0)
        )
        rows.append(
            {
                "month": month,
                "destination": destination,
                "currency": currency,
                "bookings": len(specs),
                "cancelledBookings": len(specs) - len(standing),
                "sellingTotal": _money(selling, currency),
                "hotelNetTotal": _money(net, currency),
                "margin": _money(selling - net, currency),
                "averageMarkupPercent": str(statistics.mean(markups).quantize(CENT, ROUND_HALF_UP))
                if markups
                else None,
                "paidTotal": _money(paid, currency),
                "refundsTotal": _money(refunds, currency),
                "netRevenue": _money(paid - refunds, currency),
            }
        )
    return rows


@pytest.fixture
async def tokens(gql: GraphQLClient, make_user: UserFactory) -> Tokens:
    return await sign_in_everyone(gql, make_user)


async def test_revenue_by_month_and_destination_is_the_hand_worked_one(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    result = await revenue(gql, tokens.admin, FROM, TO, "MONTH_AND_DESTINATION")
    report = result.ok()["analytics"]["revenue"]
    rows = [
        (row["month"], row["currency"], row["bookings"], row["cancelledBookings"],
         row["sellingTotal"], row["hotelNetTotal"], row["margin"],
         row["averageMarkupPercent"], row["paidTotal"], row["refundsTotal"],
         row["netRevenue"])
        for row in report["rows"]
    ]  # fmt: skip
    # Worked out on paper from SPECS. January: Q7 (sold 2 January, created in 2025), nothing
    # paid. March, Cusco: Q1 and Q2 in USD (markups 20% and 15% → 17.50; Q2's two hotel lines
    # add up to 1000), Q8 in BRL on a row of its own. April: Q4, cancelled: no sale stands,
    # 270 paid, 135 refunded.
    assert rows == [
        ("2026-01", "USD", 1, 0, "2000.00", "1600.00", "400.00", "25.00", "0.00", "0.00", "0.00"),
        ("2026-03", "BRL", 1, 0, "5000.00", "4000.00", "1000.00", "25.00", "5000.00", "0.00",
         "5000.00"),
        ("2026-03", "USD", 2, 0, "2350.00", "2000.00", "350.00", "17.50", "1545.00", "0.00",
         "1545.00"),
        ("2026-04", "EUR", 1, 1, "0.00", "0.00", "0.00", None, "270.00", "135.00", "135.00"),
    ]  # fmt: skip
    assert {row["destination"] for row in report["rows"]} == {"Cusco"}
    assert {row["currency"] for row in report["rows"]} == {"USD", "BRL", "EUR"}
    assert report["rows"] == by_hand("MONTH_AND_DESTINATION")
    assert report["truncated"] is False
    assert report["refreshedAt"] is not None


@pytest.mark.parametrize("group_by", ["MONTH", "DESTINATION"])
async def test_each_grouping_matches_the_history(
    gql: GraphQLClient,
    tokens: Tokens,
    make_user: UserFactory,
    sessions: SessionFactory,
    group_by: str,
) -> None:
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    report = (await revenue(gql, tokens.admin, FROM, TO, group_by)).ok()["analytics"]["revenue"]
    assert report["groupBy"] == group_by
    assert report["rows"] == by_hand(group_by)
    if group_by == "DESTINATION":
        usd = next(row for row in report["rows"] if row["currency"] == "USD")
        # Q7, Q1, Q2: markups 25%, 20%, 15%.
        assert (usd["bookings"], usd["averageMarkupPercent"]) == (3, "20.00")
        assert usd["sellingTotal"] == "4350.00"


async def test_figures_stay_the_old_ones_until_a_refresh(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    history = await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    before = (await revenue(gql, tokens.admin, FROM, TO, "MONTH")).ok()["analytics"]["revenue"]
    async with sessions() as session, session.begin():
        await session.execute(
            update(Booking)
            .where(Booking.quotation_id == history.quotation_ids["Q2"])
            .values(status=BookingStatus.CANCELLED)
        )
    stale = (await revenue(gql, tokens.admin, FROM, TO, "MONTH")).ok()["analytics"]["revenue"]
    assert stale == before
    await refresh(gql, tokens.admin)
    after = (await revenue(gql, tokens.admin, FROM, TO, "MONTH")).ok()["analytics"]["revenue"]
    march = next(
        row for row in after["rows"] if row["month"] == "2026-03" and row["currency"] == "USD"
    )
    # Only Q1 stands now: 1200 selling on 1000 net; Q2's 345 paid still counts as received.
    assert (march["bookings"], march["cancelledBookings"]) == (2, 1)
    assert march["sellingTotal"] == "1200.00"
    assert march["margin"] == "200.00"
    assert march["averageMarkupPercent"] == "20.00"
    assert march["paidTotal"] == "1545.00"
    assert after["refreshedAt"] > before["refreshedAt"]


async def test_a_range_without_sales_has_no_rows(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    report = (await revenue(gql, tokens.admin, "2026-02-01", "2026-02-28", "MONTH")).ok()
    assert report["analytics"]["revenue"]["rows"] == []
    refused = await revenue(gql, tokens.admin, "2026-03-01", "2026-02-28", "MONTH")
    assert refused.codes == ["BAD_USER_INPUT"]
    unknown = await revenue(gql, tokens.admin, FROM, TO, "HOTEL")
    assert unknown.codes == ["GRAPHQL_VALIDATION_FAILED"]
