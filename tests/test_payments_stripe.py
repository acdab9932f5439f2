"""The Stripe adapter on its own: Checkout Sessions, refunds, errors and events, through the
real SDK against recorded HTTP."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
import respx

from spirit_tours.core.enums import NextActionKind, PaymentMethod, PaymentStatus
from spirit_tours.payments.gateway import (
    InvalidSignatureError,
    Payer,
    PaymentRequest,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from spirit_tours.payments.stripe.gateway import StripeGateway
from tests.payment_flows import STRIPE_API, stripe_api, stripe_event, stripe_signature

SECRET = "whsec_unit"


def _request(**extra: object) -> PaymentRequest:
    values: dict[str, object] = {
        "payment_id": uuid.UUID("6a1f0c9e-2f0b-4d8e-9d51-3c8f7b1e2a10"),
        "description": "Spirit Tours ST-1001: Cusco",
        "amount": Decimal("360.00"),
        "currency": "USD",
        "method": PaymentMethod.CARD,
        "payer": Payer(email="maria@andes.example", full_name="María Quispe"),
        "return_url": "https://app.example/return",
        "idempotency_key": "spirit-abc",
        **extra,
    }
    return PaymentRequest(**values)  # type: ignore[arg-type]


async def test_checkout_sessions_redirect_to_stripes_hosted_page() -> None:
    gateway = StripeGateway("sk_test_unit", SECRET, use_checkout=True)
    with stripe_api() as stripe:
        session = stripe.post(f"{STRIPE_API}/v1/checkout/sessions").respond(200, json={
            "id": "cs_test_a1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
            "expires_at": 1893456000, "payment_status": "unpaid",
        })  # fmt: skip
        result = await gateway.create_payment(_request())
        form = dict(httpx.QueryParams(session.calls.last.request.content.decode()))
    assert result.next_action.kind == NextActionKind.REDIRECT
    assert result.next_action.redirect_url == "https://checkout.stripe.com/c/pay/cs_test_a1"
    assert result.status == PaymentStatus.REQUIRES_ACTION
    assert form["line_items[0][price_data][unit_amount]"] == "36000"
    assert form["client_reference_id"] == "6a1f0c9e-2f0b-4d8e-9d51-3c8f7b1e2a10"
    assert session.calls.last.request.headers["Idempotency-Key"] == "spirit-abc"


async def test_zero_decimal_currencies_travel_in_whole_units() -> None:
    gateway = StripeGateway("sk_test_unit", SECRET)
    with stripe_api() as stripe:
        await gateway.create_payment(_request(amount=Decimal(150000), currency="CLP"))
        form = dict(httpx.QueryParams(stripe["intents"].calls.last.request.content.decode()))
    assert (form["amount"], form["currency"]) == ("150000", "clp")


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ProviderUnavailableError), (429, ProviderUnavailableError),
     (402, ProviderRejectedError), (400, ProviderRejectedError)],
)  # fmt: skip
async def test_errors_tell_whether_another_provider_may_help(
    status: int, error: type[Exception]
) -> None:
    gateway = StripeGateway("sk_test_unit", SECRET)
    body = {"error": {"type": "card_error", "message": "Your card was declined."}}
    with respx.mock() as mock:
        mock.post(f"{STRIPE_API}/v1/customers").respond(status, json=body)
        with pytest.raises(error):
            await gateway.create_payment(_request())


async def test_refund_events_report_partial_and_full_refunds() -> None:
    gateway = StripeGateway("sk_test_unit", SECRET)
    charge = {"payment_intent": "pi_1", "amount_refunded": 10000, "refunded": False,
              "payment_method_details": {"card": {"last4": "4242"}}}  # fmt: skip
    body = stripe_event("charge.refunded", str(uuid.uuid4()), amount=36000, **charge)
    event = await gateway.parse_webhook(body, _lower(stripe_signature(body, secret=SECRET)))
    assert (event.status, event.refunded_amount, event.card_last4) == (
        PaymentStatus.PARTIALLY_REFUNDED, Decimal("100.00"), "4242"
    )  # fmt: skip
    assert event.payment_reference == "pi_1"
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(body, _lower(stripe_signature(body)))  # another secret


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}
