"""Loading a payment for a viewer (the rule: ``permissions.payments``) and how its status
may move."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import STATUS_ORDER, PaymentStatus
from spirit_tours.core.errors import forbidden, not_found
from spirit_tours.permissions.payments import manages_payments, sees_payment
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.payments import Payment

_GAVE_UP = (PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED)


def may_move(current: PaymentStatus, new: PaymentStatus) -> bool:
    """Payment states only move forward; money arriving after a failure, a cancellation or the
    end of the payment's hold still counts (never beyond what its booking can take)."""
    if current in _GAVE_UP and new == PaymentStatus.SUCCEEDED:
        return True
    return STATUS_ORDER[new] > STATUS_ORDER[current]


# The payment and its booking in one statement (the lock takes the payment's row only); built
# once, bound per call.
_READ_PAYMENT = (
    select(Payment, Booking)
    .join(Booking, Booking.id == Payment.booking_id)
    .where(Payment.id == bindparam("payment_id"))
)
_LOCK_PAYMENT = _READ_PAYMENT.with_for_update(of=Payment)


def visible_payment(viewer: Viewer, payment: Payment, booking: Booking) -> Payment:
    """``payment`` (of ``booking``) when the viewer may see it; NOT_FOUND otherwise."""
    if payment.booking_id != booking.id or not sees_payment(viewer, booking):
        raise not_found("Payment")
    return payment


async def load_payment(
    session: AsyncSession,
    viewer: Viewer,
    payment_id: uuid.UUID,
    *,
    lock: bool = False,
    admin_only: bool = False,
) -> tuple[Payment, Booking]:
    statement = _LOCK_PAYMENT if lock else _READ_PAYMENT
    found = (await session.execute(statement, {"payment_id": payment_id})).one_or_none()
    if found is None:
        raise not_found("Payment")
    payment, booking = found
    visible_payment(viewer, payment, booking)
    if admin_only and not manages_payments(viewer):
        raise forbidden()
    return payment, booking
