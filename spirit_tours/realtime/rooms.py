"""Which live rooms an outbox event belongs to.

Rooms only route: every event is resolved for each scope of subscribers through the same
permission classes as queries, so a generous room (the operator's, a company's) never leaks.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def _booking_rooms(session: AsyncSession, booking_id: uuid.UUID) -> list[str]:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        return [OPERATOR]
    hotels = await session.scalars(
        select(BookingHotel.hotel_id).where(BookingHotel.booking_id == booking.id)
    )
    rooms = [OPERATOR, _owner_room(booking.owner_company_id, booking.owner_user_id)]
    return rooms + await _hotel_rooms(session, list(hotels))


async def rooms_of(session: AsyncSession, event: OutboxEvent) -> list[str]:
    if event.aggregate_type == "Quotation":
        rooms = await _quotation_rooms(session, event)
    elif event.aggregate_type == "Booking":
        rooms = await _booking_rooms(session, event.aggregate_id)
    elif event.aggregate_type == "Payment":
        payment = await session.get(Payment, event.aggregate_id)
        rooms = await _booking_rooms(session, payment.booking_id) if payment else [OPERATOR]
    elif event.aggregate_type == "Announcement":
        rooms = [ANNOUNCEMENTS]
    else:
        rooms = [OPERATOR]
    return sorted(set(rooms))
