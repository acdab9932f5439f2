"""PayPal adapter: Orders v2 through PayPal's official ``paypal-server-sdk``.

Flow: :meth:`PayPalGateway.create_payment` creates an order (intent CAPTURE) and sends the payer
to PayPal's approval page. When the payer approves, PayPal notifies CHECKOUT.ORDER.APPROVED and
:meth:`PayPalGateway.parse_webhook` captures the order, under a PayPal-Request-Id derived from
the order id so that a repeated notification never charges twice. Our payment reference is the
PayPal order id; the capture id is looked up from the order when refunding.

The SDK is synchronous (requests), so every call runs in a worker thread. Webhooks are verified
offline against PayPal's signing certificate (``spirit_tours.payments.paypal.webhook``); the
mapping of orders, captures and refunds to our values is in ``mapping.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import requests
from apimatic_core.exceptions.auth_validation_exception import (  # type: ignore[import-untyped]
    AuthValidationException,
)
from cryptography import x509
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

from spirit_tours.core.enums import PaymentMethod, PaymentStatus, Provider
from spirit_tours.payments.gateway import (
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
    ProviderRejectedError,
    ProviderUnavailableError,
    WebhookEvent,
)
from spirit_tours.payments.paypal import webhook
from spirit_tours.payments.paypal.mapping import (
    CAPTURE_EVENTS,
    JSON,
    ORDER_EVENTS,
    PAYPAL,
    capture_event,
    capture_id_of,
    capture_of,
    first_of,
    json_object,
    list_of,
    money_of,
    obj_of,
    order_event,
    order_payment,
    path_of,
    provider_refund,
    refund_status,
    related_order_id,
    text_of,
    uuid_of,
)
from spirit_tours.payments.paypal.webhook import WebhookVerifier

logger = logging.getLogger(__name__)


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

_REFUNDABLE_CAPTURES = frozenset({"COMPLETED", "PARTIALLY_REFUNDED"})


class PayPalRejectedError(ProviderRejectedError):
    """A 4xx from PayPal, keeping its fine-grained issue codes so callers can tell
    ORDER_ALREADY_CAPTURED (harmless) from INSTRUMENT_DECLINED (the payment failed)."""

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        super().__init__(PAYPAL, message)
        self.issues = issues


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
        self._webhook = WebhookVerifier(
            webhook_id,
            sandbox=sandbox,
            tolerance_seconds=webhook_tolerance_seconds,
            timeout_seconds=timeout_seconds,
            http=http,
            trust_roots=trust_roots,
        )
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
        payment = order_payment(await self._call(self._client.orders.create_order, options))
        if payment.status is PaymentStatus.REQUIRES_ACTION and not payment.next_action.redirect_url:
            raise ProviderUnavailableError(
                PAYPAL, f"order {payment.reference} has no approval link"
            )
        return payment

    async def get_payment(self, reference: str) -> ProviderPayment:
        return order_payment(await self._get_order(reference))

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
        return order_payment(order)

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
        return provider_refund(refund, amount, capture)

    async def aclose(self) -> None:
        """Close the certificate HTTP client, if this gateway created it."""
        await self._webhook.aclose()

    @property
    def cached_certificates(self) -> int:
        return self._webhook.cached_certificates

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        """Verified by :mod:`spirit_tours.payments.paypal.webhook`; an approved order is
        captured here before it is reported."""
        await self._webhook.verify(body, headers, check_freshness=check_freshness)
        return await self._decode(webhook.event_of(body))

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
        body = json_object(response.text)
        if body is None:
            raise ProviderUnavailableError(PAYPAL, "PayPal answered without a JSON object")
        return body

    async def _get_order(self, order_id: str) -> JSON:
        return await self._call(self._client.orders.get_order, {"id": order_id})

    async def _get_capture(self, capture_id: str) -> JSON:
        options = {"capture_id": capture_id}
        return await self._call(self._client.payments.get_captured_payment, options)

    async def _decode(self, event: JSON) -> WebhookEvent:
        """Reduce a verified event to what moves our state; capture approved orders."""
        kind = str(event["event_type"])
        resource = obj_of(event.get("resource"))
        if kind == "CHECKOUT.ORDER.APPROVED":
            return await self._approved(event, resource)
        if kind in CAPTURE_EVENTS:
            return capture_event(event, resource, CAPTURE_EVENTS[kind])
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return await self._refunded(event, resource)
        if kind in ORDER_EVENTS and text_of(resource.get("id")):
            return order_event(event, resource, order_payment(resource))
        return WebhookEvent(event_id=str(event["id"]), kind=kind, raw=event)

    async def _approved(self, event: JSON, order: JSON) -> WebhookEvent:
        """The payer approved: capture now. A refused capture (instrument declined…) fails
        the payment; an unavailable PayPal propagates so the webhook is delivered again."""
        order_id = text_of(order.get("id"))
        if order_id is None:
            return WebhookEvent(event_id=str(event["id"]), kind=str(event["event_type"]), raw=event)
        try:
            payment = await self.capture(order_id)
        except ProviderRejectedError as error:
            logger.warning("PayPal refused to capture order %s: %s", order_id, error.message)
            failed = ProviderPayment(reference=order_id, status=PaymentStatus.FAILED)
            return order_event(event, order, failed)
        return order_event(event, order, payment)

    async def _refunded(self, event: JSON, refund: JSON) -> WebhookEvent:
        """A refund resource names only its capture: fetch it for the order and our id."""
        capture_id = capture_id_of(refund)
        capture = await self._get_capture(capture_id) if capture_id else {}
        refunded = money_of(path_of(refund, "seller_payable_breakdown", "total_refunded_amount"))
        refunded = refunded or money_of(refund.get("amount"))
        captured = money_of(capture.get("amount"))
        return WebhookEvent(
            event_id=str(event["id"]),
            kind=str(event["event_type"]),
            payment_reference=related_order_id(capture) or related_order_id(refund),
            payment_id=uuid_of(capture.get("custom_id")) or uuid_of(refund.get("custom_id")),
            status=refund_status(refunded, captured, capture),
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
    body = json_object(getattr(error.response, "text", None) or "") or {}
    issues = tuple(
        issue
        for detail in list_of(body.get("details"))
        if (issue := text_of(obj_of(detail).get("issue")))
    )
    message = f"HTTP {status} {_error_summary(body, issues) or error.reason}"
    if status >= 500 or status in (408, 429):
        return ProviderUnavailableError(PAYPAL, message)
    return PayPalRejectedError(message, issues)


def _error_summary(body: JSON, issues: tuple[str, ...]) -> str:
    """'NAME [ISSUE]: description' from an Orders/Payments error or an OAuth error."""
    name = text_of(body.get("name")) or text_of(body.get("error")) or ""
    description = text_of(obj_of(first_of(body.get("details"))).get("description"))
    text = description or text_of(body.get("message")) or text_of(body.get("error_description"))
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
    captured = money_of(capture.get("amount"))
    if captured is not None and captured[1] != currency.upper():
        raise PayPalRejectedError(f"the capture is in {captured[1]}, not {currency}")
    return RefundRequest(
        amount=Money(currency_code=currency.upper(), value=_format_amount(amount, currency))
    )


def _refundable_capture(order: JSON, order_id: str) -> JSON:
    capture = capture_of(order)
    if not text_of(capture.get("id")) or capture.get("status") not in _REFUNDABLE_CAPTURES:
        raise PayPalRejectedError(f"order {order_id} has no capture to refund")
    return capture
