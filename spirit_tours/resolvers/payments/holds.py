"""Open payments hold their booking: at most one at a time, and only for a while.

A client that makes a new idempotency key per retry must not start a second charge while the
first is still payable, so a booking has at most one open payment (CREATED, REQUIRES_ACTION,
PENDING): :func:`open_payment` finds it under the booking's row lock, and the partial unique
index ``uq_payments_open_per_booking`` refuses a second one whatever the code path. An
abandoned checkout must not block the payer forever: after ``SPIRIT_PAYMENT_HOLD_MINUTES`` the
payment is EXPIRED (by the next ``startPayment`` for the booking, or by the minute job) and the
provider is asked to call it off where its adapter can. Money that still arrives for an expired
payment is credited up to what the booking can take; the rest becomes a refund due.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import (
    OPEN_STATUSES,
    AttemptOutcome,
    EventKind,
    PaymentStatus,
    Provider,
)
from spirit_tours.payments.gateway import CancellableGateway, PaymentError
from spirit_tours.payments.outcomes import payment_moved
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.repositories.events import emit_event

log = logging.getLogger(__name__)

# A request talking to the providers for longer than this is presumed dead (its row may be
# taken over by a retry with the same key, and its hold may lapse).
STALE_CLAIM = timedelta(minutes=2)
SWEEP_BATCH = 100


@dataclass(frozen=True)
class Lapsed:
    """An open payment whose hold just lapsed: to be called off at its provider."""

    payment_id: uuid.UUID
    provider: Provider | None
    reference: str | None


async def open_payment(session: AsyncSession, booking_id: uuid.UUID) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.booking_id == booking_id, Payment.status.in_(OPEN_STATUSES))
    )


async def expire_lapsed(
    session: AsyncSession,
    *,
    booking_id: uuid.UUID | None = None,
    now: datetime | None = None,
    limit: int = SWEEP_BATCH,
) -> list[Lapsed]:
    """Mark EXPIRED the open payments (of one booking, or any) whose hold has lapsed.

    A payment whose request is still talking to the providers is left alone until that claim
    is stale. A webhook applying to the same payment holds its row lock, and the status is
    checked again after it: a payment that succeeded meanwhile is never expired.
    """
    at = now or now_utc()
    conditions = [
        Payment.status.in_(OPEN_STATUSES),
        Payment.hold_until <= at,
        or_(Payment.claimed_at.is_(None), Payment.claimed_at < at - STALE_CLAIM),
    ]
    if booking_id is not None:
        conditions.append(Payment.booking_id == booking_id)
    candidates = (
        select(Payment.id)
        .where(*conditions)
        .order_by(Payment.hold_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await session.execute(
        update(Payment)
        .where(Payment.id.in_(candidates), *conditions)
        .values(
            status=PaymentStatus.EXPIRED,
            failure_reason="The payment was not completed in time; start a new one.",
            claimed_at=None,
        )
        .returning(Payment.id, Payment.booking_id, Payment.provider, Payment.provider_reference)
    )
    lapsed = []
    for payment_id, payment_booking, provider, reference in rows:
        payment_moved(provider, PaymentStatus.EXPIRED)
        emit_event(
            session, EventKind.PAYMENT_EXPIRED, "Payment", payment_id, booking_id=payment_booking
        )
        lapsed.append(Lapsed(payment_id, provider, reference))
    return lapsed


async def call_off(
    sessions: SessionFactory, providers: PaymentProviders, lapsed: list[Lapsed]
) -> None:
    """Ask each provider that can to cancel an expired payment; record what it said.

    Best effort, outside any transaction: a provider that refuses (the payer is paying right
    now) or cannot be reached leaves the payment EXPIRED, and money that arrives anyway is
    still never credited beyond what the booking can take.
    """
    for item in lapsed:
        gateway = providers.get(item.provider) if item.provider else None
        if item.reference is None or not isinstance(gateway, CancellableGateway):
            continue
        try:
            await gateway.cancel_payment(item.reference)
            outcome, message = AttemptOutcome.CANCELLED, "Hold lapsed: cancelled at the provider."
        except PaymentError as error:
            outcome, message = AttemptOutcome.CANCEL_FAILED, error.message
        except Exception as error:  # an adapter bug must not stop the other cancellations
            log.exception("cancelling payment %s failed unexpectedly", item.payment_id)
            outcome, message = AttemptOutcome.CANCEL_FAILED, type(error).__name__
        async with sessions() as session, session.begin():
            payment = await session.get_one(Payment, item.payment_id, with_for_update=True)
            payment.attempts = [*payment.attempts, {
                "provider": gateway.provider.value, "outcome": outcome.value, "message": message,
                "at": now_utc().isoformat(),
            }]  # fmt: skip
