"""Payment jobs: execute the refunds made due, expire payments whose hold lapsed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from spirit_tours.core.enums import RefundStatus
from spirit_tours.persistence.bookings import BookingRefund
from spirit_tours.resolvers.payments.holds import call_off, expire_lapsed
from spirit_tours.resolvers.payments.refunds import execute_booking_refund

BATCH = 50


async def execute_due_refunds(ctx: dict[str, Any]) -> int:
    """Send back every refund a cancellation made due (each part is idempotent, so a run
    that dies half-way is simply run again)."""
    async with ctx["sessions"]() as session:
        due = list(
            await session.scalars(
                select(BookingRefund.id)
                # PROCESSING ones too: a run that died half-way left parts unsent.
                .where(BookingRefund.status.in_((RefundStatus.DUE, RefundStatus.PROCESSING)))
                .order_by(BookingRefund.created_at)
                .limit(BATCH)
            )
        )
    for refund_id in due:
        await execute_booking_refund(ctx["sessions"], ctx["payments"], refund_id)
    return len(due)


async def expire_payment_holds(ctx: dict[str, Any]) -> int:
    """EXPIRE open payments whose hold lapsed (a payer who walked away never blocks the
    booking for longer than ``SPIRIT_PAYMENT_HOLD_MINUTES``), then call them off at their
    providers where the adapter can."""
    async with ctx["sessions"]() as session, session.begin():
        lapsed = await expire_lapsed(session)
    await call_off(ctx["sessions"], ctx["payments"], lapsed)
    return len(lapsed)
