"""A payment provider for development and the demo: no credentials, no network.

Starting a payment returns a redirect to this server's own checkout page
(``/payments/offline/{paymentId}``); approving or declining there sends a webhook signed with
``SPIRIT_OFFLINE_PAYMENTS_SECRET`` through the same ``/webhooks/{provider}`` pipeline as the
real providers, so the whole flow can be walked without any account. The router refuses it
outside ``SPIRIT_ENV=development``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from spirit_tours.payments.gateway import (
    InvalidSignatureError,
    NextAction,
    NextActionKind,
    PaymentMethod,
    PaymentRequest,
    PaymentStatus,
    Provider,
    ProviderPayment,
    ProviderRefund,
    RefundOutcome,
    WebhookEvent,
)

SIGNATURE_HEADER = "x-offline-signature"
_STATUS = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
}


def checkout_path(payment_id: uuid.UUID) -> str:
    return f"/payments/offline/{payment_id}"


class OfflineGateway:
    provider = Provider.OFFLINE

    def __init__(self, secret: str, public_url: str, *, tolerance_seconds: int = 300) -> None:
        self._secret = secret.encode()
        self._public_url = public_url.rstrip("/")
        self._tolerance = tolerance_seconds

    def supports(self, method: PaymentMethod, currency: str) -> bool:
        return True

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        url = self._public_url + checkout_path(request.payment_id)
        return ProviderPayment(
            reference=f"off_{request.payment_id.hex}",
            status=PaymentStatus.REQUIRES_ACTION,
            next_action=NextAction(NextActionKind.REDIRECT, redirect_url=url),
            amount=request.amount,
            currency=request.currency,
        )

    async def get_payment(self, reference: str) -> ProviderPayment:
        return ProviderPayment(reference=reference, status=PaymentStatus.REQUIRES_ACTION)

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        return ProviderRefund(
            reference=f"offre_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]}",
            outcome=RefundOutcome.SUCCEEDED,
            amount=amount or Decimal(0),
        )

    def _digest(self, timestamp: str, body: bytes) -> str:
        return hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers of a genuine offline webhook carrying ``body``."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        return {SIGNATURE_HEADER: f"t={stamp},v1={self._digest(stamp, body)}"}

    def event_body(
        self, payment_id: uuid.UUID, *, approved: bool, amount: Decimal, currency: str
    ) -> bytes:
        event: dict[str, Any] = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "payment.succeeded" if approved else "payment.failed",
            "payment_id": str(payment_id),
            "payment_reference": f"off_{payment_id.hex}",
            "amount": str(amount),
            "currency": currency,
            "card_last4": "4242" if approved else None,
        }
        return json.dumps(event).encode()

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        parts = dict(
            part.split("=", 1)
            for part in headers.get(SIGNATURE_HEADER, "").split(",")
            if "=" in part
        )
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        if not stamp.isdigit() or not hmac.compare_digest(self._digest(stamp, body), given):
            raise InvalidSignatureError(self.provider, "The signature does not match.")
        if check_freshness and abs(time.time() - int(stamp)) > self._tolerance:
            raise InvalidSignatureError(self.provider, "The signature is too old.")
        try:
            event = json.loads(body)
            payment_id = uuid.UUID(event["payment_id"])
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidSignatureError(self.provider, "The event is malformed.") from error
        return WebhookEvent(
            event_id=str(event.get("id")),
            kind=str(event.get("type")),
            payment_reference=event.get("payment_reference"),
            payment_id=payment_id,
            status=_STATUS.get(str(event.get("type"))),
            amount=Decimal(event["amount"]) if event.get("amount") else None,
            currency=event.get("currency"),
            card_last4=event.get("card_last4"),
            raw=event,
        )
