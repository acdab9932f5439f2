"""MercadoPago's payments in ours: statuses (an unknown one stays pending), PIX and boleto next
actions, amounts through str, our id from ``external_reference``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from spirit_tours.core.enums import NextActionKind, PaymentStatus, Provider, RefundOutcome
from spirit_tours.payments.gateway import (
    NextAction,
    ProviderPayment,
    ProviderUnavailableError,
    WebhookEvent,
)

PROVIDER = Provider.MERCADOPAGO

PAYMENT_STATUSES: dict[str, PaymentStatus] = {
    "approved": PaymentStatus.SUCCEEDED,
    "pending": PaymentStatus.PENDING,
    "in_process": PaymentStatus.PENDING,
    "authorized": PaymentStatus.PENDING,
    "in_mediation": PaymentStatus.PENDING,
    "rejected": PaymentStatus.FAILED,
    "cancelled": PaymentStatus.CANCELLED,
    "refunded": PaymentStatus.REFUNDED,
    "charged_back": PaymentStatus.REFUNDED,
}


REFUND_OUTCOMES: dict[str, RefundOutcome] = {
    "approved": RefundOutcome.SUCCEEDED,
    "in_process": RefundOutcome.PENDING,
    "pending": RefundOutcome.PENDING,
    "authorized": RefundOutcome.PENDING,
    "rejected": RefundOutcome.FAILED,
    "cancelled": RefundOutcome.FAILED,
}


def required(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None or value == "":
        raise ProviderUnavailableError(PROVIDER, f"the response lacks {key}")
    return str(value)


def provider_payment(payment: dict[str, Any], *, awaiting_payer: bool = False) -> ProviderPayment:
    """``awaiting_payer``: a just-created PIX or boleto waits for the payer, not for MercadoPago."""
    status = status_of(payment)
    next_action = next_action_of(payment) if status is PaymentStatus.PENDING else NextAction()
    if awaiting_payer and next_action.kind is not NextActionKind.NONE:
        status = PaymentStatus.REQUIRES_ACTION
    failed = status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED)
    return ProviderPayment(
        reference=required(payment, "id"),
        status=status,
        next_action=next_action,
        amount=decimal_of(payment.get("transaction_amount")),
        currency=optional_str(payment.get("currency_id")),
        card_last4=card_last4(payment),
        failure_reason=optional_str(payment.get("status_detail")) if failed else None,
        raw=payment,
    )


def awaiting_checkout(preference: dict[str, Any]) -> ProviderPayment:
    return ProviderPayment(
        reference=required(preference, "id"),
        status=PaymentStatus.REQUIRES_ACTION,
        next_action=NextAction(
            kind=NextActionKind.REDIRECT, redirect_url=optional_str(preference.get("init_point"))
        ),
        raw=preference,
    )


def status_of(payment: Mapping[str, Any]) -> PaymentStatus:
    """Unknown statuses count as pending: they must not end a payment."""
    status = str(payment.get("status") or "")
    if status == "approved" and payment.get("status_detail") == "partially_refunded":
        return PaymentStatus.PARTIALLY_REFUNDED
    return PAYMENT_STATUSES.get(status, PaymentStatus.PENDING)


def next_action_of(payment: Mapping[str, Any]) -> NextAction:
    """PIX answers with a QR code, boleto with a voucher to print; both expire."""
    expires_at = datetime_of(payment.get("date_of_expiration"))
    pix = as_mapping(as_mapping(payment.get("point_of_interaction")).get("transaction_data"))
    if pix.get("qr_code"):
        return NextAction(
            kind=NextActionKind.QR_CODE,
            qr_code=str(pix["qr_code"]),
            qr_code_image=optional_str(pix.get("qr_code_base64")),
            expires_at=expires_at,
        )
    voucher_url = as_mapping(payment.get("transaction_details")).get("external_resource_url")
    if voucher_url:
        return NextAction(
            kind=NextActionKind.VOUCHER, voucher_url=str(voucher_url), expires_at=expires_at
        )
    return NextAction()


def payment_event(event_id: str, kind: str, payment: dict[str, Any]) -> WebhookEvent:
    refunded = decimal_of(payment.get("transaction_amount_refunded"))
    return WebhookEvent(
        event_id=event_id,
        kind=kind,
        payment_reference=required(payment, "id"),
        payment_id=uuid_of(payment.get("external_reference")),
        status=status_of(payment),
        amount=decimal_of(payment.get("transaction_amount")),
        currency=optional_str(payment.get("currency_id")),
        card_last4=card_last4(payment),
        refunded_amount=refunded if refunded is not None and refunded > 0 else None,
        raw=payment,
    )


def card_last4(payment: Mapping[str, Any]) -> str | None:
    return optional_str(as_mapping(payment.get("card")).get("last_four_digits"))


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def decimal_of(value: Any) -> Decimal | None:
    """Through str, so 899.9 stays 899.9 rather than the float's binary expansion."""
    if value is None or isinstance(value, bool):
        return None
    return Decimal(str(value))


def datetime_of(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def uuid_of(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
