"""Recorded Stripe exchanges (shaped like Stripe's API reference), Stripe-signed webhooks and
helpers to start payments over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx

from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.graphql_client import GraphQLClient, Result

START = """
mutation($input: StartPaymentInput!) {
  startPayment(input: $input) {
    payment { id status method amount { amount currency } provider providerReference
              failureReason attempts { provider outcome } }
    nextAction { kind clientSecret redirectUrl qrCode voucherUrl }
  }
}"""
PAYMENT = """
query($id: ID!) {
  payment(id: $id) {
    id status amount { amount } refundedAmount { amount } cardLast4 provider providerReference
    booking { status amountPaid { amount } }
    webhooks { outcome eventId signatureValid }
  }
}"""
STRIPE_API = "https://api.stripe.com"


def payment_input(booking_id: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "bookingId": booking_id,
        "method": "CARD",
        "returnUrl": "https://app.spirit-tours.example/pay/return",
        "idempotencyKey": key or f"pay-{uuid.uuid4()}",
        **extra,
    }


async def start_payment(gql: GraphQLClient, token: str, booking_id: str, **extra: Any) -> Result:
    return await gql.execute(START, {"input": payment_input(booking_id, **extra)}, token=token)


def _form(request: httpx.Request) -> dict[str, str]:
    return dict(httpx.QueryParams(request.content.decode()))


def payment_intent(request: httpx.Request) -> httpx.Response:
    """POST /v1/payment_intents as Stripe answers it (amount in minor units)."""
    form = _form(request)
    return httpx.Response(
        200,
        json={
            "id": "pi_3Spirit0001",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": "requires_payment_method",
            "client_secret": "pi_3Spirit0001_secret_abc",
            "customer": form.get("customer"),
            "metadata": {"payment_id": form["metadata[payment_id]"]},
            "livemode": False,
        },
    )


def refund(request: httpx.Request) -> httpx.Response:
    form = _form(request)
    return httpx.Response(
        200,
        json={
            "id": f"re_{uuid.uuid4().hex[:12]}",
            "object": "refund",
            "amount": int(form["amount"]) if "amount" in form else 36000,
            "currency": "usd",
            "payment_intent": form["payment_intent"],
            "status": "succeeded",
        },
    )


@contextmanager
def stripe_api() -> Iterator[respx.MockRouter]:
    """Stripe recorded; our own server reached for real; anything else refused."""
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post(f"{STRIPE_API}/v1/customers", name="customers").respond(
            200, json={"id": "cus_Spirit01", "object": "customer", "email": "x@example.com"}
        )
        mock.post(f"{STRIPE_API}/v1/payment_intents", name="intents").mock(
            side_effect=payment_intent
        )
        mock.post(f"{STRIPE_API}/v1/refunds", name="refunds").mock(side_effect=refund)
        yield mock


def stripe_event(kind: str, payment_id: str, *, amount: int, **fields: Any) -> bytes:
    obj = {
        "id": "pi_3Spirit0001",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if kind == "payment_intent.succeeded" else 0,
        "currency": "usd",
        "status": kind.rsplit(".", 1)[-1],
        "metadata": {"payment_id": payment_id},
        **fields,
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def stripe_signature(
    body: bytes, *, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None
) -> dict[str, str]:
    """Stripe's scheme: ``t=<unix>,v1=<HMAC-SHA256 hex of "{t}.{body}">``."""
    stamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


async def deposit_paid(
    gql: GraphQLClient, http: httpx.AsyncClient, booking_id: str, token: str
) -> str:
    """The deposit (360.00 of a 1200.00 booking) started by card and credited by Stripe's
    signed webhook; the payment's id."""
    with stripe_api():
        started = (await start_payment(gql, token, booking_id)).ok()
    payment_id: str = started["startPayment"]["payment"]["id"]
    body = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    response = await http.post("/webhooks/stripe", content=body, headers=stripe_signature(body))
    assert response.status_code == 200, response.text
    return payment_id
