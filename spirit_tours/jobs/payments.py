"""Payment jobs: execute the refunds cancellations made due."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from spirit_tours.persistence.bookings import BookingRefund
from spirit_tours.persistence.enums import RefundStatus
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
