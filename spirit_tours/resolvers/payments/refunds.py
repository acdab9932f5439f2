"""Refunds: asked by the operator, or executing what a booking cancellation made due.

Like payments, a refund is recorded first (its idempotency key is unique), the provider is
called outside any transaction with a key derived from the refund's id (the provider never
refunds twice), and the outcome is stored after.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, PaymentStatus, RefundOutcome, RefundStatus
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input
from spirit_tours.core.idempotency import fingerprint, idempotency_key, require_same_request
from spirit_tours.core.money import positive_amount
from spirit_tours.payments.gateway import PaymentError, ProviderRefund
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment, PaymentRefund
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.payments.rules import load_payment
from spirit_tours.resolvers.payments.webhooks import refunded

log = logging.getLogger(__name__)
_REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)
STALE_REFUND = timedelta(minutes=2)


@dataclass(frozen=True)
class RefundOrder:
    payment_id: uuid.UUID
    amount: Decimal | None
    reason: str
    idempotency_key: str
    booking_refund_id: uuid.UUID | None = None


async def _in_flight(session: AsyncSession, payment_id: uuid.UUID) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(
            PaymentRefund.payment_id == payment_id,
            PaymentRefund.status == RefundStatus.PROCESSING,
        )
    )
    return Decimal(total or 0)


async def _record(
    session: AsyncSession, viewer: Viewer | None, order: RefundOrder, payment: Payment
) -> tuple[PaymentRefund, bool]:
    digest = fingerprint(payment=order.payment_id, amount=order.amount, reason=order.reason)
    existing = await session.scalar(
        select(PaymentRefund).where(PaymentRefund.idempotency_key == order.idempotency_key)
    )
    if existing is not None:
        require_same_request(existing.request_hash, digest, "refund")
        stale = existing.updated_at < now_utc() - STALE_REFUND
        if existing.status == RefundStatus.PROCESSING and not existing.provider_reference and stale:
            # Its request died before the provider answered: ask again; the provider key
            # (derived from the refund's id) keeps it from refunding twice.
            existing.updated_at = now_utc()
            return existing, True
        return existing, False
    if payment.status not in _REFUNDABLE or payment.provider is None:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"Only a succeeded payment can be refunded; this one is {payment.status.value}.",
        )
    refundable = payment.amount - payment.refunded_amount - await _in_flight(session, payment.id)
    amount = order.amount if order.amount is not None else refundable
    positive_amount(amount, payment.currency, "amount")
    if amount > refundable:
        raise bad_input("amount", f"At most {refundable} {payment.currency} can be refunded.")
    refund = PaymentRefund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        booking_refund_id=order.booking_refund_id,
        requested_by_id=viewer.user_id if viewer else None,
        idempotency_key=order.idempotency_key,
        request_hash=digest,
        amount=amount,
        currency=payment.currency,
        reason=order.reason,
        status=RefundStatus.PROCESSING,
    )
    session.add(refund)
    record_audit(session, viewer, "payment.refund", "Payment", payment.id,
                 amount=str(amount), reason=order.reason)  # fmt: skip
    return refund, True


async def refund_payment(
    sessions: SessionFactory, providers: PaymentProviders, viewer: Viewer | None, order: RefundOrder
) -> uuid.UUID:
    """Refund ``order.amount`` (None: all that is left) of a payment; returns the refund id."""
    idempotency_key(order.idempotency_key)
    if len(order.reason) > 500:
        raise bad_input("reason", "Keep the reason under 500 characters.")
    async with sessions() as session, session.begin():
        if viewer is not None:
            payment, _ = await load_payment(session, viewer, order.payment_id, lock=True,
                                            admin_only=True)  # fmt: skip
        else:
            payment = await session.get_one(Payment, order.payment_id, with_for_update=True)
        refund, owner = await _record(session, viewer, order, payment)
        provider, reference = payment.provider, payment.provider_reference
        whole = refund.amount == payment.amount and payment.refunded_amount == 0
    if not owner:
        return refund.id
    gateway = providers.get(provider) if provider else None
    outcome: ProviderRefund | None = None
    failure = f"{provider} is not configured here."
    if gateway is not None and reference is not None:
        try:
            outcome = await gateway.refund(
                reference, None if whole else refund.amount, refund.currency, f"spirit-{refund.id}"
            )
        except PaymentError as error:
            failure = error.message
        except Exception:  # an adapter bug: recorded as a failure, never a stuck refund
            log.exception("refund %s failed in the %s adapter", refund.id, provider)
            failure = "The provider could not be reached."
    await _store(sessions, refund.id, outcome, failure)
    return refund.id


async def _store(
    sessions: SessionFactory, refund_id: uuid.UUID, outcome: ProviderRefund | None, failure: str
) -> None:
    async with sessions() as session, session.begin():
        refund = await session.get_one(PaymentRefund, refund_id, with_for_update=True)
        payment = await session.get_one(Payment, refund.payment_id, with_for_update=True)
        if refund.status != RefundStatus.PROCESSING:
            return  # settled meanwhile (a concurrent take-over)
        if outcome is None or outcome.outcome == RefundOutcome.FAILED:
            refund.status = RefundStatus.FAILED
            refund.failure_reason = failure if outcome is None else "The provider refused it."
            emit_event(session, EventKind.PAYMENT_REFUND_FAILED, "Payment", payment.id,
                       refund_id=refund.id)  # fmt: skip
        elif outcome.outcome == RefundOutcome.PENDING:
            # Accepted but not done: it stays PROCESSING (the provider's refund webhook
            # reports the money back), and counts as in flight.
            refund.provider_reference = outcome.reference
        else:
            refund.provider_reference = outcome.reference
            refund.status = RefundStatus.REFUNDED
            await _count_refunds(session, payment, refund.amount,
                                 uncredited=await _is_overpayment(session, refund))  # fmt: skip
            emit_event(session, EventKind.PAYMENT_REFUNDED, "Payment", payment.id,
                       refund_id=refund.id, amount=str(refund.amount))  # fmt: skip
        if refund.booking_refund_id is not None:
            await _settle_booking_refund(session, refund.booking_refund_id)


async def _is_overpayment(session: AsyncSession, refund: PaymentRefund) -> bool:
    """Whether the refund sends back money its payment brought beyond the booking's price."""
    if refund.booking_refund_id is None:
        return False
    due = await session.get_one(BookingRefund, refund.booking_refund_id)
    return due.payment_id is not None


async def _count_refunds(
    session: AsyncSession, payment: Payment, amount: Decimal, *, uncredited: bool = False
) -> None:
    """A refund of ``amount`` just completed: bring the payment in line with its completed
    refunds, and take the money off what its booking has received (never more than the
    payment had credited to it; nothing for an over-payment, which was never credited).

    The payment's total is absolute, not incremental: the provider's own refund webhook may
    have counted the same money already, and the two must not add up twice.
    """
    done = await session.scalar(
        select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(
            PaymentRefund.payment_id == payment.id, PaymentRefund.status == RefundStatus.REFUNDED
        )
    )
    newly = max(payment.refunded_amount, Decimal(done or 0)) - payment.refunded_amount
    if newly > 0:
        refunded(payment, newly)
    taken = Decimal(0) if uncredited else min(amount, payment.credited_amount)
    if taken > 0:
        payment.credited_amount -= taken
        booking = await session.get_one(Booking, payment.booking_id, with_for_update=True)
        booking.amount_paid = max(booking.amount_paid - taken, Decimal(0))


async def _settle_booking_refund(session: AsyncSession, booking_refund_id: uuid.UUID) -> None:
    """A cancellation's refund is REFUNDED once its payment refunds cover it."""
    due = await session.get_one(BookingRefund, booking_refund_id, with_for_update=True)
    rows = list(
        await session.scalars(
            select(PaymentRefund).where(PaymentRefund.booking_refund_id == booking_refund_id)
        )
    )
    done = sum((r.amount for r in rows if r.status == RefundStatus.REFUNDED), Decimal(0))
    if done >= due.amount:
        due.status = RefundStatus.REFUNDED
    elif not rows:
        due.status = RefundStatus.FAILED  # nothing could be sent: the operator steps in
    elif any(r.status == RefundStatus.FAILED for r in rows):
        due.status = RefundStatus.FAILED
    else:
        due.status = RefundStatus.PROCESSING


async def execute_booking_refund(
    sessions: SessionFactory, providers: PaymentProviders, booking_refund_id: uuid.UUID
) -> RefundStatus:
    """Send back what a cancellation made due, from the booking's credited payments (newest
    first), or an over-payment, from the payment that brought it. Safe to run again: each
    part has a fixed idempotency key."""
    async with sessions() as session:
        due = await session.get_one(BookingRefund, booking_refund_id)
        source = (
            Payment.id == due.payment_id
            if due.payment_id is not None
            else (Payment.booking_id == due.booking_id) & Payment.credited_at.is_not(None)
        )
        payments = list(
            await session.scalars(select(Payment).where(source).order_by(Payment.created_at.desc()))
        )
    left = due.amount - await _already_sent(sessions, booking_refund_id)
    for payment in payments:
        if left <= 0:
            break
        room = payment.amount - payment.refunded_amount
        if due.payment_id is None:  # a cancellation sends back only what was credited
            room = min(room, payment.credited_amount)
        part = min(left, room)
        if part <= 0:
            continue
        order = RefundOrder(payment.id, part, due.reason or "Booking cancelled",
                            f"booking-refund:{booking_refund_id}:{payment.id}",
                            booking_refund_id=booking_refund_id)  # fmt: skip
        try:
            await refund_payment(sessions, providers, None, order)
        except DomainError:
            continue
        left -= part
    async with sessions() as session, session.begin():
        await _settle_booking_refund(session, booking_refund_id)
        return (await session.get_one(BookingRefund, booking_refund_id)).status


async def _already_sent(sessions: SessionFactory, booking_refund_id: uuid.UUID) -> Decimal:
    """What earlier runs already refunded or still have in flight for this cancellation."""
    async with sessions() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(
                PaymentRefund.booking_refund_id == booking_refund_id,
                PaymentRefund.status.in_((RefundStatus.REFUNDED, RefundStatus.PROCESSING)),
            )
        )
    return Decimal(total or 0)
