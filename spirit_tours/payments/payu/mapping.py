"""PayU's answers in our values: transaction and confirmation states, refunds, amounts
(always Decimal, never through float), vouchers and bank redirects, our id from
``reference_sale``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from spirit_tours.core.enums import NextActionKind, PaymentStatus, RefundOutcome
from spirit_tours.payments.gateway import NextAction, ProviderPayment, ProviderRefund, WebhookEvent

Json = dict[str, Any]


TRANSACTION_STATUS = {
    "APPROVED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PENDING,
    "DECLINED": PaymentStatus.FAILED,
    "ERROR": PaymentStatus.FAILED,
    "EXPIRED": PaymentStatus.CANCELLED,
    "REFUNDED": PaymentStatus.REFUNDED,
}
CONFIRMATION_STATUS = {
    "4": PaymentStatus.SUCCEEDED,
    "6": PaymentStatus.FAILED,
    "104": PaymentStatus.FAILED,
    "5": PaymentStatus.CANCELLED,
    "7": PaymentStatus.PENDING,
}
REFUND_OUTCOME = {"PENDING": RefundOutcome.PENDING, "APPROVED": RefundOutcome.SUCCEEDED}
REFUND_TYPES = frozenset({"REFUND", "PARTIAL_REFUND"})


CENT = Decimal("0.01")


def object_of(container: Json, key: str) -> Json:
    """A nested JSON object, or {} where PayU sent null or nothing."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def response_detail(response: Json) -> str:
    parts = (
        response.get("responseCode"),
        response.get("paymentNetworkResponseErrorMessage"),
        response.get("responseMessage"),
    )
    return " - ".join(str(part) for part in parts if part) or "no detail"


def next_action_of(extra: Json) -> NextAction:
    """PSE answers with the bank's URL; cash with the voucher and its expiry."""
    if bank_url := extra.get("BANK_URL"):
        return NextAction(kind=NextActionKind.REDIRECT, redirect_url=str(bank_url))
    if voucher := extra.get("URL_PAYMENT_RECEIPT_HTML"):
        return NextAction(
            kind=NextActionKind.VOUCHER,
            voucher_url=str(voucher),
            expires_at=expires_at_of(extra.get("EXPIRATION_DATE")),
        )
    return NextAction()


def expires_at_of(value: object) -> datetime | None:
    """EXPIRATION_DATE: epoch milliseconds in JSON answers; an ISO date with an offset is read
    too. A date without a zone is dropped rather than guessed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal) or (isinstance(value, str) and value.isdigit()):
        seconds, millis = divmod(int(value), 1000)
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(milliseconds=millis)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def decimal_of(value: object) -> Decimal | None:
    """An amount from PayU's JSON (parsed with Decimal for floats), never through float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return None


def tx_amount(container: Json) -> tuple[Decimal | None, str | None]:
    tx = object_of(object_of(container, "additionalValues"), "TX_VALUE")
    currency = tx.get("currency")
    return decimal_of(tx.get("value")), str(currency) if currency else None


def order_payment(reference: str, order: Json, transaction_id: str) -> ProviderPayment:
    """Our payment as an ORDER_DETAIL shows it: its transaction's state, unless refunds moved
    the order on (an order PayU marks REFUNDED, or an approved partial refund)."""
    transactions = [tx for tx in order.get("transactions") or [] if isinstance(tx, dict)]
    payment_tx = payment_transaction_of(transactions, transaction_id)
    response = object_of(payment_tx, "transactionResponse")
    status = TRANSACTION_STATUS.get(str(response.get("state")), PaymentStatus.PENDING)
    if order.get("status") == "REFUNDED":
        status = PaymentStatus.REFUNDED
    elif any(approved_refund(tx) for tx in transactions):
        status = PaymentStatus.PARTIALLY_REFUNDED
    amount, currency = tx_amount(order)
    return ProviderPayment(
        reference=reference,
        status=status,
        amount=amount,
        currency=currency,
        card_last4=card_last4(object_of(payment_tx, "creditCard").get("maskedNumber")),
        failure_reason=response_detail(response) if status is PaymentStatus.FAILED else None,
        raw=order,
    )


def payment_transaction_of(transactions: list[Json], transaction_id: str) -> Json:
    """The order's transaction we created, else its latest payment attempt."""
    for tx in transactions:
        if tx.get("id") == transaction_id:
            return tx
    attempts = [tx for tx in transactions if tx.get("type") not in REFUND_TYPES]
    return attempts[-1] if attempts else {}


def approved_refund(tx: Json) -> bool:
    state = object_of(tx, "transactionResponse").get("state")
    return tx.get("type") in REFUND_TYPES and state == "APPROVED"


def transaction_payment(transaction_id: str, response: Json, answer: Json) -> ProviderPayment:
    status = TRANSACTION_STATUS.get(str(response.get("state")), PaymentStatus.PENDING)
    return ProviderPayment(
        reference=transaction_id,
        status=status,
        failure_reason=response_detail(response) if status is PaymentStatus.FAILED else None,
        raw=answer,
    )


def refund_result(response: Json, amount: Decimal, answer: Json) -> ProviderRefund:
    """PayU may answer a refund under review without a transaction id: the order id stands in."""
    order_id, transaction_id = response.get("orderId"), response.get("transactionId")
    reference = f"{order_id}:{transaction_id}" if transaction_id else str(order_id)
    outcome = REFUND_OUTCOME.get(str(response.get("state")), RefundOutcome.FAILED)
    return ProviderRefund(reference=reference, outcome=outcome, amount=amount, raw=answer)


def card_last4(masked: object) -> str | None:
    """The last four digits of a masked card number (************0004), when there are four."""
    if isinstance(masked, str) and len(masked) >= 4 and masked[-4:].isdigit():
        return masked[-4:]
    return None


def confirmation_event(fields: Mapping[str, str]) -> WebhookEvent:
    """A verified confirmation. ``reference_pol`` is PayU's order id, so the payment reference
    matches what ``create_payment`` returned for the same transaction."""
    state, transaction_id = fields["state_pol"], fields["transaction_id"]
    order_id = fields.get("reference_pol")
    return WebhookEvent(
        event_id=f"{transaction_id}:{state}",
        kind=f"confirmation:{state}",
        payment_reference=f"{order_id}:{transaction_id}" if order_id else None,
        payment_id=uuid_of(fields["reference_sale"]),
        status=CONFIRMATION_STATUS.get(state),
        amount=Decimal(fields["value"]),
        currency=fields["currency"],
        card_last4=card_last4(fields.get("cc_number")),
        raw=dict(fields),
    )


def uuid_of(value: str) -> uuid.UUID | None:
    """Our payment id, when the sale is one of ours (reference_sale is our referenceCode)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
