"""Helpers that take quotations to bookings over real HTTP, for the booking tests."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.resolvers.bookings.lifecycle import apply_payment
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import (
    CLOSE,
    CREATE,
    INVITE,
    PROPOSE,
    Party,
    World,
    quotation_input,
    submit,
)

APPROVE = """
mutation($q: ID!) { approveQuotation(input: {quotationId: $q}) { quotation { status } } }"""
CREATE_BOOKING = """
mutation($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id reference status sellingPrice { amount currency } }
  }
}"""
ASSIGN_GUIDE = """
mutation($b: ID!, $g: ID!, $lang: String) {
  assignGuide(input: {bookingId: $b, guideId: $g, language: $lang}) {
    booking { id guide { language guide { id fullName } } }
  }
}"""
ASSIGN_TRANSPORT = """
mutation($b: ID!, $v: ID!) {
  assignTransport(input: {bookingId: $b, vehicleId: $v}) {
    booking { id transport { vehicle { id plate capacity } } }
  }
}"""
CANCEL = """
mutation($b: ID!, $reason: String!) {
  cancelBooking(input: {bookingId: $b, reason: $reason}) {
    booking { id status cancelledAt amountPaid { amount } }
    refund { amount { amount currency } refundPercent daysBeforeStart status }
  }
}"""
CREATE_VEHICLE = """
mutation($name: String!, $plate: String!, $capacity: Int!) {
  createVehicle(input: {name: $name, plate: $plate, kind: VAN, capacity: $capacity}) {
    vehicle { id plate capacity }
  }
}"""
NET_PRICE = "1000.00"
MARKUP = "20"


async def approved_quotation(
    gql: GraphQLClient,
    world: World,
    *,
    owner: Party | None = None,
    start: date | None = None,
    days: int = 4,
    travellers: int = 12,
    hotel: int = 0,
    currency: str = "USD",
) -> str:
    """A quotation by ``owner`` that ``world.hotels[hotel]`` won and the owner approved."""
    owner = owner or world.agency
    start = start or date.today() + timedelta(days=60)
    overrides: dict[str, Any] = {
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=days)).isoformat(),
        "travellers": travellers,
        "currency": currency,
    }
    if start - date.today() < timedelta(days=11):
        overrides["offerDeadline"] = f"{(start - timedelta(days=1)).isoformat()}T00:00:00+00:00"
    created = await gql.execute(CREATE, {"input": quotation_input(**overrides)}, token=owner.token)
    quotation_id: str = created.ok()["createQuotation"]["quotation"]["id"]
    hotels = [party.hotel_id for party in world.hotels]
    admin = world.admin.token
    (await gql.execute(INVITE, {"q": quotation_id, "hotels": hotels}, token=admin)).ok()
    offer_id = await submit(
        gql,
        world.hotels[hotel],
        quotation_id,
        NET_PRICE,
        validUntil=(date.today() + timedelta(days=5)).isoformat(),
        currency=currency,
    )
    (await gql.execute(CLOSE, {"q": quotation_id}, token=admin)).ok()
    propose = {"q": quotation_id, "o": offer_id, "m": MARKUP}
    (await gql.execute(PROPOSE, propose, token=admin)).ok()
    (await gql.execute(APPROVE, {"q": quotation_id}, token=owner.token)).ok()
    return quotation_id


async def book(gql: GraphQLClient, token: str, quotation_id: str, **extra: Any) -> str:
    result = await gql.execute(
        CREATE_BOOKING, {"input": {"quotationId": quotation_id, **extra}}, token=token
    )
    booking_id: str = result.ok()["createBooking"]["booking"]["id"]
    return booking_id


async def booked(
    gql: GraphQLClient, world: World, *, owner: Party | None = None, **quotation: Any
) -> str:
    """An approved quotation booked by its owner: a PENDING_PAYMENT booking."""
    owner = owner or world.agency
    quotation_id = await approved_quotation(gql, world, owner=owner, **quotation)
    return await book(gql, owner.token, quotation_id)


async def pay(sessions: SessionFactory, booking_id: str, amount: str) -> None:
    """Money arriving, through the same domain call the payment webhooks make."""
    async with sessions() as session, session.begin():
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
        await apply_payment(session, booking.id, Decimal(amount), booking.currency)


async def event_count(sessions: SessionFactory, kind: str) -> int:
    """Outbox events of one kind: what the realtime and e-mail consumers will receive."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == kind)
        )
    return int(count or 0)


async def booking_count(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Booking)) or 0)
