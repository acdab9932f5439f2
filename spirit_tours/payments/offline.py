"""A payment provider for development and the demo: no credentials, no network.

Starting a payment returns a redirect to this server's own checkout page
(``/payments/offline/{paymentId}``); approving or declining there sends a webhook signed with
``SPIRIT_OFFLINE_PAYMENTS_SECRET`` through the same ``/webhooks/{provider}`` pipeline as the
real providers, so the whole flow can be walked without any account. The router refuses it
outside ``SPIRIT_ENV=development``.

The checkout form carries a CSRF token: a random nonce, its issue time and an HMAC (with a key
derived from the gateway's secret) binding them to the payment; the nonce is also set as a
cookie with the page (signed double submit). A POST approves only with both, so another site
cannot make a payer's browser approve, and nobody approves without loading the page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
    RefundOutcome,
)
from spirit_tours.payments.gateway import (
    InvalidSignatureError,
    NextAction,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
)

SIGNATURE_HEADER = "x-offline-signature"
CSRF_FIELD = "csrf"
CSRF_COOKIE = "offline_checkout"
CSRF_TTL_SECONDS = 3600
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
        self._csrf_key = hmac.new(self._secret, b"offline-checkout-csrf", hashlib.sha256).digest()
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

    def _csrf_digest(self, payment_id: uuid.UUID, issued: str, nonce: str) -> str:
        message = f"{payment_id}.{issued}.{nonce}".encode()
        return hmac.new(self._csrf_key, message, hashlib.sha256).hexdigest()

    def checkout_token(self, payment_id: uuid.UUID) -> tuple[str, str]:
        """A fresh CSRF token for the checkout form of ``payment_id`` and its cookie value."""
        nonce, issued = secrets.token_urlsafe(16), str(int(epoch_seconds()))
        return f"{issued}.{nonce}.{self._csrf_digest(payment_id, issued, nonce)}", nonce

    def valid_checkout_token(self, payment_id: uuid.UUID, token: str, cookie: str) -> bool:
        """The form's token was signed for this payment, recently, with the cookie's nonce."""
        issued, _, rest = token.partition(".")
        nonce, _, digest = rest.partition(".")
        if not _is_timestamp(issued) or not nonce or not _same(nonce, cookie):
            return False
        if abs(epoch_seconds() - int(issued)) > CSRF_TTL_SECONDS:
            return False
        return _same(self._csrf_digest(payment_id, issued, nonce), digest)

    def _digest(self, timestamp: str, body: bytes) -> str:
        return hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers of a genuine offline webhook carrying ``body``."""
        stamp = str(timestamp if timestamp is not None else int(epoch_seconds()))
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
        if not _is_timestamp(stamp) or not _same(self._digest(stamp, body), given):
            raise InvalidSignatureError(self.provider, "The signature does not match.")
        if check_freshness and abs(epoch_seconds() - int(stamp)) > self._tolerance:
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


def _is_timestamp(value: str) -> bool:
    """ASCII digits, a few: ``str.isdigit`` accepts "²", which ``int`` refuses, and ``int``
    refuses more than 4300 digits."""
    return re.fullmatch(r"[0-9]{1,20}", value, re.ASCII) is not None


def _same(expected: str, given: str) -> bool:
    """A constant-time comparison of untrusted text. On bytes: ``hmac.compare_digest`` raises
    TypeError on a str with non-ASCII characters ("surrogatepass" encodes even a lone
    surrogate, which JSON can carry)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
