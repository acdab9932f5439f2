"""MercadoPago: Checkout Pro for cards, PIX and boleto in Brazil, webhooks signed with x-signature.

Built on the official SDK, which is synchronous (requests): every call runs in a worker thread so
the event loop never blocks. The SDK never raises for an HTTP error, it returns
``{"status": <http status>, "response": <body>}``; :func:`_unwrap` turns that into our error types
so the router knows whether another provider may help.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import mercadopago
import requests
from mercadopago.config import RequestOptions

from spirit_tours.core.clock import now_utc
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
    ProviderRejectedError,
    ProviderUnavailableError,
    WebhookEvent,
)
from spirit_tours.payments.mercadopago import webhook
from spirit_tours.payments.mercadopago.mapping import (
    PROVIDER,
    REFUND_OUTCOMES,
    awaiting_checkout,
    decimal_of,
    payment_event,
    provider_payment,
    required,
)

CURRENCIES = frozenset({"BRL", "ARS", "MXN", "COP", "CLP", "PEN", "UYU"})
# PIX and boleto are Brazilian: BRL only. The value is MercadoPago's payment_method_id.
BRAZILIAN_METHODS: dict[PaymentMethod, str] = {
    PaymentMethod.PIX: "pix",
    PaymentMethod.BOLETO: "bolbradesco",
}


# Worth trying elsewhere: the provider is overloaded or slow, not refusing the request.
RETRYABLE_HTTP = frozenset({408, 429})
# Payment ids are numeric; Checkout Pro preference ids are "<collector id>-<uuid>". Checking the
# shape also keeps a reference from smuggling a different path into the SDK's URL.
PAYMENT_ID = re.compile(r"[0-9]+", re.ASCII)
PREFERENCE_ID = re.compile(r"[0-9]+-[0-9a-fA-F-]+", re.ASCII)

SdkCall = Callable[[], Any]


class MercadoPagoGateway:
    """The :class:`~spirit_tours.payments.gateway.PaymentGateway` for MercadoPago."""

    provider: Provider = PROVIDER

    def __init__(
        self,
        access_token: str,
        webhook_secret: str,
        *,
        timeout_seconds: float = 10.0,
        webhook_tolerance_seconds: int = 300,
    ) -> None:
        self._access_token = access_token
        self._webhook_secret = webhook_secret.encode()
        self._timeout = float(timeout_seconds)  # the SDK insists on a float
        self._tolerance = webhook_tolerance_seconds
        self._sdk = mercadopago.SDK(access_token, request_options=self._options())

    def supports(self, method: PaymentMethod, currency: str) -> bool:
        if method is PaymentMethod.CARD:
            return currency in CURRENCIES
        return method in BRAZILIAN_METHODS and currency == "BRL"

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        if not self.supports(request.method, request.currency):
            message = f"{request.method.value} in {request.currency} is not offered"
            raise ProviderRejectedError(PROVIDER, message)
        if request.method is PaymentMethod.CARD:
            return await self._create_preference(request)
        return await self._create_direct_payment(request)

    async def get_payment(self, reference: str) -> ProviderPayment:
        """A card payment's reference is its preference until the payer pays: then the payment
        made from it answers, else the checkout still awaits the payer."""
        if PAYMENT_ID.fullmatch(reference):
            return provider_payment(await self._fetch_payment(reference))
        preference = await self._fetch_preference(reference)
        payment = await self._latest_payment(preference)
        if payment is None:
            return awaiting_checkout(preference)
        return provider_payment(payment)

    async def cancel_payment(self, reference: str) -> None:
        """Call off an unpaid payment: a PIX or boleto payment is cancelled (MercadoPago refuses
        once it is paid); a Checkout Pro preference expires now, so its link takes no payment."""
        options = self._options()
        if PAYMENT_ID.fullmatch(reference):
            cancel = {"status": "cancelled"}
            await self._call(lambda: self._sdk.payment().update(reference, cancel, options))
            return
        if not PREFERENCE_ID.fullmatch(reference):
            raise ProviderRejectedError(PROVIDER, f"{reference!r} is not a MercadoPago id")
        now = now_utc().isoformat(timespec="milliseconds")
        expire = {"expires": True, "expiration_date_to": now}
        await self._call(lambda: self._sdk.preference().update(reference, expire, options))

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        """MercadoPago refunds in the payment's own currency, so ``currency`` only documents it."""
        payment_id = await self._payment_id(reference)
        body = None if amount is None else {"amount": _number(amount)}
        options = self._options(idempotency_key)
        refund = await self._call(lambda: self._sdk.refund().create(payment_id, body, options))
        refunded = decimal_of(refund.get("amount"))
        if refunded is None:
            refunded = amount
        if refunded is None:
            raise ProviderUnavailableError(PROVIDER, "the refund came back without an amount")
        outcome = REFUND_OUTCOMES.get(str(refund.get("status")), RefundOutcome.PENDING)
        return ProviderRefund(
            reference=required(refund, "id"), outcome=outcome, amount=refunded, raw=refund
        )

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        """The signature covers only data.id, x-request-id and ts, never the rest of the body: so
        the payment's state comes from the API, not from the notification."""
        tolerance = self._tolerance if check_freshness else None
        note = webhook.verify(self._webhook_secret, body, headers, tolerance_seconds=tolerance)
        if note.payment_id is None:
            return WebhookEvent(event_id=note.event_id, kind=note.kind, raw=note.raw)
        payment = await self._fetch_payment(note.payment_id)
        return payment_event(note.event_id, note.kind, payment)

    # --- creating payments -------------------------------------------------------------------

    async def _create_preference(self, request: PaymentRequest) -> ProviderPayment:
        body = _preference_body(request)
        options = self._options(request.idempotency_key)
        preference = await self._call(lambda: self._sdk.preference().create(body, options))
        return ProviderPayment(
            reference=required(preference, "id"),
            status=PaymentStatus.REQUIRES_ACTION,
            next_action=NextAction(
                kind=NextActionKind.REDIRECT, redirect_url=required(preference, "init_point")
            ),
            amount=request.amount,
            currency=request.currency,
            raw=preference,
        )

    async def _create_direct_payment(self, request: PaymentRequest) -> ProviderPayment:
        body = _direct_payment_body(request, BRAZILIAN_METHODS[request.method])
        options = self._options(request.idempotency_key)
        payment = await self._call(lambda: self._sdk.payment().create(body, options))
        return provider_payment(payment, awaiting_payer=True)

    # --- reading payments --------------------------------------------------------------------

    async def _fetch_payment(self, payment_id: str) -> dict[str, Any]:
        if not PAYMENT_ID.fullmatch(payment_id):
            raise ProviderRejectedError(PROVIDER, f"{payment_id!r} is not a payment id")
        return await self._call(lambda: self._sdk.payment().get(payment_id))

    async def _fetch_preference(self, preference_id: str) -> dict[str, Any]:
        if not PREFERENCE_ID.fullmatch(preference_id):
            raise ProviderRejectedError(PROVIDER, f"{preference_id!r} is not a MercadoPago id")
        return await self._call(lambda: self._sdk.preference().get(preference_id))

    async def _latest_payment(self, preference: Mapping[str, Any]) -> dict[str, Any] | None:
        """Checkout Pro payments carry the preference's external reference (our payment id)."""
        external_reference = preference.get("external_reference")
        if not external_reference:
            return None
        filters = {
            "external_reference": str(external_reference),
            "sort": "date_created",
            "criteria": "desc",
        }
        found = await self._call(lambda: self._sdk.payment().search(filters))
        results = [result for result in found.get("results") or [] if isinstance(result, dict)]
        return results[0] if results else None

    async def _payment_id(self, reference: str) -> str:
        """Refunds need the payment, also when we still hold the preference it was paid from."""
        if PAYMENT_ID.fullmatch(reference):
            return reference
        payment = await self._latest_payment(await self._fetch_preference(reference))
        if payment is None:
            raise ProviderRejectedError(PROVIDER, f"nothing was paid through {reference}")
        return required(payment, "id")

    # --- calling the SDK ---------------------------------------------------------------------

    def _options(self, idempotency_key: str | None = None) -> RequestOptions:
        """No SDK retries: the router decides on retries and fallbacks, and urllib3 would
        otherwise sleep for as long as a 429's Retry-After asks, in our worker thread."""
        headers = None if idempotency_key is None else {"x-idempotency-key": idempotency_key}
        return RequestOptions(
            access_token=self._access_token,
            connection_timeout=self._timeout,
            custom_headers=headers,
            max_retries=0,
        )

    async def _call(self, operation: SdkCall) -> dict[str, Any]:
        """Run one SDK call in a worker thread; transport failures mean "try elsewhere"."""
        try:
            result = await asyncio.to_thread(operation)
        except requests.RequestException as error:
            raise ProviderUnavailableError(PROVIDER, f"request failed: {error}") from error
        return _unwrap(result)


# --- request bodies ----------------------------------------------------------------------------


def _preference_body(request: PaymentRequest) -> dict[str, Any]:
    first_name, last_name = _split_name(request.payer.full_name)
    body: dict[str, Any] = {
        "items": [
            {
                "id": str(request.payment_id),
                "title": request.description,
                "quantity": 1,
                "unit_price": _number(request.amount),
                "currency_id": request.currency,
            }
        ],
        "external_reference": str(request.payment_id),
        "back_urls": dict.fromkeys(("success", "pending", "failure"), request.return_url),
        "auto_return": "approved",
        "payer": {"email": request.payer.email, "name": first_name, "surname": last_name},
    }
    if request.installments is not None:
        body["payment_methods"] = {"installments": request.installments}
    return body


def _direct_payment_body(request: PaymentRequest, payment_method_id: str) -> dict[str, Any]:
    """PIX and boleto have no currency field: the account's (BRL) applies."""
    first_name, last_name = _split_name(request.payer.full_name)
    return {
        "transaction_amount": _number(request.amount),
        "description": request.description,
        "payment_method_id": payment_method_id,
        "external_reference": str(request.payment_id),
        "payer": {
            "email": request.payer.email,
            "first_name": first_name,
            "last_name": last_name,
            "identification": _identification(request.payer.document),
        },
    }


def _identification(document: str | None) -> dict[str, str]:
    """PIX and boleto need the payer's tax id: a CPF (11 digits) or, for a company, a CNPJ (14)."""
    digits = re.sub(r"[^0-9]", "", document or "")
    if not digits:
        raise ProviderRejectedError(PROVIDER, "PIX and boleto need the payer's CPF")
    return {"type": "CNPJ" if len(digits) == 14 else "CPF", "number": digits}


def _split_name(full_name: str) -> tuple[str, str]:
    parts = full_name.split(maxsplit=1)
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


def _number(amount: Decimal) -> int | float:
    """The SDK's JSON needs a number: whole amounts go as integers (CLP, COP), others as floats."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def _unwrap(result: Any) -> dict[str, Any]:
    """The body of a successful SDK result; 5xx, 408 and 429 are unavailability, other 4xx a
    refusal carrying MercadoPago's message."""
    status = result.get("status") if isinstance(result, dict) else None
    body = result.get("response") if isinstance(result, dict) else None
    if not isinstance(status, int) or status >= 500 or status in RETRYABLE_HTTP:
        raise ProviderUnavailableError(PROVIDER, f"HTTP {status}: {_error_message(body)}")
    if status >= 400:
        raise ProviderRejectedError(PROVIDER, _error_message(body))
    if not isinstance(body, dict):
        raise ProviderUnavailableError(PROVIDER, f"HTTP {status} without a JSON object")
    return body


def _error_message(body: Any) -> str:
    if not isinstance(body, dict):
        return "no details"
    causes = body.get("cause")
    details = [
        str(cause["description"])
        for cause in (causes if isinstance(causes, list) else [])
        if isinstance(cause, dict) and cause.get("description")
    ]
    message = str(body.get("message") or body.get("error") or "no details")
    return "; ".join([message, *(detail for detail in details if detail != message)])
