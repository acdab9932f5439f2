"""The users of each audience an event's notification goes to (delivered offline, kept until
acknowledged). Which audience gets which event is the rule ``permissions.live.NOTIFICATIONS``
(docs/privacy.md §2.3)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.permissions.audiences import company_staff, hotel_staff_of, operator_staff
from spirit_tours.permissions.chat import OWNER
from spirit_tours.permissions.live import NOTIFICATIONS, Audience
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.events import ChatMessage, OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import Quotation

# event kind → the notification kind users see
NOTIFIED = {kind: notification for kind, (notification, _) in NOTIFICATIONS.items()}


async def _users(session: AsyncSession, audience: ColumnElement[bool]) -> list[uuid.UUID]:
    return list(await session.scalars(select(User.id).where(audience)))


async def _admins(session: AsyncSession) -> list[uuid.UUID]:
    return await _users(session, operator_staff())


async def _owners(
    session: AsyncSession, company: uuid.UUID | None, user: uuid.UUID
) -> list[uuid.UUID]:
    if company is None:
        return [user]
    return await _users(session, company_staff(company))


async def _invited(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    hotel_ids = [uuid.UUID(h) for h in event.payload.get("hotel_ids", [])]
    companies = select(Hotel.company_id).where(Hotel.id.in_(hotel_ids))
    return await _users(session, hotel_staff_of(companies))


async def _owners_of(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    """The owners of the quotation (``quotation.*``) or booking the event is about."""
    owned: Quotation | Booking | None
    if event.kind.startswith("quotation."):
        owned = await session.get(Quotation, event.aggregate_id)
    else:
        owned = await session.get(Booking, event.aggregate_id)
    if owned is None:
        return []
    return await _owners(session, owned.owner_company_id, owned.owner_user_id)


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
    if message.thread == OWNER:
        party = await _owners(session, quotation.owner_company_id, quotation.owner_user_id)
    else:
        party = await _users(session, company_staff(message.hotel_company_id))
    readers = set(party) | set(await _admins(session))
    readers.discard(message.author_id)
    return sorted(readers)


_FINDERS: dict[Audience, Callable[[AsyncSession, OutboxEvent], Awaitable[list[uuid.UUID]]]] = {
    Audience.INVITED_HOTELS: _invited,
    Audience.OPERATOR: lambda session, event: _admins(session),
    Audience.OWNER: _owners_of,
    Audience.GUIDE: _guide,
    Audience.PAYER: _payer,
    Audience.THREAD: _message_readers,
}


async def addressees(session: AsyncSession, event: OutboxEvent) -> list[uuid.UUID]:
    rule = NOTIFICATIONS.get(event.kind)
    return sorted(set(await _FINDERS[rule[1]](session, event))) if rule else []
