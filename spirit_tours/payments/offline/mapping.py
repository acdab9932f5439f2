"""The offline gateway's event types in our payment statuses."""

from __future__ import annotations

from spirit_tours.core.enums import PaymentStatus

EVENT_STATUS = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
}
