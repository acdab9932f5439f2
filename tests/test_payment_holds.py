"""One open payment per booking, holds that lapse, and money that never over-credits a booking.

A client that makes a new idempotency key per retry used to open one payment per retry for the
same deposit (issue 12, finding 4); each of them could be paid, and each was credited.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
import responses
import respx
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import PaymentMethod, PaymentStatus, RefundStatus
from spirit_tours.jobs.payments import execute_due_refunds, expire_payment_holds
from spirit_tours.payments.gateway import ProviderRejectedError
from spirit_tours.payments.mercadopago.gateway import MercadoPagoGateway
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment, PaymentRefund
from tests.booking_flows import booked, event_count
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import (
    START,
    payment_input,
    stripe_api,
    stripe_event,
    stripe_signature,
)
from tests.quotation_flows import make_world

DETAIL = "query($id: ID!) { payment(id: $id) { status webhooks { detail } } }"
HOLD = "query($id: ID!) { payment(id: $id) { status holdExpiresAt } }"


def _distinct_intent(request: httpx.Request) -> httpx.Response:
    """POST /v1/payment_intents as Stripe answers it, one PaymentIntent id per payment."""
    form = dict(httpx.QueryParams(request.content.decode()))
    payment_id = form["metadata[payment_id]"]
    intent = f"pi_{uuid.UUID(payment_id).hex[:20]}"
    return httpx.Response(200, json={
        "id": intent, "object": "payment_intent", "amount": int(form["amount"]),
        "currency": form["currency"], "status": "requires_payment_method",
        "client_secret": f"{intent}_secret_x", "metadata": {"payment_id": payment_id},
    })  # fmt: skip


def _cancelled(request: httpx.Request) -> httpx.Response:
    intent = request.url.path.split("/")[3]
    return httpx.Response(200, json={"id": intent, "object": "payment_intent",
                                     "status": "canceled", "currency": "usd"})  # fmt: skip


@contextmanager
def stripe() -> Iterator[respx.MockRouter]:
    with stripe_api() as mock:
        mock["intents"].mock(side_effect=_distinct_intent)
        mock.post(url__regex=r"https://api\.stripe\.com/v1/payment_intents/[^/]+/cancel",
                  name="cancel").mock(side_effect=_cancelled)  # fmt: skip
        yield mock


def _intent(payment_id: str) -> str:
    return f"pi_{uuid.UUID(payment_id).hex[:20]}"


async def _lapse(sessions: SessionFactory, payment_id: str) -> None:
    """The payer walked away: the payment's hold ended a minute ago."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(Payment)
            .where(Payment.id == uuid.UUID(payment_id))
            .values(hold_until=now_utc() - timedelta(minutes=1))
        )


async def _payments(sessions: SessionFactory, booking_id: str) -> list[Payment]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Payment)
            .where(Payment.booking_id == uuid.UUID(booking_id))
            .order_by(Payment.created_at)
        )
        return list(rows)


async def _start(gql: GraphQLClient, token: str, booking_id: str, **extra: Any) -> str:
    result = await gql.execute(START, {"input": payment_input(booking_id, **extra)}, token=token)
    payment_id: str = result.ok()["startPayment"]["payment"]["id"]
    return payment_id


async def _succeeded(http: httpx.AsyncClient, payment_id: str, cents: int) -> httpx.Response:
    body = stripe_event("payment_intent.succeeded", payment_id, amount=cents,
                        id=_intent(payment_id))  # fmt: skip
    return await http.post("/webhooks/stripe", content=body, headers=stripe_signature(body))


async def test_twenty_concurrent_starts_with_distinct_keys_open_one_payment(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe() as mock:
        results = await asyncio.gather(*(
            gql.execute(START, {"input": payment_input(booking_id, f"retry-{n:04d}-of-a-client")},
                        token=world.agency.token)
            for n in range(20)
        ))  # fmt: skip
        assert mock["intents"].call_count == 1
        assert mock["customers"].call_count == 1
    started = [r for r in results if not r.errors]
    refused = [r for r in results if r.errors]
    assert len(started) == 1
    payment_id = started[0].ok()["startPayment"]["payment"]["id"]
    assert len(refused) == 19
    for result in refused:
        assert result.codes == ["CONFLICT"]
        extensions = result.errors[0]["extensions"]
        assert (extensions["field"], extensions["paymentId"]) == ("bookingId", payment_id)
        assert extensions["holdExpiresAt"]
    rows = await _payments(sessions, booking_id)
    assert [(str(p.id), p.status) for p in rows] == [(payment_id, PaymentStatus.REQUIRES_ACTION)]
    # The payer resumes the open one: its next action is on the payment.
    resumed = "query($id: ID!) { payment(id: $id) { nextAction { kind clientSecret } } }"
    seen = (await gql.execute(resumed, {"id": payment_id}, token=world.agency.token)).ok()
    assert seen["payment"]["nextAction"]["kind"] == "CLIENT_SECRET"


async def test_the_database_refuses_a_second_open_payment_whatever_the_code_path(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe():
        await _start(gql, world.agency.token, booking_id)
    (first,) = await _payments(sessions, booking_id)
    raw = Payment(
        id=uuid.uuid4(), booking_id=first.booking_id, payer_user_id=first.payer_user_id,
        idempotency_key="raw-insert-0001", request_hash="x" * 64, method=PaymentMethod.CARD,
        amount=Decimal("360.00"), currency="USD", return_url="https://x.example/",
        status=PaymentStatus.PENDING, next_action={}, attempts=[],
        hold_until=now_utc() + timedelta(minutes=5),
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="uq_payments_open_per_booking"):
        async with sessions() as session, session.begin():
            session.add(raw)
    # Nor an open payment without a hold, which would block its booking for ever.
    (first,) = await _payments(sessions, booking_id)
    async with sessions() as session, session.begin():
        await session.execute(update(Payment).where(Payment.id == first.id)
                              .values(status=PaymentStatus.FAILED))  # fmt: skip
    raw.hold_until = None
    with pytest.raises(IntegrityError, match="ck_payments_open_has_hold"):
        async with sessions() as session, session.begin():
            session.add(raw)


async def test_an_expired_hold_lets_a_new_payment_start_and_is_called_off_at_stripe(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    first_key = "checkout-first-0001"
    with stripe() as mock:
        first = await _start(gql, world.agency.token, booking_id, key=first_key)
        held = (await gql.execute(HOLD, {"id": first}, token=world.agency.token)).ok()
        hold_ends = held["payment"]["holdExpiresAt"]
        assert hold_ends > (now_utc() + timedelta(minutes=29)).isoformat()
        blocked = await gql.execute(START, {"input": payment_input(booking_id)},
                                    token=world.agency.token)  # fmt: skip
        assert blocked.codes == ["CONFLICT"]
        # Retrying with the first key is not blocked: it is the same payment.
        assert await _start(gql, world.agency.token, booking_id, key=first_key) == first

        await _lapse(sessions, first)
        second = await _start(gql, world.agency.token, booking_id)
        assert mock["cancel"].call_count == 1
        assert mock["cancel"].calls.last.request.url.path.endswith(f"{_intent(first)}/cancel")

        # The minute job expires what no request touched.
        await _lapse(sessions, second)
        ctx = {"sessions": sessions, "payments": live_server.app.state.services.payments}
        assert await expire_payment_holds(ctx) == 1
        assert await expire_payment_holds(ctx) == 0
        assert mock["cancel"].call_count == 2
    statuses = {str(p.id): p.status for p in await _payments(sessions, booking_id)}
    assert statuses == {first: PaymentStatus.EXPIRED, second: PaymentStatus.EXPIRED}
    assert await event_count(sessions, "payment.expired") == 2
    attempts = "query($id: ID!) { payment(id: $id) { status attempts { provider outcome } } }"
    seen = (await gql.execute(attempts, {"id": first}, token=world.admin.token)).ok()["payment"]
    assert seen == {"status": "EXPIRED", "attempts": [
        {"provider": "STRIPE", "outcome": "ACCEPTED"},
        {"provider": "STRIPE", "outcome": "CANCELLED"},
    ]}  # fmt: skip


async def test_three_paid_payments_never_credit_beyond_the_selling_price(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    live_server: LiveServer,
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)  # selling price 1200.00 USD
    # Three checkouts for the whole price, each started after the one before lapsed: the
    # payer kept all three tabs and paid every one of them.
    paid: list[str] = []
    with stripe():
        for _ in range(3):
            paid.append(await _start(gql, world.agency.token, booking_id, amount="1200.00"))
            await _lapse(sessions, paid[-1])
    for payment_id in paid:
        delivered = await _succeeded(http, payment_id, 120000)
        assert (delivered.status_code, delivered.json()["outcome"]) == (200, "APPLIED")

    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        dues = list(await session.scalars(select(BookingRefund).order_by(BookingRefund.created_at)))
    assert (booking.amount_paid, booking.status.value) == (Decimal("1200.00"), "CONFIRMED")
    assert [(str(d.payment_id), d.amount, d.status) for d in dues] == [
        (paid[1], Decimal("1200.00"), RefundStatus.DUE),
        (paid[2], Decimal("1200.00"), RefundStatus.DUE),
    ]
    assert await event_count(sessions, "payment.overpaid") == 2
    assert await event_count(sessions, "payment.succeeded") == 1
    admin = (await gql.execute(DETAIL, {"id": paid[2]}, token=world.admin.token)).ok()
    assert admin["payment"]["status"] == "SUCCEEDED"
    assert "1200.00 beyond what booking" in admin["payment"]["webhooks"][0]["detail"]

    # The refund worker sends the excess back from the payments that brought it.
    ctx = {"sessions": sessions, "payments": live_server.app.state.services.payments}
    with stripe() as mock:
        assert await execute_due_refunds(ctx) == 2
        refunded = {
            dict(httpx.QueryParams(c.request.content.decode()))["payment_intent"]
            for c in mock["refunds"].calls
        }
    assert refunded == {_intent(paid[1]), _intent(paid[2])}
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        settled = list(await session.scalars(select(BookingRefund.status)))
        sent = await session.scalar(select(func.sum(PaymentRefund.amount)))
        statuses = list(
            await session.scalars(
                select(Payment.status)
                .where(Payment.id.in_([uuid.UUID(p) for p in paid]))
                .order_by(Payment.created_at)
            )
        )
    assert booking.amount_paid == Decimal("1200.00")  # the refunds took nothing it had counted
    assert settled == [RefundStatus.REFUNDED, RefundStatus.REFUNDED]
    assert sent == Decimal("2400.00")
    assert statuses == [PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED, PaymentStatus.REFUNDED]
    assert await execute_due_refunds(ctx) == 0


async def test_a_deposit_and_a_late_payment_of_an_expired_one_credit_up_to_the_price(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe():
        expired = await _start(gql, world.agency.token, booking_id, amount="1000.00")
        await _lapse(sessions, expired)
        deposit = await _start(gql, world.agency.token, booking_id)  # 360.00, expires the first
    assert (await _succeeded(http, deposit, 36000)).json()["outcome"] == "APPLIED"
    # The expired checkout is paid after all: 840.00 was still open on the booking.
    assert (await _succeeded(http, expired, 100000)).json()["outcome"] == "APPLIED"
    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        (due,) = list(await session.scalars(select(BookingRefund)))
        late = await session.get_one(Payment, uuid.UUID(expired))
    assert booking.amount_paid == Decimal("1200.00")
    assert (due.amount, str(due.payment_id)) == (Decimal("160.00"), expired)
    assert (late.status, late.credited_amount) == (PaymentStatus.SUCCEEDED, Decimal("840.00"))


async def test_mercadopago_calls_off_an_unpaid_pix_and_expires_a_checkout_preference() -> None:
    gateway = MercadoPagoGateway("TEST-0000-token", "mp-secret")
    payments = "https://api.mercadopago.com/v1/payments/1319016172"
    preference = "https://api.mercadopago.com/checkout/preferences/202809963-920c288b-4ebb"
    with responses.RequestsMock() as mp:
        mp.put(payments, json={"id": 1319016172, "status": "cancelled"})
        mp.put(preference, json={"id": "202809963-920c288b-4ebb", "expires": True})
        await gateway.cancel_payment("1319016172")
        await gateway.cancel_payment("202809963-920c288b-4ebb")
        sent = [json.loads(cast(bytes, call.request.body)) for call in mp.calls]
    assert sent[0] == {"status": "cancelled"}
    assert sent[1]["expires"] is True
    assert sent[1]["expiration_date_to"] <= now_utc().isoformat()
    with responses.RequestsMock() as mp:
        mp.put(payments, status=400, json={"message": "Payment already approved"})
        with pytest.raises(ProviderRejectedError, match="already approved"):
            await gateway.cancel_payment("1319016172")
    with pytest.raises(ProviderRejectedError):
        await gateway.cancel_payment("not an id")
