"""Refunds: the operator's, full or partial and idempotent; and the one a cancellation made
due, executed against the booking's payments."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from spirit_tours.core.enums import RefundStatus
from spirit_tours.persistence.bookings import BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.resolvers.payments.refunds import execute_booking_refund
from spirit_tours.services import Services
from tests.booking_flows import CANCEL, booked
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import (
    PAYMENT,
    deposit_paid,
    start_payment,
    stripe_api,
    stripe_event,
    stripe_signature,
)
from tests.quotation_flows import make_world

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    refund { amount { amount } status providerReference }
    payment { status refundedAmount { amount } }
  }
}"""


async def test_operator_refunds_part_then_the_rest_each_key_once(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    payment_id = await deposit_paid(gql, http, booking_id, world.agency.token)
    part = {"paymentId": payment_id, "amount": "100.00", "reason": "Goodwill",
            "idempotencyKey": "refund-goodwill-1"}  # fmt: skip
    with stripe_api() as stripe:
        owner = await gql.execute(REFUND, {"input": part}, token=world.agency.token)
        assert owner.codes == ["FORBIDDEN"]
        first = (await gql.execute(REFUND, {"input": part}, token=world.admin.token)).ok()
        again = (await gql.execute(REFUND, {"input": part}, token=world.admin.token)).ok()
        too_much = {**part, "amount": "260.01", "idempotencyKey": "refund-too-much"}
        refused = await gql.execute(REFUND, {"input": too_much}, token=world.admin.token)
        rest = {**part, "amount": None, "idempotencyKey": "refund-rest-1"}
        last = (await gql.execute(REFUND, {"input": rest}, token=world.admin.token)).ok()
        calls = [
            dict(httpx.QueryParams(c.request.content.decode())) for c in stripe["refunds"].calls
        ]
        keys = [c.request.headers["Idempotency-Key"] for c in stripe["refunds"].calls]
    assert first["refundPayment"]["refund"]["status"] == "REFUNDED"
    assert first["refundPayment"]["payment"] == {
        "status": "PARTIALLY_REFUNDED", "refundedAmount": {"amount": "100.00"}
    }  # fmt: skip
    assert again["refundPayment"]["refund"] == first["refundPayment"]["refund"]
    assert refused.codes == ["BAD_USER_INPUT"]
    assert last["refundPayment"]["payment"] == {
        "status": "REFUNDED", "refundedAmount": {"amount": "360.00"}
    }  # fmt: skip
    # Two provider calls in all, 100.00 then the 260.00 left, each with its own key.
    assert [c.get("amount") for c in calls] == ["10000", "26000"]
    assert len(set(keys)) == 2
    assert all(call["payment_intent"] == "pi_3Spirit0001" for call in calls)


async def test_a_cancellation_refund_is_executed_against_the_payments(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    live_server: LiveServer,
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)  # 60 days ahead: 100 % back
    payment_id = await deposit_paid(gql, http, booking_id, world.agency.token)
    cancelled = await gql.execute(CANCEL, {"b": booking_id, "reason": "Visa refused"},
                                  token=world.agency.token)  # fmt: skip
    refund = cancelled.ok()["cancelBooking"]["refund"]
    assert refund["amount"]["amount"] == "360.00"
    async with sessions() as session:
        (due,) = (await session.scalars(select(BookingRefund.id))).all()
    services: Services = live_server.app.state.services
    with stripe_api() as stripe:
        status = await execute_booking_refund(sessions, services.payments, due)
        assert await execute_booking_refund(sessions, services.payments, due) == (
            RefundStatus.REFUNDED
        )
        assert stripe["refunds"].call_count == 1
    assert status == RefundStatus.REFUNDED
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
    assert seen["payment"]["status"] == "REFUNDED"
    assert seen["payment"]["refundedAmount"] == {"amount": "360.00"}


async def test_a_refund_the_provider_reported_first_is_not_counted_twice(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    payment_id = await deposit_paid(gql, http, booking_id, world.agency.token)
    # Stripe's charge.refunded (running total 100.00) overtakes our own refund call...
    body = stripe_event("charge.refunded", payment_id, amount=36000,
                        payment_intent="pi_3Spirit0001", amount_refunded=10000,
                        refunded=False)  # fmt: skip
    assert (await http.post("/webhooks/stripe", content=body,
                            headers=stripe_signature(body))).status_code == 200  # fmt: skip
    part = {"paymentId": payment_id, "amount": "100.00", "reason": "Goodwill",
            "idempotencyKey": "refund-goodwill-2"}  # fmt: skip
    with stripe_api():
        done = (await gql.execute(REFUND, {"input": part}, token=world.admin.token)).ok()
    # ...and the 100.00 is counted once; the booking has received 260.00 net.
    assert done["refundPayment"]["payment"] == {
        "status": "PARTIALLY_REFUNDED", "refundedAmount": {"amount": "100.00"}
    }  # fmt: skip
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.agency.token)).ok()
    assert seen["payment"]["booking"]["amountPaid"] == {"amount": "260.00"}


async def test_an_amount_mismatch_is_never_credited_by_a_later_event(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = (await start_payment(gql, world.agency.token, booking_id)).ok()
    payment_id = started["startPayment"]["payment"]["id"]
    wrong = stripe_event("payment_intent.succeeded", payment_id, amount=99900)
    charge = stripe_event("charge.succeeded", payment_id, amount=36000,
                          payment_intent="pi_3Spirit0001")  # fmt: skip
    for body in (wrong, charge):
        assert (await http.post("/webhooks/stripe", content=body,
                                headers=stripe_signature(body))).status_code == 200  # fmt: skip
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
    assert seen["payment"]["status"] == "SUCCEEDED"
    unpaid = {"status": "PENDING_PAYMENT", "amountPaid": {"amount": "0.00"}}
    assert seen["payment"]["booking"] == unpaid
