"""What a webhook's first delivery writes, row by row: the payment, the booking's credit, the
audit entries, the outbox events in the order they were raised, and the delivery itself, as an
operator and the live rooms later read them. (All of it is written in one statement; an
overpayment's refund due, which that statement does not write, goes through the unit of work
and is tested in test_payment_holds.py.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry, OutboxEvent
from spirit_tours.persistence.payments import Payment, WebhookDelivery
from tests.booking_flows import booked
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import start_payment, stripe_api, stripe_event, stripe_signature
from tests.quotation_flows import make_world
from tests.sql_counter import count_statements


async def _stored(sessions: SessionFactory, payment_id: uuid.UUID) -> dict[str, Any]:
    async with sessions() as session:
        payment = await session.get_one(Payment, payment_id)
        booking = await session.get_one(Booking, payment.booking_id)
        ids = (payment.id, booking.id)
        audits = list(await session.scalars(
            select(AuditEntry).where(AuditEntry.object_id.in_(ids)).order_by(AuditEntry.at)
        ))  # fmt: skip
        events = list(await session.scalars(
            select(OutboxEvent).where(OutboxEvent.aggregate_id.in_(ids)).order_by(OutboxEvent.id)
        ))  # fmt: skip
        deliveries = list(await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.payment_id == payment.id)
            .order_by(WebhookDelivery.id)
        ))  # fmt: skip
    return {"payment": payment, "booking": booking, "audits": audits, "events": events,
            "deliveries": deliveries}  # fmt: skip


async def _started(gql: GraphQLClient, token: str, booking_id: str, **extra: Any) -> uuid.UUID:
    with stripe_api():
        started = (await start_payment(gql, token, booking_id, **extra)).ok()
    return uuid.UUID(started["startPayment"]["payment"]["id"])


async def _deliver(http: httpx.AsyncClient, body: bytes) -> str:
    answer = await http.post("/webhooks/stripe", content=body, headers=stripe_signature(body))
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["outcome"]
    return outcome


async def test_a_credited_payment_stores_its_credit_audit_events_and_delivery(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    live_server: LiveServer,
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    payment_id = await _started(gql, world.agency.token, booking_id)
    before = await _stored(sessions, payment_id)
    body = stripe_event("payment_intent.succeeded", str(payment_id), amount=36000,
                        latest_charge="ch_1")  # fmt: skip
    async with count_statements(live_server) as statements:
        assert await _deliver(http, body) == "APPLIED"
    # The claim, then one statement for everything below (the unit of work took five).
    assert len(statements) == 2, statements
    after = await _stored(sessions, payment_id)

    payment, booking = after["payment"], after["booking"]
    assert (payment.status.value, str(payment.credited_amount)) == ("SUCCEEDED", "360.00")
    assert payment.credited_at is not None
    assert payment.updated_at > before["payment"].updated_at
    assert (booking.status.value, str(booking.amount_paid)) == ("CONFIRMED", "360.00")
    assert booking.confirmed_at is not None
    assert booking.updated_at > before["booking"].updated_at
    new_audits = after["audits"][len(before["audits"]) :]
    assert [(a.action, a.object_id, a.details, a.actor_id) for a in new_audits] == [
        ("booking.payment", booking.id, {"amount": "360.00"}, None)
    ]
    new_events = after["events"][len(before["events"]) :]
    # Raised in this order (the credit confirms the booking, then the payment succeeds); the
    # relay publishes them by id, so their ids must follow it.
    assert [(e.kind, e.aggregate_id) for e in new_events] == [
        ("booking.confirmed", booking.id), ("payment.succeeded", payment.id)
    ]  # fmt: skip
    assert new_events[1].payload == {"booking_id": str(booking.id), "amount": "360.00"}
    (delivery,) = after["deliveries"]
    assert (delivery.outcome, delivery.event_id, delivery.signature_valid) == (
        "APPLIED", stripe_event_id(body), True
    )  # fmt: skip
    assert delivery.body == body.decode()

    # A later event that changes nothing (a late "processing") stores its delivery only.
    late = stripe_event("payment_intent.processing", str(payment_id), amount=36000)
    assert await _deliver(http, late) == "APPLIED"
    again = await _stored(sessions, payment_id)
    assert again["payment"].updated_at == payment.updated_at
    assert again["booking"].updated_at == booking.updated_at
    assert len(again["audits"]) == len(after["audits"])
    assert len(again["events"]) == len(after["events"])
    assert [d.outcome for d in again["deliveries"]] == ["APPLIED", "APPLIED"]
    assert again["deliveries"][1].detail == "Stays SUCCEEDED."


REPLAY = """
mutation($p: String!, $h: JSON!) {
  paymentWebhook(provider: STRIPE, payload: $p, headers: $h) { outcome }
}"""


async def test_an_operators_replay_is_audited_with_the_operator_beside_the_credit(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    payment_id = await _started(gql, world.agency.token, booking_id)
    body = stripe_event("payment_intent.succeeded", str(payment_id), amount=36000)
    variables = {"p": body.decode(), "h": stripe_signature(body)}
    replayed = (await gql.execute(REPLAY, variables, token=world.admin.token)).ok()
    assert replayed["paymentWebhook"]["outcome"] == "APPLIED"
    stored = await _stored(sessions, payment_id)
    async with sessions() as session:
        admin_id = await session.scalar(select(User.id).where(User.email == world.admin.email))
    earlier = ("booking.create", "payment.start")
    audits = [(a.action, a.actor_id, a.actor_role and a.actor_role.value, a.details.get("outcome"))
              for a in stored["audits"] if a.action not in earlier]  # fmt: skip
    assert audits == [
        ("booking.payment", None, None, None),
        ("payment.webhook_replay", admin_id, "ADMIN", "APPLIED"),
    ]
    (delivery,) = stored["deliveries"]
    assert delivery.replayed_by_id == admin_id
    assert str(stored["booking"].amount_paid) == "360.00"


def stripe_event_id(body: bytes) -> str:
    event_id: str = json.loads(body)["id"]
    return event_id
