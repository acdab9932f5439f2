"""Bookings from approved quotations: prices frozen, exactly one per quotation, typed refusals."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from spirit_tours.core.enums import Role
from spirit_tours.persistence.database import SessionFactory
from tests.booking_flows import (
    CREATE_BOOKING,
    approved_quotation,
    book,
    booking_count,
    event_count,
    pay,
)
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CLOSE, PROPOSE, make_world, open_quotation, submit

BOOKING = """
query($id: ID!) {
  booking(id: $id) {
    reference status destination travellers currency
    sellingPrice { amount currency } amountPaid { amount } amountDue { amount }
    paymentPolicy {
      fullPayment depositPercent deposit { amount currency } depositDueDate balanceDueDate
    }
    cancellationPolicy { daysBefore refundPercent }
    hotels { hotel { name } netPrice { amount } rooms { type count } }
    quotation { id status }
  }
}"""
QUOTATION_BOOKING = "query($id: ID!) { quotation(id: $id) { status booking { id reference } } }"


async def test_owner_books_an_approved_quotation_with_prices_and_policies_frozen(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await approved_quotation(gql, world)
    booking_id = await book(gql, world.agency.token, quotation_id)

    seen = (await gql.execute(BOOKING, {"id": booking_id}, token=world.admin.token)).ok()
    booking = seen["booking"]
    start = date.today() + timedelta(days=60)
    assert booking["reference"].startswith("ST-")
    assert booking["status"] == "PENDING_PAYMENT"
    assert booking["sellingPrice"] == {"amount": "1200.00", "currency": "USD"}
    assert booking["amountPaid"] == {"amount": "0.00"}
    assert booking["amountDue"] == {"amount": "1200.00"}
    assert booking["paymentPolicy"] == {
        "fullPayment": False,
        "depositPercent": "30.00",
        "deposit": {"amount": "360.00", "currency": "USD"},
        "depositDueDate": (date.today() + timedelta(days=3)).isoformat(),
        "balanceDueDate": (start - timedelta(days=30)).isoformat(),
    }
    assert booking["cancellationPolicy"] == [
        {"daysBefore": 30, "refundPercent": "100.00"},
        {"daysBefore": 14, "refundPercent": "50.00"},
        {"daysBefore": 7, "refundPercent": "25.00"},
    ]
    assert booking["hotels"] == [
        {
            "hotel": {"name": "Inti Palace"},
            "netPrice": {"amount": "1000.00"},
            "rooms": [{"type": "DOUBLE", "count": 6}],
        }
    ]
    assert booking["quotation"] == {"id": quotation_id, "status": "BOOKED"}
    linked = await gql.execute(QUOTATION_BOOKING, {"id": quotation_id}, token=world.agency.token)
    assert linked.ok()["quotation"]["booking"]["id"] == booking_id
    assert await event_count(sessions, "booking.created") == 1
    assert await event_count(sessions, "quotation.booked") == 1


async def test_twenty_concurrent_create_booking_calls_make_exactly_one_booking(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await approved_quotation(gql, world)
    tokens = [world.agency.token if n % 2 else world.admin.token for n in range(20)]
    results = await asyncio.gather(
        *(
            gql.execute(CREATE_BOOKING, {"input": {"quotationId": quotation_id}}, token=token)
            for token in tokens
        )
    )
    made = [r.data["createBooking"]["booking"]["id"] for r in results if not r.errors]
    assert len(made) == 1
    refused = [r for r in results if r.errors]
    assert len(refused) == 19
    for result in refused:
        assert result.codes == ["CONFLICT"]
        assert result.errors[0]["extensions"]["bookingId"] == made[0]
    assert await booking_count(sessions) == 1
    assert await event_count(sessions, "booking.created") == 1


async def test_refused_bookings_change_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    await make_user("guide@op.example", Role.GUIDE)
    guide = await gql.token_for("guide@op.example", "correct horse battery")
    proposed = await open_quotation(gql, world)
    offer = await submit(gql, world.hotels[0], proposed, "800.00")
    (await gql.execute(CLOSE, {"q": proposed}, token=world.admin.token)).ok()
    propose = {"q": proposed, "o": offer, "m": "10"}
    (await gql.execute(PROPOSE, propose, token=world.admin.token)).ok()
    approved = await approved_quotation(gql, world)
    start = date.today() + timedelta(days=60)

    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        (world.agency.token, {"quotationId": proposed}, "INVALID_STATE", None),
        (world.hotels[0].token, {"quotationId": approved}, "FORBIDDEN", None),
        (world.hotels[1].token, {"quotationId": approved}, "FORBIDDEN", None),
        (world.outsider_hotel.token, {"quotationId": approved}, "NOT_FOUND", None),
        (world.other_agency.token, {"quotationId": approved}, "NOT_FOUND", None),
        (world.client.token, {"quotationId": approved}, "NOT_FOUND", None),
        (guide, {"quotationId": approved}, "NOT_FOUND", None),
        (world.agency.token, {"quotationId": "not-an-id"}, "BAD_USER_INPUT", "quotationId"),
        (
            world.agency.token,
            {"quotationId": approved, "paymentPolicy": {"balanceDueDate": str(start)}},
            "FORBIDDEN",
            None,
        ),
        (
            world.admin.token,
            {
                "quotationId": approved,
                "paymentPolicy": {"balanceDueDate": str(start), "depositPercent": "100"},
            },
            "BAD_USER_INPUT",
            "paymentPolicy.depositPercent",
        ),
        (
            world.admin.token,
            {
                "quotationId": approved,
                "paymentPolicy": {"balanceDueDate": str(start + timedelta(days=1))},
            },
            "BAD_USER_INPUT",
            "paymentPolicy.balanceDueDate",
        ),
        (
            world.admin.token,
            {
                "quotationId": approved,
                "paymentPolicy": {"balanceDueDate": str(start), "depositPercent": "20"},
            },
            "BAD_USER_INPUT",
            "paymentPolicy.depositDueDate",
        ),
        (
            world.admin.token,
            {
                "quotationId": approved,
                "cancellationPolicy": [
                    {"daysBefore": 30, "refundPercent": "50"},
                    {"daysBefore": 10, "refundPercent": "80"},
                ],
            },
            "BAD_USER_INPUT",
            "cancellationPolicy",
        ),
        (
            world.admin.token,
            {"quotationId": approved,
             "cancellationPolicy": [{"daysBefore": 5, "refundPercent": "101"}]},
            "BAD_USER_INPUT",
            "cancellationPolicy",
        ),
    ]  # fmt: skip
    for token, booking_input, code, field in cases:
        result = await gql.execute(CREATE_BOOKING, {"input": booking_input}, token=token)
        assert result.codes == [code], (booking_input, result.errors)
        assert result.errors[0]["extensions"].get("field") == field, result.errors
        assert result.data is None
    assert await booking_count(sessions) == 0
    assert await event_count(sessions, "booking.created") == 0

    anonymous = await gql.execute(CREATE_BOOKING, {"input": {"quotationId": approved}})
    assert anonymous.codes == ["UNAUTHENTICATED"]
    status = "query($id: ID!) { quotation(id: $id) { status } }"
    still = await gql.execute(status, {"id": approved}, token=world.agency.token)
    assert still.ok()["quotation"]["status"] == "APPROVED"


async def test_operator_agrees_full_payment_and_its_own_cancellation_tiers(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await approved_quotation(gql, world, owner=world.client)
    due = date.today() + timedelta(days=20)
    booking_id = await book(
        gql,
        world.admin.token,
        quotation_id,
        paymentPolicy={"balanceDueDate": due.isoformat()},
        cancellationPolicy=[
            {"daysBefore": 10, "refundPercent": "40"},
            {"daysBefore": 45, "refundPercent": "90.5"},
        ],
    )
    seen = (await gql.execute(BOOKING, {"id": booking_id}, token=world.client.token)).ok()
    assert seen["booking"]["paymentPolicy"] == {
        "fullPayment": True,
        "depositPercent": None,
        "deposit": None,
        "depositDueDate": None,
        "balanceDueDate": due.isoformat(),
    }
    assert seen["booking"]["cancellationPolicy"] == [
        {"daysBefore": 45, "refundPercent": "90.50"},
        {"daysBefore": 10, "refundPercent": "40.00"},
    ]
    # Full payment: only the whole price confirms the booking.
    await pay(sessions, booking_id, "1199.99")
    status = "query($id: ID!) { booking(id: $id) { status amountDue { amount } } }"
    after = await gql.execute(status, {"id": booking_id}, token=world.client.token)
    assert after.ok()["booking"] == {"status": "PENDING_PAYMENT", "amountDue": {"amount": "0.01"}}
    await pay(sessions, booking_id, "0.01")
    after = await gql.execute(status, {"id": booking_id}, token=world.client.token)
    assert after.ok()["booking"]["status"] == "CONFIRMED"


async def test_the_deposit_confirms_the_booking_once(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await book(gql, world.agency.token, await approved_quotation(gql, world))
    status = "query($id: ID!) { booking(id: $id) { status confirmedAt } }"
    await pay(sessions, booking_id, "359.99")
    before = await gql.execute(status, {"id": booking_id}, token=world.agency.token)
    assert before.ok()["booking"] == {"status": "PENDING_PAYMENT", "confirmedAt": None}
    await pay(sessions, booking_id, "0.01")
    await pay(sessions, booking_id, "500.00")
    after = await gql.execute(status, {"id": booking_id}, token=world.agency.token)
    assert after.ok()["booking"]["status"] == "CONFIRMED"
    assert await event_count(sessions, "booking.confirmed") == 1


async def test_a_percentage_written_as_negative_zero_reads_as_zero(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    """A refund percent of -0 passes "from 0 to 100": it is kept and shown as 0, never -0.00."""
    world = await make_world(gql, make_user)
    quotation_id = await approved_quotation(gql, world, owner=world.client)
    due = date.today() + timedelta(days=20)
    booking_id = await book(
        gql,
        world.admin.token,
        quotation_id,
        paymentPolicy={"balanceDueDate": due.isoformat()},
        cancellationPolicy=[
            {"daysBefore": 45, "refundPercent": "-0"},
            {"daysBefore": 10, "refundPercent": -0.0},
        ],
    )
    seen = (await gql.execute(BOOKING, {"id": booking_id}, token=world.client.token)).ok()
    assert seen["booking"]["cancellationPolicy"] == [
        {"daysBefore": 45, "refundPercent": "0.00"},
        {"daysBefore": 10, "refundPercent": "0.00"},
    ]
