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
import secrets
import uuid
from collections.abc import Mapping
from decimal import Decimal

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
    RefundOutcome,
)
from spirit_tours.payments.gateway import (
    NextAction,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
)
from spirit_tours.payments.offline import webhook
from spirit_tours.payments.offline.webhook import is_timestamp, same_text

CSRF_FIELD = "csrf"
CSRF_COOKIE = "offline_checkout"
CSRF_TTL_SECONDS = 3600


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
        if not is_timestamp(issued) or not nonce or not same_text(nonce, cookie):
            return False
        if abs(epoch_seconds() - int(issued)) > CSRF_TTL_SECONDS:
            return False
        return same_text(self._csrf_digest(payment_id, issued, nonce), digest)

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers of a genuine offline webhook carrying ``body``."""
        return webhook.sign(self._secret, body, timestamp=timestamp)

    def event_body(
        self, payment_id: uuid.UUID, *, approved: bool, amount: Decimal, currency: str
    ) -> bytes:
        return webhook.event_body(payment_id, approved=approved, amount=amount, currency=currency)

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        tolerance = self._tolerance if check_freshness else None
        return webhook.parse_webhook(self._secret, body, headers, tolerance_seconds=tolerance)
