"""Each provider's webhook end to end through /webhooks/{provider}, signed with the provider's
real scheme: a genuine one is applied once, a duplicate ignored, a forged one refused."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import responses
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from spirit_tours.persistence.database import SessionFactory
from tests import test_payments_paypal as paypal
from tests.booking_flows import booked, event_count
from tests.conftest import MERCADOPAGO_WEBHOOK_SECRET, PROVIDER_SETTINGS, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import PAYMENT, start_payment
from tests.quotation_flows import make_world

MP_API = "https://api.mercadopago.com"
RECORDED = Path(__file__).parent / "recorded"
WEBHOOK_ID = str(PROVIDER_SETTINGS["paypal_webhook_id"])


def _recorded(provider: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / provider / f"{name}.json").read_text())
    return data


def _mp_signed(data_id: str, *, secret: str = MERCADOPAGO_WEBHOOK_SECRET) -> dict[str, str]:
    """MercadoPago's x-signature: HMAC-SHA256 of the manifest
    ``id:{data.id};request-id:{x-request-id};ts:{ts};``."""
    ts, request_id = str(int(time.time() * 1000)), "6f1c2d9e-req"
    manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
    digest = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return {"x-signature": f"ts={ts},v1={digest}", "x-request-id": request_id,
            "content-type": "application/json"}  # fmt: skip


async def test_mercadopago_pix_paid_through_its_signed_notification(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, currency="BRL")
    pix = _recorded("mercadopago", "payment_pix_pending")
    mp_id = str(pix["id"])
    with responses.RequestsMock() as mp:
        created = copy.deepcopy(pix) | {"transaction_amount": 360, "currency_id": "BRL"}
        mp.add(responses.POST, f"{MP_API}/v1/payments", json=created, status=201)
        started = await start_payment(gql, world.agency.token, booking_id, method="PIX",
                                      payerDocument="19119119100", country="BR")  # fmt: skip
    payload = started.ok()["startPayment"]
    payment_id = payload["payment"]["id"]
    assert payload["nextAction"]["kind"] == "QR_CODE"
    assert payload["nextAction"]["qrCode"]

    approved = copy.deepcopy(pix) | {
        "status": "approved", "status_detail": "accredited", "external_reference": payment_id,
        "transaction_amount": 360, "currency_id": "BRL",
    }  # fmt: skip
    body = json.dumps({"id": 98765, "type": "payment", "action": "payment.updated",
                       "data": {"id": mp_id}}).encode()  # fmt: skip
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mp:
        mp.add(responses.GET, f"{MP_API}/v1/payments/{mp_id}", json=approved)
        forged = await http.post("/webhooks/mercadopago", content=body,
                                 headers=_mp_signed(mp_id, secret="not-ours"))  # fmt: skip
        first = await http.post("/webhooks/mercadopago", content=body, headers=_mp_signed(mp_id))
        again = await http.post("/webhooks/mercadopago", content=body, headers=_mp_signed(mp_id))
    assert forged.status_code == 401
    assert (first.status_code, first.json()["outcome"]) == (200, "APPLIED")
    assert (again.status_code, again.json()["outcome"]) == (200, "DUPLICATE")
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
    assert seen["payment"]["status"] == "SUCCEEDED"
    assert seen["payment"]["providerReference"] == mp_id
    assert seen["payment"]["booking"] == {"status": "CONFIRMED", "amountPaid": {"amount": "360.00"}}
    assert await event_count(sessions, "payment.succeeded") == 1


async def test_paypal_capture_completed_through_its_certificate_signed_webhook(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with responses.RequestsMock() as paypal_api:
        paypal_api.post(f"{paypal.API}/v1/oauth2/token", json=paypal.token_json())
        paypal_api.post(paypal.ORDERS, json=paypal.order_json(value="360.00"), status=201)
        started = await start_payment(gql, world.agency.token, booking_id, method="PAYPAL")
    payload = started.ok()["startPayment"]
    payment_id = payload["payment"]["id"]
    assert payload["nextAction"] == {
        "kind": "REDIRECT", "redirectUrl": paypal.APPROVAL_URL, "clientSecret": None,
        "qrCode": None, "voucherUrl": None,
    }  # fmt: skip

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    pem = paypal.certificate_pem(key, valid_from=now - timedelta(days=1),
                                 valid_to=now + timedelta(days=1))  # fmt: skip
    capture = paypal.capture_json(value="360.00") | {"custom_id": payment_id}
    body = json.dumps(paypal.event_json("PAYMENT.CAPTURE.COMPLETED", capture)).encode()
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with respx.mock(assert_all_called=False) as certs:
        certs.route(host="127.0.0.1").pass_through()
        certs.get(paypal.CERT_URL).respond(200, content=pem)
        faked = paypal.signed(impostor, body, webhook_id=WEBHOOK_ID)
        forged = await http.post("/webhooks/paypal", content=body, headers=faked)
        headers = paypal.signed(key, body, webhook_id=WEBHOOK_ID)
        first = await http.post("/webhooks/paypal", content=body, headers=headers)
        again = await http.post("/webhooks/paypal", content=body, headers=headers)
    assert forged.status_code == 401
    assert (first.status_code, first.json()["outcome"]) == (200, "APPLIED")
    assert (again.status_code, again.json()["outcome"]) == (200, "DUPLICATE")
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
    assert seen["payment"]["status"] == "SUCCEEDED"
    assert seen["payment"]["booking"] == {"status": "CONFIRMED", "amountPaid": {"amount": "360.00"}}
    assert await event_count(sessions, "payment.succeeded") == 1


def _payu_confirmation(payment_id: str, *, state: str = "4", value: str = "360.00") -> bytes:
    """PayU's confirmation page POST, signed by its documented MD5 rule (``360.00`` is signed
    as ``360.0``: a value whose second decimal is zero keeps one decimal)."""
    api_key = PROVIDER_SETTINGS["payu_api_key"].get_secret_value()
    merchant = str(PROVIDER_SETTINGS["payu_merchant_id"])
    signed_value = value[:-1] if value.endswith("0") else value
    text = f"{api_key}~{merchant}~{payment_id}~{signed_value}~COP~{state}"
    fields = {
        "merchant_id": merchant, "state_pol": state, "response_code_pol": "1",
        "reference_sale": payment_id, "reference_pol": "1400449959", "value": value,
        "currency": "COP", "transaction_id": "4d49e544-e23f-474e-92b1-59357e0e85e8",
        "payment_method_type": "4", "payment_method_name": "PSE",
        "sign": hashlib.md5(text.encode()).hexdigest(),  # noqa: S324 - PayU's scheme
    }  # fmt: skip
    return urlencode(fields).encode()


async def test_payu_pse_paid_through_its_signed_confirmation_page(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, currency="COP")
    submitted = _recorded("payu", "pse_submit_transaction")
    with respx.mock(assert_all_called=True) as payu:
        payu.route(host="127.0.0.1").pass_through()
        payu.post("https://sandbox.api.payulatam.com/payments-api/4.0/service.cgi").respond(
            200, json=submitted
        )
        started = await start_payment(gql, world.agency.token, booking_id, method="PSE",
                                      payerDocument="1020304050", bankCode="1022",
                                      country="CO")  # fmt: skip
    payload = started.ok()["startPayment"]
    payment_id = payload["payment"]["id"]
    bank_url = submitted["transactionResponse"]["extraParameters"]["BANK_URL"]
    assert (payload["nextAction"]["kind"], payload["nextAction"]["redirectUrl"]) == (
        "REDIRECT", bank_url
    )  # fmt: skip

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = _payu_confirmation(payment_id)
    tampered = _payu_confirmation(payment_id).replace(b"value=360.00", b"value=36.00")
    assert (await http.post("/webhooks/payu", content=tampered, headers=form)).status_code == 401
    first = await http.post("/webhooks/payu", content=body, headers=form)
    again = await http.post("/webhooks/payu", content=body, headers=form)
    assert (first.status_code, first.json()["outcome"]) == (200, "APPLIED")
    assert (again.status_code, again.json()["outcome"]) == (200, "DUPLICATE")
    seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
    assert seen["payment"]["status"] == "SUCCEEDED"
    # COP has no decimals (CLDR, as PayU and the input rule count them): "360", not "360.00".
    assert seen["payment"]["booking"] == {"status": "CONFIRMED", "amountPaid": {"amount": "360"}}
    assert await event_count(sessions, "payment.succeeded") == 1
