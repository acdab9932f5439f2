"""Cancellations and refunds: each figure against a small known history computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from httpx import AsyncClient

from spirit_tours.core.analytics import DateRange
from spirit_tours.core.enums import PaymentStatus, Provider, RefundStatus
from spirit_tours.persistence.analytics.cancellations import cancellation_sums
from spirit_tours.persistence.bookings import BookingRefund
from spirit_tours.persistence.database import SessionFactory
from tests.analytics_facts import (
    Cast,
    assert_admin_only,
    at,
    booking,
    cancel,
    cast,
    payment,
    refresh,
    role_tokens,
)
from tests.analytics_flows import export
from tests.analytics_flows import refresh as refresh_over_graphql
from tests.booking_flows import CANCEL, booked, pay
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import make_world

DAYS = DateRange(date(2026, 9, 1), date(2026, 10, 31))
TRIP = date(2026, 12, 1)


async def history(sessions: SessionFactory, people: Cast) -> None:
    """Bookings sold in September and October 2026, trips from 1 December unless said
    (sold; where, currency; paid; cancelled; notice; the refund the policy made due):

    - B1: 3 Sep; Cusco USD; 500; 1 Oct; 61 d; 100 % = 500, REFUNDED.
    - B2: 15 Sep; Cusco USD; 100; not cancelled; an over-payment's refund of 50 (no
      cancellation's).
    - B3: 20 Sep; Cusco USD; 400; 11 Nov; 20 d; 50 % = 200, DUE.
    - B4: 28 Sep; Cusco USD; 0; 2 Oct; 60 d; none (nothing paid).
    - B5: 5 Oct; Cusco USD; 300; 6 Oct; 56 d; 100 % = 300, PROCESSING.
    - B6: 7 Oct; Cusco USD; 0; 20 Oct; 42 d; none.
    - B7: 10 Oct; Cusco EUR; 1000; 25 Nov; 6 d; none (past every tier).
    - B8: 31 Oct 23:00; Lima USD, trip on 10 January; 200; 1 Nov; 70 d; 100 % = 200, DUE.

    And outside the range, bookings sold on 31 August 23:59 and 1 November 00:00, cancelled."""
    async with sessions() as session, session.begin():
        b1 = await booking(session, people, at("2026-09-03"), start=TRIP, paid="500.00")
        await cancel(session, b1, at("2026-10-01", 9), refund_percent="100",
                     refund_status=RefundStatus.REFUNDED)  # fmt: skip
        b2 = await booking(session, people, at("2026-09-15"), start=TRIP, paid="100.00")
        extra = await payment(session, b2, at("2026-09-16"), provider=Provider.STRIPE,
                              status=PaymentStatus.SUCCEEDED)  # fmt: skip
        session.add(BookingRefund(booking_id=b2.id, amount=Decimal(50), currency="USD",
                                  paid_amount=Decimal(100), refund_percent=Decimal(50),
                                  days_before_start=76, payment_id=extra.id))  # fmt: skip
        b3 = await booking(session, people, at("2026-09-20"), start=TRIP, paid="400.00")
        await cancel(session, b3, at("2026-11-11", 15), refund_percent="50")
        b4 = await booking(session, people, at("2026-09-28"), start=TRIP)
        await cancel(session, b4, at("2026-10-02"))
        b5 = await booking(session, people, at("2026-10-05"), start=TRIP, paid="300.00")
        await cancel(session, b5, at("2026-10-06"), refund_percent="100",
                     refund_status=RefundStatus.PROCESSING)  # fmt: skip
        b6 = await booking(session, people, at("2026-10-07"), start=TRIP)
        await cancel(session, b6, at("2026-10-20", 23.5))
        b7 = await booking(session, people, at("2026-10-10"), currency="EUR", start=TRIP,
                           paid="1000.00")  # fmt: skip
        await cancel(session, b7, at("2026-11-25"))
        b8 = await booking(session, people, at("2026-10-31", 23), destination="Lima",
                           start=date(2027, 1, 10), paid="200.00")  # fmt: skip
        await cancel(session, b8, at("2026-11-01", 8), refund_percent="100")
        for sold in (at("2026-08-31", 23.99), at("2026-11-01")):
            outside = await booking(session, people, sold, start=TRIP, paid="100.00")
            await cancel(session, outside, at("2026-11-02"), refund_percent="100")


async def test_each_row_matches_the_history_by_hand(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    people = await cast(sessions, make_user)
    await history(sessions, people)
    await refresh(sessions)
    async with sessions() as session:
        rows, truncated = await cancellation_sums(session, DAYS, None, limit=100)
    assert not truncated
    table = {(row.month, row.destination, row.currency): row for row in rows}
    assert list(table) == [
        ("2026-09", "Cusco", "USD"),
        ("2026-10", "Cusco", "EUR"),
        ("2026-10", "Cusco", "USD"),
        ("2026-10", "Lima", "USD"),
    ]
    # September, Cusco, USD: B1-B4, three cancelled with 61, 20 and 60 days' notice (median
    # 60); refunds of B1 (500, sent back) and B3 (200), 100 % and 50 %; B2's over-payment is
    # no cancellation's.
    september = table[("2026-09", "Cusco", "USD")]
    assert (september.bookings, september.cancelled, september.refunds) == (4, 3, 2)
    assert september.median_days_before_start == 60
    assert (september.refund_amount, september.refunded_amount) == (Decimal(700), Decimal(500))
    assert september.refund_percent_sum == Decimal(150)
    # October, Cusco, USD: B5 and B6, both cancelled (56 and 42 days: median 49), one refund
    # of 300 at 100 %, not sent back yet.
    october = table[("2026-10", "Cusco", "USD")]
    assert (october.bookings, october.cancelled, october.refunds) == (2, 2, 1)
    assert october.median_days_before_start == 49
    assert (october.refund_amount, october.refunded_amount) == (Decimal(300), Decimal(0))
    # October, Cusco, EUR: B7 cancelled 6 days before, past every refund tier.
    euro = table[("2026-10", "Cusco", "EUR")]
    assert (euro.bookings, euro.cancelled, euro.refunds, euro.refund_amount) == (
        1,
        1,
        0,
        Decimal(0),
    )
    assert euro.median_days_before_start == 6
    # October, Lima: B8, sold on the range's last day at 23:00 UTC, cancelled 70 days before.
    lima = table[("2026-10", "Lima", "USD")]
    assert (lima.bookings, lima.cancelled, lima.refunds, lima.refund_amount) == (
        1,
        1,
        1,
        Decimal(200),
    )
    assert lima.median_days_before_start == 70


CANCELLATIONS = """
query($from: Date!, $to: Date!, $destination: String) {
  analytics(from: $from, to: $to) {
    cancellations(destination: $destination) {
      refreshedAt destination truncated
      rows { month destination currency bookings cancelledBookings cancellationRate
             medianDaysBeforeStart refunds refundAmount
             refundedAmount averageRefundPercent }
    }
  }
}"""
RANGE = {"from": "2026-09-01", "to": "2026-10-31"}


async def test_admin_reads_the_report_over_graphql_and_as_csv(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    await history(sessions, await cast(sessions, make_user))
    tokens = await role_tokens(gql, make_user)
    await refresh_over_graphql(gql, tokens.admin)
    report = (await gql.execute(CANCELLATIONS, RANGE, token=tokens.admin)).ok()["analytics"][
        "cancellations"
    ]
    assert report["refreshedAt"] is not None
    assert (report["destination"], report["truncated"]) == (None, False)
    # The figures of test_each_row_matches_the_history_by_hand, with their rates (3/4, 2/2,
    # 1/1, 1/1) and average refund percentages ((100 + 50) / 2, 100, none, 100).
    assert report["rows"] == [
        {"month": "2026-09", "destination": "Cusco", "currency": "USD", "bookings": 4,
         "cancelledBookings": 3, "cancellationRate": 0.75, "medianDaysBeforeStart": 60.0,
         "refunds": 2, "refundAmount": "700.00", "refundedAmount": "500.00",
         "averageRefundPercent": "75.00"},
        {"month": "2026-10", "destination": "Cusco", "currency": "EUR", "bookings": 1,
         "cancelledBookings": 1, "cancellationRate": 1.0, "medianDaysBeforeStart": 6.0,
         "refunds": 0, "refundAmount": "0.00",
         "refundedAmount": "0.00", "averageRefundPercent": None},
        {"month": "2026-10", "destination": "Cusco", "currency": "USD", "bookings": 2,
         "cancelledBookings": 2, "cancellationRate": 1.0, "medianDaysBeforeStart": 49.0,
         "refunds": 1, "refundAmount": "300.00", "refundedAmount": "0.00",
         "averageRefundPercent": "100.00"},
        {"month": "2026-10", "destination": "Lima", "currency": "USD", "bookings": 1,
         "cancelledBookings": 1, "cancellationRate": 1.0, "medianDaysBeforeStart": 70.0,
         "refunds": 1, "refundAmount": "200.00", "refundedAmount": "0.00",
         "averageRefundPercent": "100.00"},
    ]  # fmt: skip
    lima = {**RANGE, "destination": " lima"}
    narrowed = (await gql.execute(CANCELLATIONS, lima, token=tokens.admin)).ok()["analytics"]
    assert [row["destination"] for row in narrowed["cancellations"]["rows"]] == ["Lima"]

    answer = await export(http, "cancellations", tokens.admin, **RANGE)
    assert answer.status_code == 200
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["month", "destination", "currency", "bookings", "cancelled_bookings",
                        "cancellation_rate", "median_days_before_start", "refunds",
                        "refund_amount", "refunded_amount", "average_refund_percent"]  # fmt: skip
    assert table[1] == ["2026-09", "Cusco", "USD", "4", "3", "0.75", "60.0", "2", "700.00",
                        "500.00", "75.00"]  # fmt: skip
    assert len(table) == 1 + 4


async def test_only_admin_reads_it(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    """docs/privacy.md §2.8: every owner's cancellations and refunds together."""
    await history(sessions, await cast(sessions, make_user))
    tokens = await role_tokens(gql, make_user)
    await refresh_over_graphql(gql, tokens.admin)
    secrets = ["700.00", "75.00", "2026-09"]
    await assert_admin_only(gql, http, tokens, CANCELLATIONS, RANGE,
                            [("cancellations", RANGE)], secrets)  # fmt: skip


async def test_hostile_input_gets_typed_errors(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    await cast(sessions, make_user)
    admin = (await role_tokens(gql, make_user)).admin
    for destination in ("", "x" * 201, "Lima\u0007"):
        result = await gql.execute(CANCELLATIONS, {**RANGE, "destination": destination},
                                   token=admin)  # fmt: skip
        assert result.codes == ["BAD_USER_INPUT"], destination
    too_long = await gql.execute(CANCELLATIONS, {"from": "2000-01-01", "to": "2026-10-31"},
                                 token=admin)  # fmt: skip
    assert too_long.codes == ["BAD_USER_INPUT"]
    for params in ({**RANGE, "groupBy": "MONTH"}, {"from": "2026-13-01", "to": "2026-10-31"},
                   {**RANGE, "destination": "Lima"}):  # fmt: skip
        answer = await export(http, "cancellations", admin, **params)
        assert answer.status_code == 400, params


async def test_the_real_cancellation_fills_the_rollup_as_the_report_says(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient
) -> None:
    """A booking paid and cancelled through the API: 20 days before a trip, the default policy
    (30:100, 14:50, 7:25) gives back 50 % of the 300 paid."""
    world = await make_world(gql, make_user)
    start = datetime.now(UTC).date() + timedelta(days=20)
    booking_id = await booked(gql, world, start=start)
    await pay(sessions, booking_id, "300.00")
    cancelled = await gql.execute(CANCEL, {"b": booking_id, "reason": "Plans changed"},
                                  token=world.agency.token)  # fmt: skip
    assert cancelled.ok()["cancelBooking"]["refund"]["refundPercent"] == "50.00"
    await refresh_over_graphql(gql, world.admin.token)
    today = datetime.now(UTC).date().isoformat()
    answer = await gql.execute(CANCELLATIONS, {"from": today, "to": today},
                               token=world.admin.token)  # fmt: skip
    rows = answer.ok()["analytics"]["cancellations"]["rows"]
    assert [(row["destination"], row["bookings"], row["cancelledBookings"],
             row["medianDaysBeforeStart"], row["refunds"], row["refundAmount"],
             row["averageRefundPercent"]) for row in rows] == [
        ("Cusco", 1, 1, 20.0, 1, "150.00", "50.00")
    ]  # fmt: skip


async def test_the_report_is_the_rollup_as_last_refreshed(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    await refresh(sessions)  # whatever an earlier test left in the views
    people = await cast(sessions, make_user)
    await history(sessions, people)
    async with sessions() as session:
        assert await cancellation_sums(session, DAYS, None, limit=100) == ([], False)
    await refresh(sessions)
    async with sessions() as session:
        b = await booking(session, people, at("2026-10-12"), start=TRIP)
        await cancel(session, b, at("2026-10-13"))
        await session.commit()
    async with sessions() as session:
        rows, _ = await cancellation_sums(session, DAYS, None, limit=100)
    october = next(row for row in rows if (row.month, row.currency) == ("2026-10", "USD")
                   and row.destination == "Cusco")  # fmt: skip
    assert (october.bookings, october.cancelled) == (2, 2)  # not 3: not refreshed since
