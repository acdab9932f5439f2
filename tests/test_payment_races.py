"""The payment path under races: exactly-once credit when duplicate deliveries
race the first one (each waits for the payment's lock, then finds the event processed), and the
idempotency key's semantics when requests with one key race on different bookings or inputs."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from decimal import Decimal

import httpx
from sqlalchemy import func, select

from spirit_tours.core.enums import RefundStatus
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment, WebhookDelivery
from tests.booking_flows import booked, event_count
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import (
    START,
    payment_input,
    start_payment,
    stripe_api,
    stripe_event,
    stripe_signature,
)
from tests.quotation_flows import make_world


async def _deliver(http: httpx.AsyncClient, body: bytes) -> str:
    response = await http.post("/webhooks/stripe", content=body, headers=stripe_signature(body))
    assert response.status_code == 200, response.text
    return str(response.json()["outcome"])


async def _count(sessions: SessionFactory, model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _started(gql: GraphQLClient, make_user: UserFactory) -> tuple[str, str]:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking_id)
    return booking_id, started.ok()["startPayment"]["payment"]["id"]


async def test_duplicates_racing_an_uncommitted_first_delivery_credit_once(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The first delivery is held inside its transaction (the booking row is locked by another
    session, so its claim waits for it); copies of the event arrive then, while it is
    uncommitted, and after it committed (one statement records each)."""
    booking_id, payment_id = await _started(gql, make_user)
    succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    also_succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    async with sessions() as blocker, blocker.begin():
        await blocker.execute(
            select(Booking).where(Booking.id == uuid.UUID(booking_id)).with_for_update()
        )
        first = asyncio.create_task(_deliver(http, succeeded))
        await asyncio.sleep(0.5)  # the first delivery now waits for the booking's lock
        racing = [asyncio.create_task(_deliver(http, succeeded)) for _ in range(4)]
        other_event = asyncio.create_task(_deliver(http, also_succeeded))
        await asyncio.sleep(0.5)
        assert not first.done()
    outcomes = [await first, *[await task for task in racing], await other_event]
    late = [await _deliver(http, succeeded) for _ in range(3)]  # committed: one statement each
    assert outcomes[0] == "APPLIED"
    assert Counter(outcomes[1:5] + late) == {"DUPLICATE": 7}
    assert outcomes[5] == "APPLIED"  # another event id: applied, but credits nothing more
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        payment = await session.get_one(Payment, uuid.UUID(payment_id))
    assert booking.amount_paid == Decimal("360.00")
    assert payment.credited_amount == Decimal("360.00")
    assert await event_count(sessions, "payment.succeeded") == 1
    assert await event_count(sessions, "booking.confirmed") == 1
    assert await _count(sessions, WebhookDelivery) == 9
    async with sessions() as session:
        recorded = await session.scalars(
            select(WebhookDelivery.outcome).where(
                WebhookDelivery.payment_id == uuid.UUID(payment_id)
            )
        )
        assert Counter(recorded) == {"APPLIED": 2, "DUPLICATE": 7}


async def test_a_delivery_that_waited_for_the_booking_credits_what_the_booking_became(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The first success waits for the booking's lock while another transaction records most
    of the booking as paid; once that commits, the delivery credits only what is left and the
    rest becomes a refund due: it works on the booking as the lock found it, not as it was when
    it began to wait (a stale read would overwrite what the other transaction paid)."""
    booking_id, payment_id = await _started(gql, make_user)
    succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    async with sessions() as blocker, blocker.begin():
        held = await blocker.scalar(
            select(Booking).where(Booking.id == uuid.UUID(booking_id)).with_for_update()
        )
        assert held is not None
        delivered = asyncio.create_task(_deliver(http, succeeded))
        await asyncio.sleep(0.5)
        assert not delivered.done()
        selling_price = held.selling_price
        held.amount_paid = selling_price - Decimal("100.00")
    assert await delivered == "APPLIED"
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        payment = await session.get_one(Payment, uuid.UUID(payment_id))
        due = list(
            await session.scalars(
                select(BookingRefund).where(BookingRefund.payment_id == payment.id)
            )
        )
    assert booking.amount_paid == selling_price
    assert payment.credited_amount == Decimal("100.00")
    assert [(refund.amount, refund.status) for refund in due] == [
        (Decimal("260.00"), RefundStatus.DUE)
    ]


async def test_many_concurrent_copies_of_one_event_apply_it_once(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    booking_id, payment_id = await _started(gql, make_user)
    succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    outcomes = await asyncio.gather(*(_deliver(http, succeeded) for _ in range(20)))
    assert Counter(outcomes) == {"APPLIED": 1, "DUPLICATE": 19}
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
    assert booking.amount_paid == Decimal("360.00")
    assert await event_count(sessions, "payment.succeeded") == 1
    assert await _count(sessions, WebhookDelivery) == 20


async def test_a_webhook_for_a_payment_not_yet_committed_is_ignored_and_changes_nothing(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    booking_id, _ = await _started(gql, make_user)
    unknown = str(uuid.uuid4())  # an id no committed payment has
    body = stripe_event("payment_intent.succeeded", unknown, amount=36000)
    assert await _deliver(http, body) == "IGNORED"
    assert await _deliver(http, body) == "IGNORED"  # never recorded as applied
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
    assert booking.amount_paid == Decimal("0.00")


async def test_one_key_racing_on_two_bookings_makes_one_payment_and_a_conflict(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The two requests lock different bookings, so only the key's unique index orders them:
    the insert without an arbiter must tell that conflict from the one-open-payment index."""
    world = await make_world(gql, make_user)
    first_booking = await booked(gql, world)
    second_booking = await booked(gql, world)
    key = "checkout-shared-key-0001"
    with stripe_api():
        results = await asyncio.gather(
            *(
                gql.execute(START, {"input": payment_input(b, key)}, token=world.agency.token)
                for b in (first_booking, second_booking) * 3
            )
        )
    codes = Counter(tuple(r.codes) for r in results)
    assert set(codes) <= {(), ("CONFLICT",)}, codes
    assert await _count(sessions, Payment) == 1
    paid = {r.ok()["startPayment"]["payment"]["id"] for r in results if not r.errors}
    assert len(paid) == 1
    conflicts = [r for r in results if r.errors]
    assert all(r.errors[0]["extensions"]["field"] == "idempotencyKey" for r in conflicts)


async def test_one_key_with_other_input_racing_the_first_is_a_conflict(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    key = "checkout-racing-input-0001"
    inputs = [payment_input(booking_id, key, amount=a) for a in ("100.00", "200.00") * 3]
    with stripe_api() as stripe:
        results = await asyncio.gather(
            *(gql.execute(START, {"input": i}, token=world.agency.token) for i in inputs)
        )
        assert stripe["intents"].call_count == 1
    assert await _count(sessions, Payment) == 1
    async with sessions() as session:
        amount = await session.scalar(select(Payment.amount))
    winners = [r for r, i in zip(results, inputs, strict=True) if i["amount"] == str(amount)]
    losers = [r for r, i in zip(results, inputs, strict=True) if i["amount"] != str(amount)]
    assert all(not r.errors for r in winners)
    assert all(r.codes == ["CONFLICT"] for r in losers)


async def test_a_retry_naming_a_booking_it_cannot_pay_answers_for_its_key(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The key answers first (CONFLICT: different input), not NOT_FOUND, and changes nothing."""
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    key = "checkout-retry-other-0001"
    with stripe_api():
        first = await gql.execute(
            START, {"input": payment_input(booking_id, key)}, token=world.agency.token
        )
        first.ok()
        retry = await gql.execute(
            START, {"input": payment_input(str(uuid.uuid4()), key)}, token=world.agency.token
        )
    assert retry.codes == ["CONFLICT"]
    assert await _count(sessions, Payment) == 1
