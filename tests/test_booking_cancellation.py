"""Cancellation refunds at the policy's boundaries, completion, payments and reminders."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from spirit_tours.core.booking_policies import default_payment_policy, refund_due
from spirit_tours.core.cancellation import CancellationTier, parse_cancellation_policy
from spirit_tours.core.errors import DomainError
from spirit_tours.jobs.bookings import announce_payment_reminders
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.resolvers.bookings.lifecycle import apply_payment
from tests.booking_flows import CANCEL, booked, event_count, pay
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import make_world

POLICY = parse_cancellation_policy("30:100,14:50,7:25")
START = date(2027, 3, 31)


@pytest.mark.parametrize(
    ("days_before", "percent", "refund"),
    [
        (365, "100", "1054.92"),
        (30, "100", "1054.92"),  # exactly the notice a tier asks for still earns it
        (29, "50", "527.46"),
        (14, "50", "527.46"),
        (13, "25", "263.73"),
        (7, "25", "263.73"),
        (6, "0", "0.00"),
        (0, "0", "0.00"),
        (-3, "0", "0.00"),  # after the start
    ],
)
def test_refund_at_each_boundary_of_the_policy(days_before: int, percent: str, refund: str) -> None:
    due = refund_due(
        POLICY,
        paid=Decimal("1054.92"),
        currency="USD",
        start=START,
        cancelled_on=START - timedelta(days=days_before),
    )
    assert (due.days_before_start, due.refund_percent, due.amount) == (
        days_before, Decimal(percent), Decimal(refund)
    )  # fmt: skip


def test_refunds_round_half_up_to_the_currency() -> None:
    half = [CancellationTier(0, Decimal("33.33"))]
    usd = refund_due(half, paid=Decimal("100.05"), currency="USD", start=START, cancelled_on=START)
    assert usd.amount == Decimal("33.35")  # 33.346665
    clp = refund_due(half, paid=Decimal("99999"), currency="CLP", start=START, cancelled_on=START)
    assert clp.amount == Decimal("33330")  # pesos have no minor unit


@pytest.mark.parametrize(
    "text", ["7:100,30:50", "30:100,30:50", "30:120", "x:10", "-1:10", "10:50.001"]
)
def test_a_configured_policy_that_makes_no_sense_is_refused(text: str) -> None:
    with pytest.raises((DomainError, ValueError)):
        parse_cancellation_policy(text)


def test_default_payment_policy_takes_the_whole_price_when_the_trip_is_close() -> None:
    today = date(2027, 1, 1)
    far = default_payment_policy(today, date(2027, 3, 1), deposit_percent=Decimal(30),
                                 deposit_due_days=3, balance_due_days_before_start=30)  # fmt: skip
    assert (far.deposit_percent, far.deposit_due, far.balance_due) == (
        Decimal(30), date(2027, 1, 4), date(2027, 1, 30)
    )  # fmt: skip
    near = default_payment_policy(today, date(2027, 1, 20), deposit_percent=Decimal(30),
                                  deposit_due_days=3, balance_due_days_before_start=30)  # fmt: skip
    assert (near.deposit_percent, near.deposit_due, near.balance_due) == (
        None, None, date(2027, 1, 4)
    )  # fmt: skip


async def _refund_rows(sessions: SessionFactory) -> list[BookingRefund]:
    async with sessions() as session:
        return list(await session.scalars(select(BookingRefund)))


@pytest.mark.parametrize(("days_before", "refund"), [(30, "600.00"), (29, "300.00")])
async def test_cancelling_records_the_refund_the_policy_makes_due(
    gql: GraphQLClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    days_before: int,
    refund: str,
) -> None:
    world = await make_world(gql, make_user)
    start = datetime.now(UTC).date() + timedelta(days=days_before)
    booking_id = await booked(gql, world, start=start)
    await pay(sessions, booking_id, "600.00")
    result = await gql.execute(
        CANCEL, {"b": booking_id, "reason": "Flights cancelled"}, token=world.agency.token
    )
    payload = result.ok()["cancelBooking"]
    assert payload["booking"]["status"] == "CANCELLED"
    assert payload["refund"] == {
        "amount": {"amount": refund, "currency": "USD"},
        "refundPercent": "100.00" if days_before == 30 else "50.00",
        "daysBeforeStart": days_before,
        "status": "DUE",
    }
    (row,) = await _refund_rows(sessions)
    assert (row.amount, row.paid_amount) == (Decimal(refund), Decimal("600.00"))
    assert await event_count(sessions, "booking.cancelled") == 1
    assert await event_count(sessions, "booking.refund_due") == 1


async def test_nothing_paid_nothing_refunded_and_refused_cancellations_change_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    for token, code in (
        (world.hotels[0].token, "FORBIDDEN"),
        (world.hotels[1].token, "NOT_FOUND"),
        (world.other_agency.token, "NOT_FOUND"),
    ):
        refused = await gql.execute(CANCEL, {"b": booking_id, "reason": "x"}, token=token)
        assert refused.codes == [code]
    too_long = await gql.execute(CANCEL, {"b": booking_id, "reason": "x" * 2001},
                                 token=world.agency.token)  # fmt: skip
    assert too_long.codes == ["BAD_USER_INPUT"]
    assert await event_count(sessions, "booking.cancelled") == 0

    done = await gql.execute(CANCEL, {"b": booking_id, "reason": "No"}, token=world.admin.token)
    assert done.ok()["cancelBooking"]["refund"] is None
    due = "query($id: ID!) { booking(id: $id) { amountDue { amount } cancellationReason } }"
    after = await gql.execute(due, {"id": booking_id}, token=world.agency.token)
    assert after.ok()["booking"] == {"amountDue": {"amount": "0.00"}, "cancellationReason": "No"}
    assert await _refund_rows(sessions) == []
    assert await event_count(sessions, "booking.refund_due") == 0
    # Money cannot arrive for a cancelled booking.
    with pytest.raises(DomainError, match="CANCELLED"):
        await pay(sessions, booking_id, "10.00")


async def test_payments_are_checked_before_they_count(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = uuid.UUID(await booked(gql, world))

    async def receive(amount: str, currency: str) -> None:
        async with sessions() as session, session.begin():
            await apply_payment(session, booking_id, Decimal(amount), currency)

    for amount, currency in (("1200.01", "USD"), ("0", "USD"), ("0.001", "USD"), ("10", "EUR")):
        with pytest.raises(DomainError):
            await receive(amount, currency)
    async with sessions() as session:
        assert await session.scalar(select(Booking.amount_paid)) == Decimal("0.00")


COMPLETE = """
mutation($b: ID!) { completeBooking(input: {bookingId: $b}) { booking { status completedAt } } }"""


async def test_a_booking_is_completed_once_the_confirmed_trip_is_over(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    admin = world.admin.token
    unpaid = await gql.execute(COMPLETE, {"b": booking_id}, token=admin)
    assert unpaid.codes == ["INVALID_STATE"]
    await pay(sessions, booking_id, "360.00")
    early = await gql.execute(COMPLETE, {"b": booking_id}, token=admin)
    assert early.codes == ["INVALID_STATE"]
    assert early.errors[0]["extensions"]["endDate"]
    owner = await gql.execute(COMPLETE, {"b": booking_id}, token=world.agency.token)
    assert owner.codes == ["FORBIDDEN"]
    async with sessions() as session, session.begin():  # the trip happened
        await session.execute(
            update(Booking).values(
                start_date=date.today() - timedelta(days=5), end_date=date.today()
            )
        )
    done = await gql.execute(COMPLETE, {"b": booking_id}, token=admin)
    assert done.ok()["completeBooking"]["booking"]["status"] == "COMPLETED"
    after = await gql.execute(CANCEL, {"b": booking_id, "reason": "x"}, token=admin)
    assert after.codes == ["INVALID_STATE"]


async def test_payment_reminders_are_announced_once_per_due_date(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)  # deposit due in 3 days: within the reminder lead
    today = date.today()
    for _ in range(2):
        async with sessions() as session, session.begin():
            await announce_payment_reminders(session, today)
    assert await event_count(sessions, "booking.payment_reminder_due") == 1
    await pay(sessions, booking_id, "360.00")  # deposit paid; the balance is due much later
    async with sessions() as session, session.begin():
        assert await announce_payment_reminders(session, today) == 0
    balance_due = today + timedelta(days=60 - 30)
    async with sessions() as session, session.begin():
        assert await announce_payment_reminders(session, balance_due - timedelta(days=3)) == 1
    assert await event_count(sessions, "booking.payment_reminder_due") == 2
