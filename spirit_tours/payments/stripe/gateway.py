"""Stripe through its official SDK's async client: PaymentIntents (a client secret for
Stripe.js) or Checkout Sessions (a hosted page), customers, refunds, signed webhooks.

Amounts travel in the currency's minor unit; the payment's idempotency key goes to Stripe's
``Idempotency-Key`` so a retried call never charges twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe

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
from spirit_tours.payments.stripe import webhook
from spirit_tours.payments.stripe.mapping import (
    CURRENCIES,
    INTENT_STATUS,
    REFUND_OUTCOME,
    card_last4,
    from_minor,
    to_minor,
)


def _plain(value: Any) -> dict[str, Any]:
    """A StripeObject as plain JSON data, for the record and for ``.get`` with defaults."""
    if hasattr(value, "to_dict"):
        result: dict[str, Any] = value.to_dict()
        return result
    return dict(value)


class StripeGateway:
    provider = Provider.STRIPE

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        use_checkout: bool = False,
        timeout_seconds: float = 10.0,
        webhook_tolerance_seconds: int = 300,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            http_client=stripe.HTTPXClient(timeout=timeout_seconds),
            max_network_retries=0,  # the router decides what to try next
        )
        self._webhook_secret = webhook_secret
        self._use_checkout = use_checkout
        self._tolerance = webhook_tolerance_seconds

    def supports(self, method: PaymentMethod, currency: str) -> bool:
        return method == PaymentMethod.CARD and currency in CURRENCIES

    async def _call(self, coroutine: Any) -> dict[str, Any]:
        try:
            return _plain(await coroutine)
        except (stripe.APIConnectionError, stripe.RateLimitError) as error:
            raise ProviderUnavailableError(self.provider, str(error.user_message)) from error
        except stripe.StripeError as error:
            status = error.http_status or 0
            message = error.user_message or str(error)
            if status >= 500 or status == 429:
                raise ProviderUnavailableError(self.provider, message) from error
            raise ProviderRejectedError(self.provider, message) from error

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        customer = await self._call(
            self._client.v1.customers.create_async(
                {"email": request.payer.email, "name": request.payer.full_name},
                {"idempotency_key": f"{request.idempotency_key}:customer"},
            )
        )
        if self._use_checkout:
            return await self._checkout_session(request, customer["id"])
        params: dict[str, Any] = {
            "amount": to_minor(request.amount, request.currency),
            "currency": request.currency.lower(),
            "customer": customer["id"],
            "description": request.description,
            "metadata": {"payment_id": str(request.payment_id)},
            "automatic_payment_methods": {"enabled": True},
            "receipt_email": request.payer.email,
        }
        if request.installments and request.installments > 1:
            params["payment_method_options"] = {"card": {"installments": {"enabled": True}}}
        intent = await self._call(
            self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        )
        return ProviderPayment(
            reference=intent["id"],
            status=INTENT_STATUS.get(intent["status"], PaymentStatus.PENDING),
            next_action=NextAction(
                NextActionKind.CLIENT_SECRET, client_secret=intent["client_secret"]
            ),
            amount=from_minor(intent["amount"], request.currency),
            currency=request.currency,
            raw=intent,
        )

    async def _checkout_session(self, request: PaymentRequest, customer: str) -> ProviderPayment:
        session = await self._call(
            self._client.v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "customer": customer,
                    "client_reference_id": str(request.payment_id),
                    "success_url": request.return_url,
                    "cancel_url": request.return_url,
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": request.currency.lower(),
                                "unit_amount": to_minor(request.amount, request.currency),
                                "product_data": {"name": request.description},
                            },
                        }
                    ],
                    "payment_intent_data": {"metadata": {"payment_id": str(request.payment_id)}},
                    "metadata": {"payment_id": str(request.payment_id)},
                },
                {"idempotency_key": request.idempotency_key},
            )
        )
        expires = session.get("expires_at")
        return ProviderPayment(
            reference=session["id"],
            status=PaymentStatus.REQUIRES_ACTION,
            next_action=NextAction(
                NextActionKind.REDIRECT,
                redirect_url=session["url"],
                expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            ),
            amount=request.amount,
            currency=request.currency,
            raw=session,
        )

    async def _intent_id(self, reference: str) -> str:
        """PaymentIntent id for a PaymentIntent or (once paid) Checkout Session reference."""
        if not reference.startswith("cs_"):
            return reference
        session = await self._call(self._client.v1.checkout.sessions.retrieve_async(reference))
        intent = session.get("payment_intent")
        if not intent:
            raise ProviderRejectedError(self.provider, "The checkout session is not paid yet.")
        return str(intent)

    async def get_payment(self, reference: str) -> ProviderPayment:
        intent = await self._call(
            self._client.v1.payment_intents.retrieve_async(
                await self._intent_id(reference), {"expand": ["latest_charge"]}
            )
        )
        currency = str(intent["currency"]).upper()
        charge = intent.get("latest_charge") or {}
        status = INTENT_STATUS.get(intent["status"], PaymentStatus.PENDING)
        if isinstance(charge, dict) and charge.get("refunded"):
            status = PaymentStatus.REFUNDED
        elif isinstance(charge, dict) and charge.get("amount_refunded"):
            status = PaymentStatus.PARTIALLY_REFUNDED
        return ProviderPayment(
            reference=intent["id"],
            status=status,
            amount=from_minor(intent["amount"], currency),
            currency=currency,
            card_last4=card_last4(charge) if isinstance(charge, dict) else None,
            raw=intent,
        )

    async def cancel_payment(self, reference: str) -> None:
        """Call off an unpaid payment: expire its Checkout Session, or cancel its
        PaymentIntent (Stripe refuses once the payer is paying: nothing changes then)."""
        if reference.startswith("cs_"):
            await self._call(self._client.v1.checkout.sessions.expire_async(reference))
        else:
            await self._call(self._client.v1.payment_intents.cancel_async(reference))

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        params: dict[str, Any] = {"payment_intent": await self._intent_id(reference)}
        if amount is not None:
            params["amount"] = to_minor(amount, currency)
        refund = await self._call(
            self._client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return ProviderRefund(
            reference=refund["id"],
            outcome=REFUND_OUTCOME.get(refund["status"], RefundOutcome.FAILED),
            amount=from_minor(refund["amount"], currency),
            raw=refund,
        )

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        """Verified and decoded by :mod:`spirit_tours.payments.stripe.webhook`, with Stripe's
        timestamp tolerance unless replaying."""
        tolerance = self._tolerance if check_freshness else None
        return webhook.parse_webhook(body, headers, self._webhook_secret, tolerance)
