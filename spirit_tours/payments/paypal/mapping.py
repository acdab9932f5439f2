"""PayPal's orders, captures and refunds in our values: statuses (the capture, once there is
one, says more than the order), the approval link, amounts, our id from ``custom_id``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from spirit_tours.core.enums import NextActionKind, PaymentStatus, Provider, RefundOutcome
from spirit_tours.payments.gateway import (
    NextAction,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailableError,
    WebhookEvent,
)

JSON = Mapping[str, Any]
PAYPAL = Provider.PAYPAL


ORDER_STATUS: dict[str, PaymentStatus] = {
    "CREATED": PaymentStatus.REQUIRES_ACTION,
    "SAVED": PaymentStatus.REQUIRES_ACTION,
    "PAYER_ACTION_REQUIRED": PaymentStatus.REQUIRES_ACTION,
    "APPROVED": PaymentStatus.PENDING,
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "VOIDED": PaymentStatus.CANCELLED,
}
CAPTURE_STATUS: dict[str, PaymentStatus] = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PENDING,
    "DECLINED": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "PARTIALLY_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
}
CAPTURE_EVENTS: dict[str, PaymentStatus] = {
    "PAYMENT.CAPTURE.COMPLETED": PaymentStatus.SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": PaymentStatus.PENDING,
    "PAYMENT.CAPTURE.DENIED": PaymentStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": PaymentStatus.FAILED,
}
ORDER_EVENTS = frozenset({"CHECKOUT.ORDER.COMPLETED", "CHECKOUT.ORDER.VOIDED"})
REFUND_OUTCOME: dict[str, RefundOutcome] = {
    "COMPLETED": RefundOutcome.SUCCEEDED,
    "PENDING": RefundOutcome.PENDING,
}


APPROVAL_RELS = ("payer-action", "approve")


def order_payment(order: JSON) -> ProviderPayment:
    order_id = text_of(order.get("id"))
    if order_id is None:
        raise ProviderUnavailableError(PAYPAL, "PayPal answered without an order id")
    status = order_status(order)
    money = money_of(capture_of(order).get("amount")) or money_of(unit_of(order).get("amount"))
    return ProviderPayment(
        reference=order_id,
        status=status,
        next_action=next_action_of(order, status),
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        card_last4=text_of(path_of(order, "payment_source", "card", "last_digits")),
        failure_reason=failure_reason_of(order, status),
        raw=order,
    )


def order_status(order: JSON) -> PaymentStatus:
    """The capture, once there is one, says more than the order (refunds, declines)."""
    captured = CAPTURE_STATUS.get(str(capture_of(order).get("status")))
    if captured is not None:
        return captured
    return ORDER_STATUS.get(str(order.get("status")), PaymentStatus.PENDING)


def next_action_of(order: JSON, status: PaymentStatus) -> NextAction:
    if status is not PaymentStatus.REQUIRES_ACTION:
        return NextAction()
    for rel in APPROVAL_RELS:
        for link in list_of(order.get("links")):
            href = text_of(obj_of(link).get("href"))
            if obj_of(link).get("rel") == rel and href:
                return NextAction(kind=NextActionKind.REDIRECT, redirect_url=href)
    return NextAction()


def failure_reason_of(order: JSON, status: PaymentStatus) -> str | None:
    if status is not PaymentStatus.FAILED:
        return None
    capture = capture_of(order)
    return text_of(path_of(capture, "status_details", "reason")) or text_of(capture.get("status"))


def provider_refund(refund: JSON, requested: Decimal | None, capture: JSON) -> ProviderRefund:
    money = money_of(refund.get("amount")) or money_of(capture.get("amount"))
    amount = money[0] if money else requested
    refund_id = text_of(refund.get("id"))
    if refund_id is None or amount is None:
        raise ProviderUnavailableError(PAYPAL, "PayPal answered a refund without id or amount")
    outcome = REFUND_OUTCOME.get(str(refund.get("status")), RefundOutcome.FAILED)
    return ProviderRefund(reference=refund_id, outcome=outcome, amount=amount, raw=refund)


def refund_status(
    refunded: tuple[Decimal, str] | None, captured: tuple[Decimal, str] | None, capture: JSON
) -> PaymentStatus | None:
    """Totals decide; without them, the capture's own status."""
    if refunded is not None and captured is not None:
        full = refunded[0] >= captured[0]
        return PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    status = CAPTURE_STATUS.get(str(capture.get("status")))
    refund_states = (PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)
    return status if status in refund_states else None


def capture_event(event: JSON, capture: JSON, status: PaymentStatus) -> WebhookEvent:
    money = money_of(capture.get("amount"))
    return WebhookEvent(
        event_id=str(event["id"]),
        kind=str(event["event_type"]),
        payment_reference=related_order_id(capture),
        payment_id=uuid_of(capture.get("custom_id")),
        status=status,
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        raw=event,
    )


def order_event(event: JSON, order: JSON, payment: ProviderPayment) -> WebhookEvent:
    return WebhookEvent(
        event_id=str(event["id"]),
        kind=str(event["event_type"]),
        payment_reference=payment.reference,
        payment_id=uuid_of(unit_of(payment.raw).get("custom_id"))
        or uuid_of(unit_of(order).get("custom_id")),
        status=payment.status,
        amount=payment.amount,
        currency=payment.currency,
        card_last4=payment.card_last4,
        raw=event,
    )


def related_order_id(resource: JSON) -> str | None:
    return text_of(path_of(resource, "supplementary_data", "related_ids", "order_id"))


def capture_id_of(refund: JSON) -> str | None:
    """The capture a refund belongs to, from its HATEOAS link rel "up"."""
    for link in list_of(refund.get("links")):
        href = text_of(obj_of(link).get("href"))
        if obj_of(link).get("rel") == "up" and href and "/captures/" in href:
            return urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def json_object(text: str | bytes) -> JSON | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def obj_of(value: Any) -> JSON:
    return value if isinstance(value, Mapping) else {}


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def first_of(value: Any) -> JSON:
    items = list_of(value)
    return obj_of(items[0]) if items else {}


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def path_of(data: JSON, *keys: str) -> Any:
    current: Any = data
    for key in keys:
        current = obj_of(current).get(key)
    return current


def unit_of(order: JSON) -> JSON:
    return first_of(order.get("purchase_units"))


def capture_of(order: JSON) -> JSON:
    return first_of(path_of(unit_of(order), "payments", "captures"))


def money_of(value: Any) -> tuple[Decimal, str] | None:
    amount, currency = (
        text_of(obj_of(value).get("value")),
        text_of(obj_of(value).get("currency_code")),
    )
    if amount is None or currency is None:
        return None
    try:
        return Decimal(amount), currency
    except InvalidOperation:
        return None


def uuid_of(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
