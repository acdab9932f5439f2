"""PayPal adapter: Orders v2 through PayPal's official ``paypal-server-sdk``.

Flow: :meth:`PayPalGateway.create_payment` creates an order (intent CAPTURE) and sends the payer
to PayPal's approval page. When the payer approves, PayPal notifies CHECKOUT.ORDER.APPROVED and
:meth:`PayPalGateway.parse_webhook` captures the order, under a PayPal-Request-Id derived from
the order id so that a repeated notification never charges twice. Our payment reference is the
PayPal order id; the capture id is looked up from the order when refunding.

The SDK is synchronous (requests), so every call runs in a worker thread. Webhooks are verified
offline with PayPal's self-verification scheme (RSA-SHA256 over the transmission id, time,
webhook id and CRC32 of the body) against the certificate PayPal points to. That certificate
is fetched only over https from PayPal's API hosts of the configured environment at the path
PayPal documents (``/v1/notifications/certs/<id>``), and trusted only when it is currently
valid, names PayPal's message verification host (``messageverificationcerts[.sandbox].paypal.com``)
and chains, through the intermediates served with it, to a trusted root: certifi's public
roots, or the store given to the gateway (``SPIRIT_PAYPAL_TRUST_STORE``; the tests use their
own CA). Verified certificates are cached per URL (a few).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import re
import uuid
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx
import requests
from apimatic_core.exceptions.auth_validation_exception import (  # type: ignore[import-untyped]
    AuthValidationException,
)
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from paypalserversdk.configuration import Environment
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

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
    ProviderRejectedError,
    ProviderUnavailableError,
    RefundOutcome,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

JSON = Mapping[str, Any]
PAYPAL = Provider.PAYPAL

# PayPal's REST currency codes (RUB withdrawn). BRL, CNY and MYR need an in-country account.
_DECIMALS: dict[str, int] = {
    **dict.fromkeys(("HUF", "JPY", "TWD"), 0),
    **dict.fromkeys(
        (
            "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "ILS", "MXN",
            "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "USD",
        ),
        2,
    ),
}  # fmt: skip
_METHODS = frozenset({PaymentMethod.PAYPAL, PaymentMethod.CARD})
_PREFER = "return=representation"
_DESCRIPTION_MAX = 127  # purchase_units[].description

_ORDER_STATUS: dict[str, PaymentStatus] = {
    "CREATED": PaymentStatus.REQUIRES_ACTION,
    "SAVED": PaymentStatus.REQUIRES_ACTION,
    "PAYER_ACTION_REQUIRED": PaymentStatus.REQUIRES_ACTION,
    "APPROVED": PaymentStatus.PENDING,
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "VOIDED": PaymentStatus.CANCELLED,
}
_CAPTURE_STATUS: dict[str, PaymentStatus] = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PENDING,
    "DECLINED": PaymentStatus.FAILED,
    "FAILED": PaymentStatus.FAILED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "PARTIALLY_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
}
_CAPTURE_EVENTS: dict[str, PaymentStatus] = {
    "PAYMENT.CAPTURE.COMPLETED": PaymentStatus.SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": PaymentStatus.PENDING,
    "PAYMENT.CAPTURE.DENIED": PaymentStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": PaymentStatus.FAILED,
}
_ORDER_EVENTS = frozenset({"CHECKOUT.ORDER.COMPLETED", "CHECKOUT.ORDER.VOIDED"})
_REFUND_OUTCOME: dict[str, RefundOutcome] = {
    "COMPLETED": RefundOutcome.SUCCEEDED,
    "PENDING": RefundOutcome.PENDING,
}
_REFUNDABLE_CAPTURES = frozenset({"COMPLETED", "PARTIALLY_REFUNDED"})
_APPROVAL_RELS = ("payer-action", "approve")

_SIGNATURE_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
_SIGNATURE_ALGORITHM = "SHA256withRSA"
# Where PayPal serves its webhook certificates, and the name they carry, per environment.
_CERT_HOSTS = {
    True: frozenset({"api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}),
    False: frozenset({"api.paypal.com", "api-m.paypal.com"}),
}
_CERT_NAMES = {
    True: "messageverificationcerts.sandbox.paypal.com",
    False: "messageverificationcerts.paypal.com",
}
_CERT_PATH = re.compile(r"/v1/notifications/certs/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_CERT_CACHE_SIZE = 16


_PEM_END = b"-----END CERTIFICATE-----"


@functools.cache
def _public_roots() -> tuple[x509.Certificate, ...]:
    """certifi's root certificates (Mozilla's), loaded once per process. One at a time: a
    bundle root cryptography finds irregular (an old negative serial) is skipped, not fatal."""
    roots = []
    for block in Path(certifi.where()).read_bytes().split(_PEM_END)[:-1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                roots.append(x509.load_pem_x509_certificate(block + _PEM_END))
            except ValueError:
                logger.warning("skipped an unreadable root certificate of certifi's bundle")
    return tuple(roots)


def load_trust_roots(path: str) -> list[x509.Certificate]:
    """The root certificates of a PEM file (``SPIRIT_PAYPAL_TRUST_STORE``)."""
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


class PayPalRejectedError(ProviderRejectedError):
    """A 4xx from PayPal, keeping its fine-grained issue codes so callers can tell
    ORDER_ALREADY_CAPTURED (harmless) from INSTRUMENT_DECLINED (the payment failed)."""

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        super().__init__(PAYPAL, message)
        self.issues = issues


@dataclass(frozen=True)
class _Transmission:
    """The signature headers of one webhook delivery."""

    id: str
    time: str
    signature: str
    cert_url: str
    algorithm: str


class PayPalGateway:
    """PaymentGateway for PayPal Checkout (Orders v2)."""

    provider: Provider = PAYPAL

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        *,
        sandbox: bool = True,
        timeout_seconds: float = 10.0,
        webhook_tolerance_seconds: int = 300,
        http: httpx.AsyncClient | None = None,
        trust_roots: Sequence[x509.Certificate] | None = None,
    ) -> None:
        """``trust_roots``: the roots PayPal's certificates must chain to (default: certifi's
        public roots)."""
        self._webhook_id = webhook_id
        self._sandbox = sandbox
        self._trust_roots = tuple(trust_roots) if trust_roots is not None else None
        self._store: Store | None = None
        self._timeout = timeout_seconds
        self._tolerance = timedelta(seconds=webhook_tolerance_seconds)
        self._http = http
        self._owns_http = http is None
        self._certificates: dict[str, tuple[x509.Certificate, list[x509.Certificate]]] = {}
        self._client = PaypalServersdkClient(
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id,
                o_auth_client_secret=client_secret,
                o_auth_token_provider=_fetch_token,
            ),
            environment=Environment.SANDBOX if sandbox else Environment.PRODUCTION,
            timeout=timeout_seconds,
            max_retries=0,  # failing over to another provider beats retrying here
        )

    async def aclose(self) -> None:
        """Close the certificate HTTP client, if this gateway created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def supports(self, method: PaymentMethod, currency: str) -> bool:
        return method in _METHODS and currency.upper() in _DECIMALS

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        if not self.supports(request.method, request.currency):
            raise PayPalRejectedError(f"{request.method} in {request.currency} is not supported")
        options = {
            "body": _order_request(request),
            "paypal_request_id": request.idempotency_key,
            "prefer": _PREFER,
        }
        payment = _order_payment(await self._call(self._client.orders.create_order, options))
        if payment.status is PaymentStatus.REQUIRES_ACTION and not payment.next_action.redirect_url:
            raise ProviderUnavailableError(
                PAYPAL, f"order {payment.reference} has no approval link"
            )
        return payment

    async def get_payment(self, reference: str) -> ProviderPayment:
        return _order_payment(await self._get_order(reference))

    async def capture(self, reference: str) -> ProviderPayment:
        """Capture an approved order. The PayPal-Request-Id is fixed per order, so repeating
        this (a redelivered webhook, a reconciliation job) never charges twice."""
        options = {
            "id": reference,
            "paypal_request_id": f"capture-{reference}",
            "prefer": _PREFER,
        }
        try:
            order = await self._call(self._client.orders.capture_order, options)
        except PayPalRejectedError as error:
            if "ORDER_ALREADY_CAPTURED" not in error.issues:
                raise
            order = await self._get_order(reference)  # captured earlier: report what it became
        return _order_payment(order)

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        """Refund the order's capture; PayPal-Request-Id makes a retried refund harmless."""
        capture = _refundable_capture(await self._get_order(reference), reference)
        options = {
            "capture_id": capture["id"],
            "body": _refund_request(amount, currency, capture),
            "paypal_request_id": idempotency_key,
            "prefer": _PREFER,
        }
        refund = await self._call(self._client.payments.refund_captured_payment, options)
        return _provider_refund(refund, amount, capture)

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        await self._verify(body, headers, check_freshness=check_freshness)
        event = _json_object(body)
        if event is None or not _text(event.get("id")) or not _text(event.get("event_type")):
            raise InvalidSignatureError(PAYPAL, "the notification is not a PayPal event")
        return await self._decode(event)

    # --- PayPal API ---------------------------------------------------------------------

    async def _call(
        self, operation: Callable[[dict[str, Any]], Any], options: dict[str, Any]
    ) -> JSON:
        """Run one SDK call in a worker thread; return PayPal's JSON, or raise our errors."""
        try:
            response = await asyncio.to_thread(operation, options)
        except ApiException as error:
            raise _api_error(error) from error
        except AuthValidationException as error:
            raise ProviderUnavailableError(PAYPAL, f"no usable OAuth token: {error}") from error
        except requests.RequestException as error:  # timeouts and connection failures
            raise ProviderUnavailableError(PAYPAL, f"{type(error).__name__}: {error}") from error
        body = _json_object(response.text)
        if body is None:
            raise ProviderUnavailableError(PAYPAL, "PayPal answered without a JSON object")
        return body

    async def _get_order(self, order_id: str) -> JSON:
        return await self._call(self._client.orders.get_order, {"id": order_id})

    async def _get_capture(self, capture_id: str) -> JSON:
        options = {"capture_id": capture_id}
        return await self._call(self._client.payments.get_captured_payment, options)

    # --- Webhooks -----------------------------------------------------------------------

    async def _verify(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool
    ) -> None:
        """PayPal's self-verification: no API round trip, only the (cached) certificate."""
        transmission = _transmission(headers)
        if transmission.algorithm.lower() != _SIGNATURE_ALGORITHM.lower():
            raise InvalidSignatureError(PAYPAL, f"unexpected algorithm {transmission.algorithm}")
        _check_cert_url(transmission.cert_url, sandbox=self._sandbox)
        sent_at = _transmission_time(transmission.time)
        if check_freshness and abs(datetime.now(UTC) - sent_at) > self._tolerance:
            raise InvalidSignatureError(PAYPAL, f"stale notification sent at {transmission.time}")
        certificate = await self._certificate(transmission.cert_url)
        message = f"{transmission.id}|{transmission.time}|{self._webhook_id}|{zlib.crc32(body)}"
        _check_signature(certificate, transmission.signature, message.encode())

    @property
    def cached_certificates(self) -> int:
        return len(self._certificates)

    async def _certificate(self, url: str) -> x509.Certificate:
        """PayPal's signing certificate, downloaded once per URL and verified at each use."""
        cached = self._certificates.get(url)
        if cached is None:
            try:
                leaf, *intermediates = x509.load_pem_x509_certificates(await self._download(url))
            except ValueError as error:
                raise InvalidSignatureError(PAYPAL, "the certificate is not PEM") from error
        else:
            leaf, intermediates = cached
        self._check_certificate(leaf, intermediates)
        if cached is None:
            if len(self._certificates) >= _CERT_CACHE_SIZE:
                self._certificates.pop(next(iter(self._certificates)))
            self._certificates[url] = (leaf, intermediates)
        return leaf

    def _check_certificate(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate]
    ) -> None:
        """Currently valid, PayPal's message verification name, chained to a trusted root."""
        _check_validity(leaf)
        name = _CERT_NAMES[self._sandbox]
        common_names = [
            str(attribute.value)
            for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
        if any(common_name != name for common_name in common_names):
            raise InvalidSignatureError(
                PAYPAL, f"the certificate is not PayPal's: it names {', '.join(common_names)}"
            )
        if self._store is None:
            self._store = Store(list(self._trust_roots or _public_roots()))
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(datetime.now(UTC))
            .build_server_verifier(x509.DNSName(name))
        )
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as error:
            raise InvalidSignatureError(
                PAYPAL, f"the certificate is not issued by a trusted authority to {name}: {error}"
            ) from error

    async def _download(self, url: str) -> bytes:
        try:
            response = await self._http_client().get(url)
        except httpx.HTTPError as error:
            raise ProviderUnavailableError(PAYPAL, f"certificate download: {error!r}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailableError(PAYPAL, f"certificate download: {response.status_code}")
        if response.status_code != 200:
            raise InvalidSignatureError(PAYPAL, f"certificate download: {response.status_code}")
        return response.content

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._http

    async def _decode(self, event: JSON) -> WebhookEvent:
        """Reduce a verified event to what moves our state; capture approved orders."""
        kind = str(event["event_type"])
        resource = _obj(event.get("resource"))
        if kind == "CHECKOUT.ORDER.APPROVED":
            return await self._approved(event, resource)
        if kind in _CAPTURE_EVENTS:
            return _capture_event(event, resource, _CAPTURE_EVENTS[kind])
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return await self._refunded(event, resource)
        if kind in _ORDER_EVENTS and _text(resource.get("id")):
            return _order_event(event, resource, _order_payment(resource))
        return WebhookEvent(event_id=str(event["id"]), kind=kind, raw=event)

    async def _approved(self, event: JSON, order: JSON) -> WebhookEvent:
        """The payer approved: capture now. A refused capture (instrument declined…) fails
        the payment; an unavailable PayPal propagates so the webhook is delivered again."""
        order_id = _text(order.get("id"))
        if order_id is None:
            return WebhookEvent(event_id=str(event["id"]), kind=str(event["event_type"]), raw=event)
        try:
            payment = await self.capture(order_id)
        except ProviderRejectedError as error:
            logger.warning("PayPal refused to capture order %s: %s", order_id, error.message)
            failed = ProviderPayment(reference=order_id, status=PaymentStatus.FAILED)
            return _order_event(event, order, failed)
        return _order_event(event, order, payment)

    async def _refunded(self, event: JSON, refund: JSON) -> WebhookEvent:
        """A refund resource names only its capture: fetch it for the order and our id."""
        capture_id = _capture_id_of(refund)
        capture = await self._get_capture(capture_id) if capture_id else {}
        refunded = _money(_path(refund, "seller_payable_breakdown", "total_refunded_amount"))
        refunded = refunded or _money(refund.get("amount"))
        captured = _money(capture.get("amount"))
        return WebhookEvent(
            event_id=str(event["id"]),
            kind=str(event["event_type"]),
            payment_reference=_related_order_id(capture) or _related_order_id(refund),
            payment_id=_uuid(capture.get("custom_id")) or _uuid(refund.get("custom_id")),
            status=_refund_status(refunded, captured, capture),
            amount=captured[0] if captured else None,
            currency=(captured or refunded or (None, None))[1],
            refunded_amount=refunded[0] if refunded else None,
            raw=event,
        )


# --- OAuth and errors ---------------------------------------------------------------------


def _fetch_token(_last_token: Any, auth_manager: Any) -> Any:
    """Token provider: unlike the SDK's default it lets a failed token request raise, so a
    500 or a timeout on /v1/oauth2/token is reported as such instead of 'no token'."""
    return auth_manager.fetch_token()


def _api_error(error: Any) -> ProviderUnavailableError | PayPalRejectedError:
    """5xx, 408 and 429 may pass (try elsewhere); any other 4xx is PayPal saying no."""
    status = int(error.response_code)
    body = _json_object(getattr(error.response, "text", None) or "") or {}
    issues = tuple(
        issue
        for detail in _list(body.get("details"))
        if (issue := _text(_obj(detail).get("issue")))
    )
    message = f"HTTP {status} {_error_summary(body, issues) or error.reason}"
    if status >= 500 or status in (408, 429):
        return ProviderUnavailableError(PAYPAL, message)
    return PayPalRejectedError(message, issues)


def _error_summary(body: JSON, issues: tuple[str, ...]) -> str:
    """'NAME [ISSUE]: description' from an Orders/Payments error or an OAuth error."""
    name = _text(body.get("name")) or _text(body.get("error")) or ""
    description = _text(_obj(_first(body.get("details"))).get("description"))
    text = description or _text(body.get("message")) or _text(body.get("error_description"))
    label = f"{name} [{', '.join(issues)}]" if issues else name
    return ": ".join(part for part in (label, text) if part)


# --- Requests -----------------------------------------------------------------------------


def _format_amount(amount: Decimal, currency: str) -> str:
    """PayPal's amount string; refuses rather than rounds an amount it cannot represent."""
    places = _DECIMALS.get(currency.upper())
    if places is None:
        raise PayPalRejectedError(f"PayPal does not take {currency}")
    exponent = Decimal(1).scaleb(-places)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(exponent):
        raise PayPalRejectedError(f"{amount} is not a {currency} amount PayPal takes")
    return f"{amount.quantize(exponent):f}"


def _order_request(request: PaymentRequest) -> Any:
    currency = request.currency.upper()
    unit = PurchaseUnitRequest(
        amount=AmountWithBreakdown(
            currency_code=currency, value=_format_amount(request.amount, currency)
        ),
        custom_id=str(request.payment_id),
        description=request.description[:_DESCRIPTION_MAX],
    )
    experience = PaypalWalletExperienceContext(
        return_url=request.return_url,
        cancel_url=request.return_url,
        shipping_preference="NO_SHIPPING",  # tours ship nothing
        user_action="PAY_NOW",  # we capture as soon as the payer approves
        landing_page="GUEST_CHECKOUT" if request.method is PaymentMethod.CARD else "NO_PREFERENCE",
    )
    wallet = PaypalWallet(email_address=request.payer.email, experience_context=experience)
    return OrderRequest(
        intent=CheckoutPaymentIntent.CAPTURE,
        purchase_units=[unit],
        payment_source=PaymentSource(paypal=wallet),
    )


def _refund_request(amount: Decimal | None, currency: str, capture: JSON) -> Any:
    """An empty body refunds the whole capture; a partial refund must be in its currency."""
    if amount is None:
        return RefundRequest()
    captured = _money(capture.get("amount"))
    if captured is not None and captured[1] != currency.upper():
        raise PayPalRejectedError(f"the capture is in {captured[1]}, not {currency}")
    return RefundRequest(
        amount=Money(currency_code=currency.upper(), value=_format_amount(amount, currency))
    )


# --- Responses ----------------------------------------------------------------------------


def _order_payment(order: JSON) -> ProviderPayment:
    order_id = _text(order.get("id"))
    if order_id is None:
        raise ProviderUnavailableError(PAYPAL, "PayPal answered without an order id")
    status = _order_status(order)
    money = _money(_capture_of(order).get("amount")) or _money(_unit(order).get("amount"))
    return ProviderPayment(
        reference=order_id,
        status=status,
        next_action=_next_action(order, status),
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        card_last4=_text(_path(order, "payment_source", "card", "last_digits")),
        failure_reason=_failure_reason(order, status),
        raw=order,
    )


def _order_status(order: JSON) -> PaymentStatus:
    """The capture, once there is one, says more than the order (refunds, declines)."""
    captured = _CAPTURE_STATUS.get(str(_capture_of(order).get("status")))
    if captured is not None:
        return captured
    return _ORDER_STATUS.get(str(order.get("status")), PaymentStatus.PENDING)


def _next_action(order: JSON, status: PaymentStatus) -> NextAction:
    if status is not PaymentStatus.REQUIRES_ACTION:
        return NextAction()
    for rel in _APPROVAL_RELS:
        for link in _list(order.get("links")):
            href = _text(_obj(link).get("href"))
            if _obj(link).get("rel") == rel and href:
                return NextAction(kind=NextActionKind.REDIRECT, redirect_url=href)
    return NextAction()


def _failure_reason(order: JSON, status: PaymentStatus) -> str | None:
    if status is not PaymentStatus.FAILED:
        return None
    capture = _capture_of(order)
    return _text(_path(capture, "status_details", "reason")) or _text(capture.get("status"))


def _refundable_capture(order: JSON, order_id: str) -> JSON:
    capture = _capture_of(order)
    if not _text(capture.get("id")) or capture.get("status") not in _REFUNDABLE_CAPTURES:
        raise PayPalRejectedError(f"order {order_id} has no capture to refund")
    return capture


def _provider_refund(refund: JSON, requested: Decimal | None, capture: JSON) -> ProviderRefund:
    money = _money(refund.get("amount")) or _money(capture.get("amount"))
    amount = money[0] if money else requested
    refund_id = _text(refund.get("id"))
    if refund_id is None or amount is None:
        raise ProviderUnavailableError(PAYPAL, "PayPal answered a refund without id or amount")
    outcome = _REFUND_OUTCOME.get(str(refund.get("status")), RefundOutcome.FAILED)
    return ProviderRefund(reference=refund_id, outcome=outcome, amount=amount, raw=refund)


def _refund_status(
    refunded: tuple[Decimal, str] | None, captured: tuple[Decimal, str] | None, capture: JSON
) -> PaymentStatus | None:
    """Totals decide; without them, the capture's own status."""
    if refunded is not None and captured is not None:
        full = refunded[0] >= captured[0]
        return PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    status = _CAPTURE_STATUS.get(str(capture.get("status")))
    refund_states = (PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)
    return status if status in refund_states else None


def _capture_event(event: JSON, capture: JSON, status: PaymentStatus) -> WebhookEvent:
    money = _money(capture.get("amount"))
    return WebhookEvent(
        event_id=str(event["id"]),
        kind=str(event["event_type"]),
        payment_reference=_related_order_id(capture),
        payment_id=_uuid(capture.get("custom_id")),
        status=status,
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        raw=event,
    )


def _order_event(event: JSON, order: JSON, payment: ProviderPayment) -> WebhookEvent:
    return WebhookEvent(
        event_id=str(event["id"]),
        kind=str(event["event_type"]),
        payment_reference=payment.reference,
        payment_id=_uuid(_unit(payment.raw).get("custom_id"))
        or _uuid(_unit(order).get("custom_id")),
        status=payment.status,
        amount=payment.amount,
        currency=payment.currency,
        card_last4=payment.card_last4,
        raw=event,
    )


def _related_order_id(resource: JSON) -> str | None:
    return _text(_path(resource, "supplementary_data", "related_ids", "order_id"))


def _capture_id_of(refund: JSON) -> str | None:
    """The capture a refund belongs to, from its HATEOAS link rel "up"."""
    for link in _list(refund.get("links")):
        href = _text(_obj(link).get("href"))
        if _obj(link).get("rel") == "up" and href and "/captures/" in href:
            return urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1] or None
    return None


# --- Webhook signature --------------------------------------------------------------------


def _transmission(headers: Mapping[str, str]) -> _Transmission:
    values = [(headers.get(name) or "").strip() for name in _SIGNATURE_HEADERS]
    missing = [name for name, value in zip(_SIGNATURE_HEADERS, values, strict=True) if not value]
    if missing:
        raise InvalidSignatureError(PAYPAL, f"missing {', '.join(missing)}")
    return _Transmission(*values)


def _check_cert_url(url: str, *, sandbox: bool) -> None:
    """Only ever fetch a certificate over https from PayPal's API hosts of this environment,
    at the path PayPal documents for webhook certificates."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidSignatureError(PAYPAL, "malformed certificate URL") from error
    trusted = (
        parts.scheme == "https"
        and (parts.hostname or "").lower() in _CERT_HOSTS[sandbox]
        and port in (None, 443)
        and not parts.username
        and not parts.password
        and _CERT_PATH.fullmatch(parts.path) is not None
        and not parts.query
        and not parts.fragment
    )
    if not trusted:
        raise InvalidSignatureError(PAYPAL, f"untrusted certificate URL {url!r}")


def _transmission_time(value: str) -> datetime:
    try:
        sent_at = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidSignatureError(PAYPAL, f"bad transmission time {value!r}") from error
    return sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)


def _check_validity(certificate: x509.Certificate) -> None:
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise InvalidSignatureError(PAYPAL, "the signing certificate is not currently valid")


def _check_signature(certificate: x509.Certificate, signature: str, message: bytes) -> None:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignatureError(PAYPAL, "the signing certificate has no RSA key")
    try:
        key.verify(
            base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (ValueError, InvalidSignature) as error:
        raise InvalidSignatureError(PAYPAL, "the signature does not verify") from error


# --- JSON helpers -------------------------------------------------------------------------


def _json_object(text: str | bytes) -> JSON | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _obj(value: Any) -> JSON:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first(value: Any) -> JSON:
    items = _list(value)
    return _obj(items[0]) if items else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _path(data: JSON, *keys: str) -> Any:
    current: Any = data
    for key in keys:
        current = _obj(current).get(key)
    return current


def _unit(order: JSON) -> JSON:
    return _first(order.get("purchase_units"))


def _capture_of(order: JSON) -> JSON:
    return _first(_path(_unit(order), "payments", "captures"))


def _money(value: Any) -> tuple[Decimal, str] | None:
    amount, currency = _text(_obj(value).get("value")), _text(_obj(value).get("currency_code"))
    if amount is None or currency is None:
        return None
    try:
        return Decimal(amount), currency
    except InvalidOperation:
        return None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
