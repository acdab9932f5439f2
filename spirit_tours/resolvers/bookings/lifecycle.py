"""A booking's life: created from an approved quotation, paid, completed or cancelled."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.config import Settings
from spirit_tours.core.booking_policies import (
    PaymentPolicy,
    default_payment_policy,
    payment_policy_of,
    refund_due,
)
from spirit_tours.core.cancellation import (
    CancellationTier,
    cancellation_policy,
    parse_cancellation_policy,
)
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import BookingStatus, EventKind, QuotationStatus, ReleaseReason
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, forbidden
from spirit_tours.core.money import positive_amount
from spirit_tours.permissions.bookings import BOOKING_ALLOWED, BookingAction
from spirit_tours.permissions.quotations import ALLOWED, Action, may
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund
from spirit_tours.persistence.conflicts import flush_or_conflict
from spirit_tours.persistence.quotations import HotelOffer
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.persistence.staffing import GuideAssignment, TransportAssignment
from spirit_tours.resolvers.bookings.rules import ACTIVE, load_booking, require_booking_status
from spirit_tours.resolvers.quotations.rules import load_for, require_status


@dataclass(frozen=True)
class BookingTerms:
    """What the operator may agree beyond the defaults; owners book on the defaults."""

    payment_policy: PaymentPolicy | None = None
    cancellation_tiers: list[CancellationTier] | None = field(default=None)


async def create_booking(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    terms: BookingTerms,
    settings: Settings,
) -> Booking:
    """Book an approved quotation, freezing its prices and policies.

    The quotation row lock makes concurrent calls queue; the first books, the others find the
    booking and get CONFLICT. The unique ``bookings.quotation_id`` holds even without the lock.
    """
    quotation, relation = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.BOOK]
    )
    existing = await session.scalar(select(Booking.id).where(Booking.quotation_id == quotation.id))
    if existing is not None:
        raise DomainError(
            ErrorCode.CONFLICT,
            "This quotation is already booked.",
            field="quotationId",
            bookingId=str(existing),
        )
    now = now_utc()
    require_status(quotation, now, QuotationStatus.APPROVED, action="book the quotation")
    if not may(Action.SET_BOOKING_TERMS, relation) and (
        terms.payment_policy or terms.cancellation_tiers
    ):
        raise forbidden("Only the operator sets payment and cancellation policies.")
    today = now.date()
    if quotation.start_date <= today:
        raise DomainError(
            ErrorCode.INVALID_STATE, "The trip has already started; it can no longer be booked."
        )
    offer = await session.get_one(HotelOffer, quotation.selected_offer_id)
    assert quotation.selling_price is not None  # an APPROVED quotation has its price
    payment = (
        terms.payment_policy.validate(today, quotation.start_date)
        if terms.payment_policy
        else default_payment_policy(
            today,
            quotation.start_date,
            deposit_percent=settings.deposit_percent,
            deposit_due_days=settings.deposit_due_days,
            balance_due_days_before_start=settings.balance_due_days_before_start,
        )
    )
    tiers = (
        cancellation_policy(terms.cancellation_tiers, "cancellationPolicy")
        if terms.cancellation_tiers is not None
        else parse_cancellation_policy(settings.cancellation_policy)
    )
    booking = Booking(
        id=uuid.uuid4(),
        quotation_id=quotation.id,
        owner_company_id=quotation.owner_company_id,
        owner_user_id=quotation.owner_user_id,
        created_by_id=viewer.user_id,
        destination=quotation.destination,
        start_date=quotation.start_date,
        end_date=quotation.end_date,
        travellers=quotation.travellers,
        rooms=quotation.rooms,
        currency=quotation.currency,
        selling_price=quotation.selling_price,
        amount_paid=Decimal(0),
        status=BookingStatus.PENDING_PAYMENT,
        deposit_percent=payment.deposit_percent,
        deposit_due_date=payment.deposit_due,
        balance_due_date=payment.balance_due,
        cancellation_tiers=[tier.as_json() for tier in tiers],
    )
    session.add(booking)
    session.add(
        BookingHotel(
            booking_id=booking.id,
            hotel_id=offer.hotel_id,
            hotel_company_id=offer.hotel_company_id,
            offer_id=offer.id,
            net_price=offer.net_price,
            currency=offer.currency,
            rooms=quotation.rooms,
        )
    )
    quotation.status = QuotationStatus.BOOKED
    await flush_or_conflict(session, "This quotation is already booked.", field="quotationId")
    record_audit(session, viewer, "booking.create", "Booking", booking.id,
                 quotation_id=str(quotation.id), selling_price=str(booking.selling_price),
                 net_price=str(offer.net_price))  # fmt: skip
    emit_event(session, EventKind.BOOKING_CREATED, "Booking", booking.id, quotation_id=quotation.id)
    emit_event(
        session, EventKind.QUOTATION_BOOKED, "Quotation", quotation.id, booking_id=booking.id
    )
    return booking


async def apply_payment(
    session: AsyncSession, booking_id: uuid.UUID, amount: Decimal, currency: str
) -> Booking:
    """Money received for a booking (called by the payments side once a provider confirms).

    The deposit, or the full price when the policy asks for it, confirms the booking.
    """
    booking = await session.scalar(
        select(Booking).where(Booking.id == booking_id).with_for_update()
    )
    if booking is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Booking not found.")
    return credit_booking(session, booking, amount, currency)


def credit_booking(
    session: AsyncSession, booking: Booking, amount: Decimal, currency: str
) -> Booking:
    """:func:`apply_payment` on a booking the caller has already locked (``FOR UPDATE`` in
    this transaction): the payments side reads it under the lock to see what it can take."""
    require_booking_status(booking, *ACTIVE, action="take a payment")
    if currency != booking.currency:
        raise bad_input("currency", f"The booking is paid in {booking.currency}.")
    positive_amount(amount, currency, "amount")
    outstanding = booking.selling_price - booking.amount_paid
    if amount > outstanding:
        raise bad_input("amount", f"Only {outstanding} {currency} is outstanding.")
    booking.amount_paid += amount
    record_audit(session, None, "booking.payment", "Booking", booking.id, amount=str(amount))
    needed = payment_policy_of(booking).amount_to_confirm(booking.selling_price, currency)
    if booking.status == BookingStatus.PENDING_PAYMENT and booking.amount_paid >= needed:
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now_utc()
        emit_event(session, EventKind.BOOKING_CONFIRMED, "Booking", booking.id)
    return booking


async def _release_staffing(session: AsyncSession, booking_id: uuid.UUID, at: datetime) -> None:
    for model in (GuideAssignment, TransportAssignment):
        await session.execute(
            update(model)
            .where(model.booking_id == booking_id, model.released_at.is_(None))
            .values(released_at=at, release_reason=ReleaseReason.BOOKING_CANCELLED)
        )


async def cancel_booking(
    session: AsyncSession, viewer: Viewer, booking_id: uuid.UUID, reason: str
) -> tuple[Booking, BookingRefund | None]:
    """Cancel, free the guide and vehicle, and record the refund the policy makes due."""
    booking, _ = await load_booking(
        session,
        viewer,
        booking_id,
        lock=True,
        allowed=BOOKING_ALLOWED[BookingAction.CANCEL],
    )
    require_booking_status(booking, *ACTIVE, action="cancel the booking")
    if len(reason) > 2000:
        raise bad_input("reason", "Keep the reason under 2000 characters.")
    now = now_utc()
    tiers = [CancellationTier.from_json(tier) for tier in booking.cancellation_tiers]
    due = refund_due(
        tiers,
        paid=booking.amount_paid,
        currency=booking.currency,
        start=booking.start_date,
        cancelled_on=now.date(),
    )
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.cancellation_reason = reason
    await _release_staffing(session, booking.id, now)
    refund = None
    if due.amount > 0:
        refund = BookingRefund(
            id=uuid.uuid4(),
            booking_id=booking.id,
            amount=due.amount,
            currency=booking.currency,
            paid_amount=booking.amount_paid,
            refund_percent=due.refund_percent,
            days_before_start=due.days_before_start,
            reason=reason,
            requested_by_id=viewer.user_id,
        )
        session.add(refund)
    record_audit(session, viewer, "booking.cancel", "Booking", booking.id, reason=reason,
                 refund=str(due.amount), refund_percent=str(due.refund_percent),
                 days_before_start=due.days_before_start)  # fmt: skip
    emit_event(session, EventKind.BOOKING_CANCELLED, "Booking", booking.id, by=viewer.user_id)
    if refund is not None:
        emit_event(
            session, EventKind.BOOKING_REFUND_DUE, "Booking", booking.id, refund_id=refund.id
        )
    return booking, refund


async def complete_booking(session: AsyncSession, viewer: Viewer, booking_id: uuid.UUID) -> Booking:
    """The operator closes a confirmed trip once it is over."""
    booking, _ = await load_booking(
        session, viewer, booking_id, lock=True, allowed=BOOKING_ALLOWED[BookingAction.COMPLETE]
    )
    require_booking_status(booking, BookingStatus.CONFIRMED, action="complete the booking")
    now = now_utc()
    if now.date() < booking.end_date:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"The trip ends on {booking.end_date.isoformat()}; complete it after that.",
            endDate=booking.end_date.isoformat(),
        )
    booking.status = BookingStatus.COMPLETED
    booking.completed_at = now
    record_audit(session, viewer, "booking.complete", "Booking", booking.id)
    emit_event(session, EventKind.BOOKING_COMPLETED, "Booking", booking.id)
    return booking
