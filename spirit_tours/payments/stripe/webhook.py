"""Stripe's webhooks: the ``Stripe-Signature`` check (by the SDK) and the event, decoded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from spirit_tours.core.enums import PaymentStatus, Provider
from spirit_tours.payments.gateway import InvalidSignatureError, WebhookEvent
from spirit_tours.payments.stripe.mapping import EVENT_STATUS, card_last4, from_minor, payment_id_of


def parse_webhook(
    body: bytes, headers: Mapping[str, str], secret: str, tolerance_seconds: int | None
) -> WebhookEvent:
    """``Stripe-Signature``: HMAC-SHA256 of ``{t}.{body}`` with the endpoint secret,
    verified by the SDK, with Stripe's timestamp tolerance unless replaying."""
    signature = headers.get("stripe-signature")
    if signature is not None and not signature.isascii():
        # The SDK compares str with hmac.compare_digest, which raises TypeError on these.
        raise InvalidSignatureError(Provider.STRIPE, "Stripe-Signature is not ASCII")
    try:
        stripe.WebhookSignature.verify_header(body.decode(), signature, secret, tolerance_seconds)
        event = json.loads(body)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        raise InvalidSignatureError(Provider.STRIPE, str(error)) from error
    return decode_event(event)


def decode_event(event: Mapping[str, Any]) -> WebhookEvent:
    kind = str(event.get("type", ""))
    obj: Mapping[str, Any] = (event.get("data") or {}).get("object") or {}
    currency = str(obj.get("currency", "")).upper() or None
    common: dict[str, Any] = {"event_id": str(event.get("id")), "kind": kind, "raw": event}
    if kind in EVENT_STATUS:
        received = obj.get("amount_received") or obj.get("amount")
        return WebhookEvent(
            **common,
            payment_reference=obj.get("id"),
            payment_id=payment_id_of(obj),
            status=EVENT_STATUS[kind],
            amount=from_minor(int(received), currency) if received and currency else None,
            currency=currency,
        )
    if kind == "checkout.session.completed" and obj.get("payment_status") == "paid":
        total = obj.get("amount_total")
        return WebhookEvent(
            **common,
            payment_reference=obj.get("payment_intent"),
            payment_id=payment_id_of(obj),
            status=PaymentStatus.SUCCEEDED,
            amount=from_minor(int(total), currency) if total and currency else None,
            currency=currency,
        )
    if kind in ("charge.succeeded", "charge.refunded") and currency:
        refunded = int(obj.get("amount_refunded") or 0)
        status = None
        if kind == "charge.refunded":
            status = (
                PaymentStatus.REFUNDED if obj.get("refunded") else PaymentStatus.PARTIALLY_REFUNDED
            )
        return WebhookEvent(
            **common,
            payment_reference=obj.get("payment_intent"),
            payment_id=payment_id_of(obj),
            status=status,
            card_last4=card_last4(obj),
            refunded_amount=from_minor(refunded, currency) if refunded else None,
            currency=currency,
        )
    return WebhookEvent(**common)
