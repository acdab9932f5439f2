"""Stripe's values in ours: PaymentIntent, event and refund statuses, minor units, the card's
last digits and our payment id echoed back in metadata."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from spirit_tours.core.enums import PaymentStatus, RefundOutcome
from spirit_tours.core.money import minor_units

INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.REQUIRES_ACTION,
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.PENDING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELLED,
}
EVENT_STATUS = {
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.processing": PaymentStatus.PENDING,
    "payment_intent.canceled": PaymentStatus.CANCELLED,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
}
REFUND_OUTCOME = {
    "succeeded": RefundOutcome.SUCCEEDED,
    "pending": RefundOutcome.PENDING,
    "requires_action": RefundOutcome.PENDING,
}
# Currencies Stripe settles (a subset that matters here; Stripe takes 135+).
CURRENCIES = frozenset({"USD", "EUR", "GBP", "BRL", "MXN", "CAD", "AUD", "JPY", "CHF", "PEN",
                         "COP", "CLP", "ARS", "UYU"})  # fmt: skip


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_units(currency)))


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(value).scaleb(-minor_units(currency))


def card_last4(charge: Mapping[str, Any]) -> str | None:
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    last4 = card.get("last4")
    return str(last4) if last4 else None


def payment_id_of(obj: Mapping[str, Any]) -> uuid.UUID | None:
    value = (obj.get("metadata") or {}).get("payment_id") or obj.get("client_reference_id")
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
