"""Who gets a notification in their inbox for an event (delivered offline, kept until
acknowledged)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import Role
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.events import ChatMessage, OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import Quotation

# event kind → the notification kind users see
NOTIFIED = {
    "quotation.hotels_invited": "INVITATION_RECEIVED",
    "offer.submitted": "OFFER_RECEIVED",
    "quotation.proposed": "PROPOSAL_READY",
    "booking.confirmed": "BOOKING_CONFIRMED",
    "booking.cancelled": "BOOKING_CANCELLED",
    "booking.guide_assigned": "GUIDE_ASSIGNED",
    "booking.payment_reminder_due": "PAYMENT_REMINDER",
    "payment.succeeded": "PAYMENT_RECEIVED",
    "message.posted": "MESSAGE_RECEIVED",
}


async def _active(session: AsyncSession, *conditions: object) -> list[uuid.UUID]:
    rows = await session.scalars(select(User.id).where(User.is_active, *conditions))  # type: ignore[arg-type]
    return list(rows)


async def _admins(session: AsyncSession) -> list[uuid.UUID]:
    return await _active(session, User.role == Role.ADMIN)


async def _owners(
    session: AsyncSession, company: uuid.UUID | None, user: uuid.UUID
) -> list[uuid.UUID]:
    if company is None:
        return [user]
    return await _active(session, User.company_id == company)


async def _invited(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    hotel_ids = [uuid.UUID(h) for h in event.payload.get("hotel_ids", [])]
    companies = select(Hotel.company_id).where(Hotel.id.in_(hotel_ids))
    return await _active(session, User.company_id.in_(companies), User.role == Role.HOTEL)


async def _quotation_owners(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    quotation = await session.get(Quotation, event.aggregate_id)
    if quotation is None:
        return []
    return await _owners(session, quotation.owner_company_id, quotation.owner_user_id)


async def _booking_owners(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    booking = await session.get(Booking, event.aggregate_id)
    if booking is None:
        return []
    return await _owners(session, booking.owner_company_id, booking.owner_user_id)


async def _guide(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    return [uuid.UUID(event.payload["guide_id"])] if event.payload.get("guide_id") else []


async def _payer(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    payment = await session.get(Payment, event.aggregate_id)
    return [payment.payer_user_id] if payment else []


async def _message_readers(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    message = await session.get(ChatMessage, uuid.UUID(event.payload["message_id"]))
    quotation = await session.get(Quotation, event.aggregate_id)
    if message is None or quotation is None:
        return []
    if message.thread == "OWNER":
        party = await _owners(session, quotation.owner_company_id, quotation.owner_user_id)
    else:
        party = await _active(session, User.company_id == message.hotel_company_id)
    readers = set(party) | set(await _admins(session))
    readers.discard(message.author_id)
    return sorted(readers)


_ADDRESSEES: dict[str, Callable[[AsyncSession, OutboxEvent], Awaitable[list[uuid.UUID]]]] = {
    "quotation.hotels_invited": _invited,
    "offer.submitted": lambda session, event: _admins(session),
    "quotation.proposed": _quotation_owners,
    "booking.confirmed": _booking_owners,
    "booking.cancelled": _booking_owners,
    "booking.guide_assigned": _guide,
    "booking.payment_reminder_due": _booking_owners,
    "payment.succeeded": _payer,
    "message.posted": _message_readers,
}


async def addressees(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    find = _ADDRESSEES.get(event.kind)
    return sorted(set(await find(session, event))) if find else []
