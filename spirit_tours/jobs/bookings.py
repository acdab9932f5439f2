"""Daily booking jobs: announce payments coming due, once per due date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.booking_policies import payment_policy_of
from spirit_tours.core.clock import today_utc
from spirit_tours.core.enums import BookingStatus, EventKind, PaymentDue
from spirit_tours.persistence.bookings import Booking, PaymentReminder
from spirit_tours.persistence.repositories.events import emit_event

# How long before a due date the payer is reminded.
REMINDER_LEAD = timedelta(days=3)


def _dues(booking: Booking, horizon: date) -> list[tuple[PaymentDue, date]]:
    """The unpaid instalments of ``booking`` due on or before ``horizon``."""
    policy = payment_policy_of(booking)
    dues = []
    if (
        booking.status == BookingStatus.PENDING_PAYMENT
        and policy.deposit_due is not None
        and policy.deposit_due <= horizon
    ):
        dues.append((PaymentDue.DEPOSIT, policy.deposit_due))
    if booking.amount_paid < booking.selling_price and policy.balance_due <= horizon:
        dues.append((PaymentDue.BALANCE, policy.balance_due))
    return dues


async def announce_payment_reminders(session: AsyncSession, today: date) -> int:
    """Emit ``booking.payment_reminder_due`` for instalments due within the lead time.

    The ``payment_reminders`` key makes each (booking, instalment, due date) announced once,
    however often the job runs or how many workers run it.
    """
    horizon = today + REMINDER_LEAD
    bookings = await session.scalars(
        select(Booking).where(
            Booking.status.in_((BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)),
            Booking.amount_paid < Booking.selling_price,
            Booking.start_date >= today,
        )
    )
    announced = 0
    for booking in bookings:
        for due, due_date in _dues(booking, horizon):
            inserted = await session.scalar(
                insert(PaymentReminder)
                .values(booking_id=booking.id, due=due, due_date=due_date)
                .on_conflict_do_nothing()
                .returning(PaymentReminder.booking_id)
            )
            if inserted is not None:
                emit_event(session, EventKind.BOOKING_PAYMENT_REMINDER_DUE, "Booking", booking.id,
                           due=due.value, due_date=due_date.isoformat())  # fmt: skip
                announced += 1
    return announced


async def payment_reminders(ctx: dict[str, Any]) -> int:
    """saq job: the daily run of :func:`announce_payment_reminders`."""
    async with ctx["sessions"]() as session, session.begin():
        return await announce_payment_reminders(session, today_utc())
