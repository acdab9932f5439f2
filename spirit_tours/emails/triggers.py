"""Which domain event becomes which e-mail, to whom, with what context.

Each trigger reads the rows an event names and returns the messages it causes; a template
only ever receives the keys it shows, so a hotel's invitation cannot carry the owner's
identity or price. Who may receive each template, and which keys it may never carry, is the
rule of ``permissions.mail`` (docs/privacy.md §2.6): a message to a user of another role is
dropped here, a forbidden key is refused by the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.booking_policies import payment_policy_of
from spirit_tours.emails.context import Money
from spirit_tours.permissions.audiences import hotel_staff
from spirit_tours.permissions.mail import may_receive
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import Quotation


@dataclass(frozen=True, slots=True)
class Outgoing:
    template: str
    user: User
    context: dict[str, object]
    about: str = ""  # tells apart two messages of one event to one user (two hotels)


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """Where e-mail links send people: the web front end."""

    url: str

    def quotation(self, quotation_id: uuid.UUID) -> str:
        return f"{self.url}/quotations/{quotation_id}"

    def offer(self, quotation_id: uuid.UUID) -> str:
        return f"{self.url}/quotations/{quotation_id}/offer"

    def booking(self, booking_id: uuid.UUID) -> str:
        return f"{self.url}/bookings/{booking_id}"

    def payment(self, booking_id: uuid.UUID) -> str:
        return f"{self.url}/bookings/{booking_id}/pay"

    def survey(self, booking_id: uuid.UUID) -> str:
        return f"{self.url}/bookings/{booking_id}/survey"

    def login(self) -> str:
        return f"{self.url}/login"

    def offers(self) -> str:
        return f"{self.url}/offers"

    def reset_password(self, token: str) -> str:
        return f"{self.url}/reset-password?token={token}"


def quotation_reference(quotation_id: uuid.UUID) -> str:
    return f"Q-{quotation_id.hex[:8].upper()}"


Trigger = Callable[[AsyncSession, OutboxEvent, FrontEnd], Awaitable[Sequence[Outgoing]]]


async def _user(session: AsyncSession, user_id: uuid.UUID | None) -> User | None:
    user = await session.get(User, user_id) if user_id else None
    return user if user is not None and user.is_active else None


def _one(template: str, user: User | None, **context: object) -> list[Outgoing]:
    """The one message to ``user`` (none for a missing or inactive user), greeting them."""
    if user is None:
        return []
    return [Outgoing(template, user, {"name": user.full_name, **context})]


async def _quotation_created(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    q = await session.get(Quotation, event.aggregate_id)
    if q is None:
        return []
    return _one("quotation_created", await _user(session, q.owner_user_id),
                reference=quotation_reference(q.id), destination=q.destination,
                start_date=q.start_date, end_date=q.end_date,
                quotation_url=links.quotation(q.id))  # fmt: skip


async def _quotation_approved(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    q = await session.get(Quotation, event.aggregate_id)
    if q is None or q.selling_price is None:
        return []
    return _one("quotation_approved", await _user(session, q.owner_user_id),
                reference=quotation_reference(q.id), destination=q.destination,
                total=Money(q.selling_price, q.currency),
                quotation_url=links.quotation(q.id))  # fmt: skip


async def _hotels_invited(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    q = await session.get(Quotation, event.aggregate_id)
    hotel_ids = [uuid.UUID(h) for h in event.payload.get("hotel_ids", [])]
    if q is None or not hotel_ids:
        return []
    rows = await session.execute(
        select(Hotel, User)
        .join(User, User.company_id == Hotel.company_id)
        .where(Hotel.id.in_(hotel_ids), hotel_staff())
        .order_by(Hotel.name, User.email)
    )
    return [
        Outgoing(
            "hotel_invitation",
            user,
            {
                "hotel_name": hotel.name,
                "destination": q.destination,
                "start_date": q.start_date,
                "end_date": q.end_date,
                "travellers": q.travellers,
                "deadline": q.offer_deadline,
                "offer_url": links.offer(q.id),
            },
            about=str(hotel.id),
        )
        for hotel, user in rows
    ]


async def _booking(session: AsyncSession, event: OutboxEvent) -> Booking | None:
    return await session.get(Booking, event.aggregate_id)


async def _booking_confirmed(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    b = await _booking(session, event)
    if b is None:
        return []
    return _one("booking_confirmed", await _user(session, b.owner_user_id),
                reference=b.reference, destination=b.destination,
                start_date=b.start_date, end_date=b.end_date,
                total=Money(b.selling_price, b.currency),
                booking_url=links.booking(b.id))  # fmt: skip


async def _guide_assigned(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    b = await _booking(session, event)
    guide_id = event.payload.get("guide_id")
    if b is None or not guide_id:
        return []
    return _one("guide_assigned", await _user(session, uuid.UUID(guide_id)),
                reference=b.reference, destination=b.destination,
                start_date=b.start_date, end_date=b.end_date,
                booking_url=links.booking(b.id))  # fmt: skip


def _amount_due(booking: Booking, due: str) -> Decimal:
    if due == "DEPOSIT":
        needed = payment_policy_of(booking).amount_to_confirm(
            booking.selling_price, booking.currency
        )
        return max(needed - booking.amount_paid, Decimal(0))
    return booking.selling_price - booking.amount_paid


async def _payment_reminder(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    b = await _booking(session, event)
    if b is None:
        return []
    amount = _amount_due(b, str(event.payload.get("due", "BALANCE")))
    if amount <= 0:
        return []
    return _one("reminder_payment", await _user(session, b.owner_user_id),
                amount=Money(amount, b.currency), reference=b.reference,
                due_date=date.fromisoformat(event.payload["due_date"]),
                payment_url=links.payment(b.id))  # fmt: skip


async def _booking_cancelled(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    b = await _booking(session, event)
    if b is None:
        return []
    return _one("cancellation_notice", await _user(session, b.owner_user_id),
                reference=b.reference, destination=b.destination,
                booking_url=links.booking(b.id))  # fmt: skip


async def _booking_completed(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    b = await _booking(session, event)
    if b is None:
        return []
    return _one("survey", await _user(session, b.owner_user_id),
                destination=b.destination, survey_url=links.survey(b.id))  # fmt: skip


async def _payment_received(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    p = await session.get(Payment, event.aggregate_id)
    b = await session.get(Booking, p.booking_id) if p else None
    if p is None or b is None:
        return []
    return _one("payment_received", await _user(session, p.payer_user_id),
                amount=Money(p.amount, p.currency), reference=b.reference,
                paid_on=event.occurred_at.date(), booking_url=links.booking(b.id))  # fmt: skip


async def _refund_processed(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    p = await session.get(Payment, event.aggregate_id)
    b = await session.get(Booking, p.booking_id) if p else None
    if p is None or b is None:
        return []
    amount = Decimal(str(event.payload.get("amount", p.refunded_amount)))
    return _one("refund_processed", await _user(session, p.payer_user_id),
                amount=Money(amount, p.currency), reference=b.reference,
                booking_url=links.booking(b.id))  # fmt: skip


async def _welcome(session: AsyncSession, event: OutboxEvent, links: FrontEnd) -> list[Outgoing]:
    return _one("welcome", await _user(session, event.aggregate_id), login_url=links.login())


TRIGGERS: dict[str, Trigger] = {
    "quotation.created": _quotation_created,
    "quotation.approved": _quotation_approved,
    "quotation.hotels_invited": _hotels_invited,
    "booking.confirmed": _booking_confirmed,
    "booking.guide_assigned": _guide_assigned,
    "booking.payment_reminder_due": _payment_reminder,
    "booking.cancelled": _booking_cancelled,
    "booking.completed": _booking_completed,
    "payment.succeeded": _payment_received,
    "payment.refunded": _refund_processed,
    "user.created": _welcome,
}


async def outgoing_for(
    session: AsyncSession, event: OutboxEvent, links: FrontEnd
) -> list[Outgoing]:
    """The messages an event causes, to the users who may receive them."""
    trigger = TRIGGERS.get(event.kind)
    outgoing = list(await trigger(session, event, links)) if trigger else []
    return [out for out in outgoing if may_receive(out.template, out.user.role)]
