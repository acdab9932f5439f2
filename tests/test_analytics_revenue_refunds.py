"""Revenue of bookings whose money went through the real flows: paid through a provider's
webhook, cancelled, the cancellation's refund sent back. A sent refund takes its money off the
booking's ``amount_paid``; the report must still count what was received once and what was
given back once."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from spirit_tours.core.clock import today_utc
from spirit_tours.core.enums import RefundStatus
from spirit_tours.persistence.bookings import BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.resolvers.payments.refunds import execute_booking_refund
from spirit_tours.services import Services
from tests.analytics_flows import refresh, revenue
from tests.booking_flows import CANCEL, booked
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import deposit_paid, stripe_api
from tests.quotation_flows import make_world

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) { refund { status } }
}"""


async def _today(gql: GraphQLClient, token: str) -> dict[str, object]:
    day = today_utc().isoformat()
    result = await revenue(gql, token, day, day, "MONTH")
    (row,) = result.ok()["analytics"]["revenue"]["rows"]
    return {k: row[k] for k in ("bookings", "cancelledBookings", "sellingTotal", "paidTotal",
                                "refundsTotal", "netRevenue")}  # fmt: skip


async def test_a_cancellation_refund_sent_back_is_taken_off_once(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    live_server: LiveServer,
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)  # 1200.00, 60 days ahead: a cancellation gives 100 %
    await deposit_paid(gql, http, booking_id, world.agency.token)
    cancelled = await gql.execute(CANCEL, {"b": booking_id, "reason": "Visa refused"},
                                  token=world.agency.token)  # fmt: skip
    assert cancelled.ok()["cancelBooking"]["refund"]["amount"]["amount"] == "360.00"
    await refresh(gql, world.admin.token)
    # Due, not sent yet: 360 received, 360 to give back, nothing kept.
    due = {"bookings": 1, "cancelledBookings": 1, "sellingTotal": "0.00", "paidTotal": "360.00",
           "refundsTotal": "360.00", "netRevenue": "0.00"}  # fmt: skip
    assert await _today(gql, world.admin.token) == due
    async with sessions() as session:
        (refund_id,) = (await session.scalars(select(BookingRefund.id))).all()
    services: Services = live_server.app.state.services
    with stripe_api():
        assert await execute_booking_refund(sessions, services.payments, refund_id) == (
            RefundStatus.REFUNDED
        )
    await refresh(gql, world.admin.token)
    # Sent: the same money received and given back once (the booking now holds 0.00 of it).
    assert await _today(gql, world.admin.token) == due


async def test_a_refund_the_operator_grants_was_received_and_is_not_kept(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    payment_id = await deposit_paid(gql, http, booking_id, world.agency.token)
    goodwill = {"paymentId": payment_id, "amount": "100.00", "reason": "Goodwill",
                "idempotencyKey": "refund-goodwill-analytics"}  # fmt: skip
    with stripe_api():
        sent = await gql.execute(REFUND, {"input": goodwill}, token=world.admin.token)
    assert sent.ok()["refundPayment"]["refund"]["status"] == "REFUNDED"
    await refresh(gql, world.admin.token)
    # 360 received, 100 of it sent back: 260 kept.
    assert await _today(gql, world.admin.token) == {
        "bookings": 1, "cancelledBookings": 0, "sellingTotal": "1200.00",
        "paidTotal": "360.00", "refundsTotal": "100.00", "netRevenue": "260.00",
    }  # fmt: skip
