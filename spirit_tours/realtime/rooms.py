"""Which live rooms an outbox event belongs to.

Rooms only route: every event is resolved for each scope of subscribers through the same
permission classes as queries, so a generous room (the operator's, a company's) never leaks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.bookings import Booking, BookingHotel
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import Quotation

OPERATOR = "operator"
ANNOUNCEMENTS = "announcements"


def quotation_room(quotation_id: uuid.UUID) -> str:
    return f"quotation:{quotation_id}"


def company_room(company_id: uuid.UUID) -> str:
    return f"company:{company_id}"


def client_room(user_id: uuid.UUID) -> str:
    return f"client:{user_id}"


def hotel_room(hotel_id: uuid.UUID) -> str:
    return f"hotel:{hotel_id}"


def user_room(user_id: uuid.UUID) -> str:
    """A user's own inbox room."""
    return f"user:{user_id}"


def _owner_room(company_id: uuid.UUID | None, user_id: uuid.UUID) -> str:
    return company_room(company_id) if company_id else client_room(user_id)


def hotels_named(payload: dict[str, Any]) -> list[uuid.UUID]:
    """The hotels a quotation event is about (``hotel_id`` / ``hotel_ids`` in its payload)."""
    hotel_ids = [uuid.UUID(h) for h in payload.get("hotel_ids", [])]
    if hotel := payload.get("hotel_id"):
        hotel_ids.append(uuid.UUID(hotel))
    return hotel_ids


async def _hotel_rooms(session: AsyncSession, hotel_ids: list[uuid.UUID]) -> list[str]:
    rows = await session.execute(select(Hotel.id, Hotel.company_id).where(Hotel.id.in_(hotel_ids)))
    rooms = []
    for hotel_id, company_id in rows:
        rooms += [hotel_room(hotel_id), company_room(company_id)]
    return rooms


async def _quotation_rooms(session: AsyncSession, event: OutboxEvent) -> list[str]:
    quotation = await session.get(Quotation, event.aggregate_id)
    if quotation is None:
        return [OPERATOR]
    rooms = [OPERATOR, quotation_room(quotation.id)]
    rooms.append(_owner_room(quotation.owner_company_id, quotation.owner_user_id))
    return rooms + await _hotel_rooms(session, hotels_named(event.payload))


@dataclass
class Prefetched:
    """What :func:`prefetch` read of a batch's bookings: their hotel lines, and the company of
    each of those hotels. A booking absent from ``hotel_lines`` was not prefetched."""

    hotel_lines: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    hotel_companies: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # Held here: the session's identity map keeps only the rows someone references.
    rows: list[Payment | Booking] = field(default_factory=list)


async def prefetch(session: AsyncSession, events: Sequence[OutboxEvent]) -> Prefetched:
    """Read a batch's payments and bookings (and the bookings' hotel lines and hotels) in four
    statements, instead of three or four per event: the relay publishes events by the
    hundred while payments are busy. The payments and bookings land in the session's
    identity map, so :func:`rooms_of` and the inbox's look-ups (``session.get``) find them
    there; only the columns those read are loaded (no sealed value is opened)."""
    found = Prefetched()
    payment_ids = {event.aggregate_id for event in events if event.aggregate_type == "Payment"}
    booking_ids = {event.aggregate_id for event in events if event.aggregate_type == "Booking"}
    if payment_ids:
        payments = await session.scalars(
            select(Payment)
            .options(load_only(Payment.booking_id, Payment.payer_user_id))
            .where(Payment.id.in_(payment_ids))
        )
        loaded = list(payments)
        found.rows += loaded
        booking_ids |= {payment.booking_id for payment in loaded}
    if not booking_ids:
        return found
    found.rows += await session.scalars(
        select(Booking)
        .options(load_only(Booking.owner_company_id, Booking.owner_user_id))
        .where(Booking.id.in_(booking_ids))
    )
    found.hotel_lines = {booking_id: [] for booking_id in booking_ids}
    lines = await session.execute(
        select(BookingHotel.booking_id, BookingHotel.hotel_id).where(
            BookingHotel.booking_id.in_(booking_ids)
        )
    )
    for booking_id, hotel_id in lines:
        found.hotel_lines[booking_id].append(hotel_id)
    hotel_ids = {hotel for hotels in found.hotel_lines.values() for hotel in hotels}
    if hotel_ids:
        rows = await session.execute(
            select(Hotel.id, Hotel.company_id).where(Hotel.id.in_(hotel_ids))
        )
        found.hotel_companies = {row.id: row.company_id for row in rows}
    return found


async def _booking_rooms(
    session: AsyncSession, booking_id: uuid.UUID, known: Prefetched
) -> list[str]:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        return [OPERATOR]
    rooms = [OPERATOR, _owner_room(booking.owner_company_id, booking.owner_user_id)]
    if booking.id not in known.hotel_lines:
        hotels = await session.scalars(
            select(BookingHotel.hotel_id).where(BookingHotel.booking_id == booking.id)
        )
        return rooms + await _hotel_rooms(session, list(hotels))
    for hotel_id in known.hotel_lines[booking.id]:
        if (company_id := known.hotel_companies.get(hotel_id)) is not None:
            rooms += [hotel_room(hotel_id), company_room(company_id)]
    return rooms


async def rooms_of(
    session: AsyncSession, event: OutboxEvent, known: Prefetched | None = None
) -> list[str]:
    """The rooms of ``event``; ``known``: what :func:`prefetch` read of its batch."""
    known = known or Prefetched()
    if event.aggregate_type == "Quotation":
        rooms = await _quotation_rooms(session, event)
    elif event.aggregate_type == "Booking":
        rooms = await _booking_rooms(session, event.aggregate_id, known)
    elif event.aggregate_type == "Payment":
        payment = await session.get(Payment, event.aggregate_id)
        rooms = await _booking_rooms(session, payment.booking_id, known) if payment else [OPERATOR]
    elif event.aggregate_type == "Announcement":
        rooms = [ANNOUNCEMENTS]
    else:
        rooms = [OPERATOR]
    return sorted(set(rooms))
