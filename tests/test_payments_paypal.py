"""PayPalGateway against recorded PayPal sandbox exchanges: the real SDK speaks HTTP to a
`responses` mock, webhook certificates come from a `respx` mock, signatures are real RSA."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import requests
import responses
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
    RefundOutcome,
)
from spirit_tours.payments.gateway import (
    InvalidSignatureError,
    Payer,
    PaymentGateway,
    PaymentRequest,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from spirit_tours.payments.paypal.gateway import PayPalGateway
from tests import paypal_pki as pki

API = "https://api-m.sandbox.paypal.com"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-TEST"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
CLIENT_ID = "AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRS"
CLIENT_SECRET = "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL"
ACCESS_TOKEN = "A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj68elIDy8nF26"
ORDER_ID = "5O190127TN364715T"
CAPTURE_ID = "3C679366HH908993F"
REFUND_ID = "1JU08902781691411"
PAYMENT_ID = uuid.UUID("0b9c5f0e-7d7e-4c59-9a5e-3b8f5f1f2c11")
APPROVAL_URL = f"https://www.sandbox.paypal.com/checkoutnow?token={ORDER_ID}"
ORDERS = f"{API}/v2/checkout/orders"


# --- PayPal's documented shapes ---------------------------------------------------------


def token_json() -> dict[str, Any]:
    return {
        "scope": "https://uri.paypal.com/services/payments/payment",
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": 32400,
        "nonce": "2024-05-02T11:33:11ZwNxq8wM3EEzsL7Oo1ZrvvPLc5e8f2G7Sf9PPWxdsAxs",
    }


def capture_json(
    status: str = "COMPLETED", value: str = "150.00", currency: str = "USD"
) -> dict[str, Any]:
    return {
        "id": CAPTURE_ID,
        "status": status,
        "amount": {"currency_code": currency, "value": value},
        "final_capture": True,
        "custom_id": str(PAYMENT_ID),
        "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED"]},
        "supplementary_data": {"related_ids": {"order_id": ORDER_ID}},
        "create_time": "2024-05-02T11:40:00Z",
        "update_time": "2024-05-02T11:40:00Z",
        "links": [
            {"href": f"{API}/v2/payments/captures/{CAPTURE_ID}", "rel": "self", "method": "GET"},
            {
                "href": f"{API}/v2/payments/captures/{CAPTURE_ID}/refund",
                "rel": "refund",
                "method": "POST",
            },
        ],
    }


def order_json(
    status: str = "PAYER_ACTION_REQUIRED",
    *,
    capture: dict[str, Any] | None = None,
    value: str = "150.00",
    currency: str = "USD",
) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "reference_id": "default",
        "amount": {"currency_code": currency, "value": value},
        "payee": {"email_address": "sb-merchant@business.example.com"},
        "description": "Machu Picchu, 4 days",
        "custom_id": str(PAYMENT_ID),
    }
    if capture is not None:
        unit["payments"] = {"captures": [capture]}
    links = [{"href": f"{ORDERS}/{ORDER_ID}", "rel": "self", "method": "GET"}]
    if status == "PAYER_ACTION_REQUIRED":
        links.append({"href": APPROVAL_URL, "rel": "payer-action", "method": "GET"})
    return {
        "id": ORDER_ID,
        "intent": "CAPTURE",
        "status": status,
        "payment_source": {"paypal": {"email_address": "ana@example.com"}},
        "purchase_units": [unit],
        "create_time": "2024-05-02T11:33:12Z",
        "links": links,
    }


def refund_json(
    status: str = "COMPLETED", value: str = "40.00", total: str = "40.00"
) -> dict[str, Any]:
    return {
        "id": REFUND_ID,
        "status": status,
        "amount": {"currency_code": "USD", "value": value},
        "seller_payable_breakdown": {
            "gross_amount": {"currency_code": "USD", "value": value},
            "paypal_fee": {"currency_code": "USD", "value": "0.00"},
            "net_amount": {"currency_code": "USD", "value": value},
            "total_refunded_amount": {"currency_code": "USD", "value": total},
        },
        "create_time": "2024-05-03T09:00:00Z",
        "update_time": "2024-05-03T09:00:00Z",
        "links": [
            {"href": f"{API}/v2/payments/refunds/{REFUND_ID}", "rel": "self", "method": "GET"},
            {"href": f"{API}/v2/payments/captures/{CAPTURE_ID}", "rel": "up", "method": "GET"},
        ],
    }


def unprocessable_json(issue: str, description: str) -> dict[str, Any]:
    return {
        "name": "UNPROCESSABLE_ENTITY",
        "message": "The requested action could not be performed, semantically incorrect, or "
        "failed business validation.",
        "debug_id": "f8a3d9a1b2c3d",
        "details": [{"issue": issue, "description": description}],
        "links": [
            {
                "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue}",
                "rel": "information_link",
                "method": "GET",
            }
        ],
    }


def event_json(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "WH-58D329510W468432D-8HN650336L201105X",
        "event_version": "1.0",
        "create_time": "2024-05-02T11:40:01.940Z",
        "resource_type": "capture"
        if event_type.startswith("PAYMENT.CAPTURE")
        else "checkout-order",
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": "Payment completed for $ 150.00 USD",
        "resource": resource,
        "links": [],
    }


# --- Fixtures -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def paypal() -> Iterator[responses.RequestsMock]:
    """PayPal's API for every test (so nothing reaches the network): only what a test
    registers answers, and all of it must be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_pem(
    key: rsa.RSAPrivateKey, *, valid_from: datetime, valid_to: datetime, **options: Any
) -> bytes:
    """PayPal's signing certificate for ``key`` with its intermediate, issued by the test root
    (``options``: another ``name``, ``issuer`` or ``self_signed``)."""
    return pki.leaf_pem(key, valid_from=valid_from, valid_to=valid_to, **options)


@pytest.fixture
def certs(signing_key: rsa.RSAPrivateKey) -> Iterator[respx.MockRouter]:
    """PayPal's certificate host, serving a currently valid certificate at CERT_URL."""
    now = datetime.now(UTC)
    pem = certificate_pem(
        signing_key, valid_from=now - timedelta(days=1), valid_to=now + timedelta(days=1)
    )
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(CERT_URL, name="cert").mock(return_value=httpx.Response(200, content=pem))
        yield router


@pytest.fixture
async def gateway(certs: respx.MockRouter) -> AsyncIterator[PayPalGateway]:
    async with httpx.AsyncClient() as http:
        yield PayPalGateway(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, sandbox=True, http=http,
                            trust_roots=[pki.root().certificate])  # fmt: skip


def add_token(mock: responses.RequestsMock) -> None:
    mock.post(f"{API}/v1/oauth2/token", json=token_json())


def signed(
    key: rsa.RSAPrivateKey,
    body: bytes,
    *,
    webhook_id: str = WEBHOOK_ID,
    sent_at: datetime | None = None,
    cert_url: str = CERT_URL,
) -> dict[str, str]:
    """Headers as PayPal sends them: RSA-SHA256 over id|time|webhook id|crc32(body)."""
    transmission_id = str(uuid.uuid4())
    time = (sent_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = f"{transmission_id}|{time}|{webhook_id}|{zlib.crc32(body)}".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "paypal-transmission-id": transmission_id,
        "paypal-transmission-time": time,
        "paypal-transmission-sig": base64.b64encode(signature).decode(),
        "paypal-cert-url": cert_url,
        "paypal-auth-algo": "SHA256withRSA",
        "content-type": "application/json",
    }


def payment_request(
    amount: str = "150.00", currency: str = "USD", method: PaymentMethod = PaymentMethod.PAYPAL
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=PAYMENT_ID,
        description="Machu Picchu, 4 days",
        amount=Decimal(amount),
        currency=currency,
        method=method,
        payer=Payer(email="ana@example.com", full_name="Ana Quispe", country="PE"),
        return_url="https://spirit.example/payments/return",
        idempotency_key="pay-0b9c5f0e-attempt-1",
    )


def request_json(call: Any) -> Any:
    body = call.request.body
    return json.loads(body) if body else None


# --- supports / protocol ---------------------------------------------------------------


async def test_is_a_payment_gateway(gateway: PayPalGateway) -> None:
    as_protocol: PaymentGateway = gateway
    assert as_protocol.provider is Provider.PAYPAL


@pytest.mark.parametrize(
    ("method", "currency", "expected"),
    [
        (PaymentMethod.PAYPAL, "USD", True),
        (PaymentMethod.CARD, "EUR", True),
        (PaymentMethod.PAYPAL, "BRL", True),
        (PaymentMethod.PAYPAL, "MXN", True),
        (PaymentMethod.PAYPAL, "JPY", True),
        (PaymentMethod.PAYPAL, "COP", False),
        (PaymentMethod.PAYPAL, "PEN", False),
        (PaymentMethod.PAYPAL, "CLP", False),
        (PaymentMethod.PAYPAL, "ARS", False),
        (PaymentMethod.PIX, "BRL", False),
        (PaymentMethod.CASH, "MXN", False),
    ],
)
async def test_supports(
    gateway: PayPalGateway, method: PaymentMethod, currency: str, expected: bool
) -> None:
    assert gateway.supports(method, currency) is expected


# --- create_payment ---------------------------------------------------------------------


async def test_create_payment_creates_an_order_and_redirects_to_approval(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.post(ORDERS, json=order_json(), status=200)

    payment = await gateway.create_payment(payment_request())

    assert payment.reference == ORDER_ID
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.REDIRECT
    assert payment.next_action.redirect_url == APPROVAL_URL
    assert (payment.amount, payment.currency) == (Decimal("150.00"), "USD")

    token_call, order_call = paypal.calls
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {basic}"
    assert "grant_type=client_credentials" in str(token_call.request.body)
    headers = order_call.request.headers
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["PayPal-Request-Id"] == "pay-0b9c5f0e-attempt-1"
    assert headers["Prefer"] == "return=representation"
    body = request_json(order_call)
    assert body["intent"] == "CAPTURE"
    (unit,) = body["purchase_units"]
    assert unit["amount"] == {"currency_code": "USD", "value": "150.00"}
    assert unit["custom_id"] == str(PAYMENT_ID)
    assert unit["description"] == "Machu Picchu, 4 days"
    context = body["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == "https://spirit.example/payments/return"
    assert context["cancel_url"] == "https://spirit.example/payments/return"
    assert context["shipping_preference"] == "NO_SHIPPING"


async def test_create_payment_uses_the_currencys_decimals(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.post(ORDERS, json=order_json(value="15000", currency="JPY"))

    payment = await gateway.create_payment(payment_request("15000", "JPY", PaymentMethod.CARD))

    body = request_json(paypal.calls[1])
    assert body["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "15000"}
    assert body["payment_source"]["paypal"]["experience_context"]["landing_page"] == (
        "GUEST_CHECKOUT"
    )
    assert payment.amount == Decimal("15000")


async def test_create_payment_reuses_the_oauth_token(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.post(ORDERS, json=order_json())

    await gateway.create_payment(payment_request())
    await gateway.create_payment(payment_request())

    paths = [call.request.path_url for call in paypal.calls]
    assert paths == ["/v1/oauth2/token", "/v2/checkout/orders", "/v2/checkout/orders"]


@pytest.mark.parametrize(
    ("amount", "currency"), [("10.005", "USD"), ("100.50", "JPY"), ("0", "USD"), ("10", "COP")]
)
async def test_create_payment_refuses_amounts_paypal_cannot_take(
    gateway: PayPalGateway, paypal: responses.RequestsMock, amount: str, currency: str
) -> None:
    with pytest.raises(ProviderRejectedError):
        await gateway.create_payment(payment_request(amount, currency))
    assert len(paypal.calls) == 0


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_create_payment_server_errors_are_unavailable(
    gateway: PayPalGateway, paypal: responses.RequestsMock, status: int
) -> None:
    add_token(paypal)
    paypal.post(ORDERS, status=status, json={"name": "INTERNAL_SERVER_ERROR", "message": "boom"})

    with pytest.raises(ProviderUnavailableError):
        await gateway.create_payment(payment_request())


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ReadTimeout("read timed out"), requests.ConnectionError("reset")],
)
async def test_create_payment_timeouts_are_unavailable(
    gateway: PayPalGateway, paypal: responses.RequestsMock, failure: Exception
) -> None:
    add_token(paypal)
    paypal.post(ORDERS, body=failure)

    with pytest.raises(ProviderUnavailableError, match=type(failure).__name__):
        await gateway.create_payment(payment_request())


async def test_token_endpoint_outage_is_unavailable(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    paypal.post(f"{API}/v1/oauth2/token", status=503, body="Service Unavailable")

    with pytest.raises(ProviderUnavailableError, match="503"):
        await gateway.create_payment(payment_request())


async def test_bad_credentials_are_rejected(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    paypal.post(
        f"{API}/v1/oauth2/token",
        status=401,
        json={"error": "invalid_client", "error_description": "Client Authentication failed"},
    )

    with pytest.raises(ProviderRejectedError, match="Client Authentication failed"):
        await gateway.create_payment(payment_request())


async def test_create_payment_unprocessable_is_rejected_with_paypals_message(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    error = unprocessable_json("PAYEE_NOT_ENABLED_FOR_CARD_PROCESSING", "Payee is not enabled.")
    paypal.post(ORDERS, status=422, json=error)

    with pytest.raises(ProviderRejectedError) as raised:
        await gateway.create_payment(payment_request())

    assert raised.value.provider is Provider.PAYPAL
    assert "PAYEE_NOT_ENABLED_FOR_CARD_PROCESSING" in raised.value.message
    assert "Payee is not enabled." in raised.value.message
    assert not isinstance(raised.value, ProviderUnavailableError)


# --- get_payment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (order_json("CREATED"), PaymentStatus.REQUIRES_ACTION),
        (order_json("PAYER_ACTION_REQUIRED"), PaymentStatus.REQUIRES_ACTION),
        (order_json("APPROVED"), PaymentStatus.PENDING),
        (order_json("VOIDED"), PaymentStatus.CANCELLED),
        (order_json("COMPLETED", capture=capture_json()), PaymentStatus.SUCCEEDED),
        (order_json("COMPLETED", capture=capture_json("PENDING")), PaymentStatus.PENDING),
        (order_json("COMPLETED", capture=capture_json("DECLINED")), PaymentStatus.FAILED),
        (order_json("COMPLETED", capture=capture_json("REFUNDED")), PaymentStatus.REFUNDED),
        (
            order_json("COMPLETED", capture=capture_json("PARTIALLY_REFUNDED")),
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
    ],
)
async def test_get_payment_maps_order_and_capture_status(
    gateway: PayPalGateway,
    paypal: responses.RequestsMock,
    order: dict[str, Any],
    expected: PaymentStatus,
) -> None:
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order)

    payment = await gateway.get_payment(ORDER_ID)

    assert payment.reference == ORDER_ID
    assert payment.status is expected
    assert (payment.amount, payment.currency) == (Decimal("150.00"), "USD")
    redirect = payment.next_action.redirect_url
    assert (redirect == APPROVAL_URL) is (order["status"] == "PAYER_ACTION_REQUIRED")


async def test_get_payment_reports_the_decline_reason(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    capture = capture_json("DECLINED") | {
        "status_details": {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
    }
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("COMPLETED", capture=capture))

    payment = await gateway.get_payment(ORDER_ID)

    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "DECLINED_BY_RISK_FRAUD_FILTERS"


async def test_get_payment_unknown_order_is_rejected(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    not_found = {
        "name": "RESOURCE_NOT_FOUND",
        "message": "The specified resource does not exist.",
        "details": [
            {"issue": "INVALID_RESOURCE_ID", "description": "Specified resource ID does not exist."}
        ],
    }
    paypal.get(f"{ORDERS}/NOPE", status=404, json=not_found)

    with pytest.raises(ProviderRejectedError, match="INVALID_RESOURCE_ID"):
        await gateway.get_payment("NOPE")


# --- refund -----------------------------------------------------------------------------


async def test_refund_part_of_the_capture(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("COMPLETED", capture=capture_json()))
    paypal.post(f"{API}/v2/payments/captures/{CAPTURE_ID}/refund", json=refund_json())

    refund = await gateway.refund(ORDER_ID, Decimal("40"), "USD", "refund-7f3a")

    assert refund.reference == REFUND_ID
    assert refund.outcome is RefundOutcome.SUCCEEDED
    assert refund.amount == Decimal("40.00")
    call = paypal.calls[2]
    assert call.request.headers["PayPal-Request-Id"] == "refund-7f3a"
    assert request_json(call) == {"amount": {"currency_code": "USD", "value": "40.00"}}


async def test_refund_everything_sends_an_empty_body(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("COMPLETED", capture=capture_json()))
    refund_url = f"{API}/v2/payments/captures/{CAPTURE_ID}/refund"
    paypal.post(refund_url, json=refund_json("PENDING", "150.00", "150.00"))

    refund = await gateway.refund(ORDER_ID, None, "USD", "refund-full")

    assert refund.outcome is RefundOutcome.PENDING
    assert refund.amount == Decimal("150.00")
    assert request_json(paypal.calls[2]) == {}


async def test_refund_without_a_capture_is_rejected_before_calling_paypal(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("APPROVED"))

    with pytest.raises(ProviderRejectedError, match="no capture"):
        await gateway.refund(ORDER_ID, None, "USD", "refund-x")

    assert [call.request.method for call in paypal.calls] == ["POST", "GET"]


async def test_refund_beyond_the_capture_is_rejected(
    gateway: PayPalGateway, paypal: responses.RequestsMock
) -> None:
    add_token(paypal)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("COMPLETED", capture=capture_json()))
    error = unprocessable_json("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less.")
    paypal.post(f"{API}/v2/payments/captures/{CAPTURE_ID}/refund", status=422, json=error)

    with pytest.raises(ProviderRejectedError, match="REFUND_AMOUNT_EXCEEDED"):
        await gateway.refund(ORDER_ID, Decimal("500.00"), "USD", "refund-y")


# --- webhook signatures -----------------------------------------------------------------


def capture_completed() -> bytes:
    return json.dumps(event_json("PAYMENT.CAPTURE.COMPLETED", capture_json())).encode()


async def test_webhook_verified_and_decoded(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    body = capture_completed()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.event_id == "WH-58D329510W468432D-8HN650336L201105X"
    assert event.kind == "PAYMENT.CAPTURE.COMPLETED"
    assert event.payment_reference == ORDER_ID
    assert event.payment_id == PAYMENT_ID
    assert event.status is PaymentStatus.SUCCEEDED
    assert (event.amount, event.currency) == (Decimal("150.00"), "USD")
    assert certs.routes["cert"].call_count == 1


async def test_webhook_certificate_is_downloaded_once(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    body = capture_completed()
    await gateway.parse_webhook(body, signed(signing_key, body))
    await gateway.parse_webhook(body, signed(signing_key, body))

    assert certs.routes["cert"].call_count == 1


async def test_webhook_tampered_body_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = capture_completed()
    headers = signed(signing_key, body)
    tampered = body.replace(b'"150.00"', b'"1.50"')
    assert tampered != body

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(tampered, headers)


async def test_webhook_for_another_webhook_id_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = capture_completed()

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(body, signed(signing_key, body, webhook_id="3WK1234567890"))


async def test_webhook_signed_by_another_key_is_refused(gateway: PayPalGateway) -> None:
    body = capture_completed()
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(body, signed(forger, body))


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-TEST",
        "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-TEST",
        "https://api.sandbox.paypal.com.evil.example/v1/notifications/certs/CERT-TEST",
        "https://api.paypal.com@evil.example/v1/notifications/certs/CERT-TEST",
        "https://api.sandbox.paypal.com:8443/v1/notifications/certs/CERT-TEST",
        "https://paypal.com/v1/notifications/certs/CERT-TEST",
        # PayPal's own hosts, but not where it serves webhook certificates
        "https://www.sandbox.paypal.com/v1/notifications/certs/CERT-TEST",
        "https://uploads.sandbox.paypal.com/v1/notifications/certs/CERT-TEST",
        "https://api.sandbox.paypal.com/v1/oauth2/token",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-TEST/../../../oauth2/token",
        "https://api.sandbox.paypal.com/v1/notifications/certs/",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-TEST?redirect=evil",
        "https://api.sandbox.paypal.com/uploads/v1/notifications/certs/CERT-TEST",
        # the live hosts, for a gateway configured for the sandbox
        "https://api.paypal.com/v1/notifications/certs/CERT-TEST",
        "https://api-m.paypal.com/v1/notifications/certs/CERT-TEST",
    ],
)
async def test_webhook_certificate_off_paypal_is_never_fetched(
    gateway: PayPalGateway,
    signing_key: rsa.RSAPrivateKey,
    certs: respx.MockRouter,
    cert_url: str,
) -> None:
    body = capture_completed()

    with pytest.raises(InvalidSignatureError, match="untrusted certificate URL"):
        await gateway.parse_webhook(body, signed(signing_key, body, cert_url=cert_url))

    assert len(certs.calls) == 0


async def test_webhook_stale_transmission_is_refused_unless_replayed(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = capture_completed()
    headers = signed(signing_key, body, sent_at=datetime.now(UTC) - timedelta(minutes=10))

    with pytest.raises(InvalidSignatureError, match="stale"):
        await gateway.parse_webhook(body, headers)
    event = await gateway.parse_webhook(body, headers, check_freshness=False)

    assert event.status is PaymentStatus.SUCCEEDED


async def test_webhook_from_the_future_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = capture_completed()
    headers = signed(signing_key, body, sent_at=datetime.now(UTC) + timedelta(minutes=10))

    with pytest.raises(InvalidSignatureError, match="stale"):
        await gateway.parse_webhook(body, headers)


@pytest.mark.parametrize(
    "header",
    [
        "paypal-transmission-id",
        "paypal-transmission-time",
        "paypal-transmission-sig",
        "paypal-cert-url",
        "paypal-auth-algo",
    ],
)
async def test_webhook_missing_header_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, header: str
) -> None:
    body = capture_completed()
    headers = signed(signing_key, body)
    del headers[header]

    with pytest.raises(InvalidSignatureError, match=header):
        await gateway.parse_webhook(body, headers)


async def test_webhook_other_algorithm_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = capture_completed()
    headers = signed(signing_key, body) | {"paypal-auth-algo": "SHA1withRSA"}

    with pytest.raises(InvalidSignatureError, match="algorithm"):
        await gateway.parse_webhook(body, headers)


async def test_webhook_expired_certificate_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    now = datetime.now(UTC)
    expired = certificate_pem(
        signing_key, valid_from=now - timedelta(days=400), valid_to=now - timedelta(days=1)
    )
    expired_url = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-EXPIRED"
    certs.get(expired_url).mock(return_value=httpx.Response(200, content=expired))
    body = capture_completed()

    with pytest.raises(InvalidSignatureError, match="not currently valid"):
        await gateway.parse_webhook(body, signed(signing_key, body, cert_url=expired_url))


async def test_webhook_certificate_on_the_api_m_host_is_accepted(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    url = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594"
    certs.get(url).mock(return_value=certs.routes["cert"].return_value)
    body = capture_completed()

    event = await gateway.parse_webhook(body, signed(signing_key, body, cert_url=url))

    assert event.status is PaymentStatus.SUCCEEDED


UNTRUSTED_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-UNTRUSTED"


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"self_signed": True}, "not issued by a trusted authority"),
        ({"issuer": "another root"}, "not issued by a trusted authority"),
        ({"name": "messageverificationcerts.evil.example"}, "not PayPal's"),
        ({"name": "api.sandbox.paypal.com"}, "not PayPal's"),
        ({"name": "messageverificationcerts.paypal.com"}, "not PayPal's"),  # live, not sandbox
    ],
)
async def test_webhook_certificate_not_paypals_is_refused(
    gateway: PayPalGateway,
    signing_key: rsa.RSAPrivateKey,
    certs: respx.MockRouter,
    options: dict[str, Any],
    refusal: str,
) -> None:
    """The key in the certificate signed the notification, but the certificate is not one
    PayPal's message verification certificate: self-signed, from an authority we do not trust,
    or naming another host."""
    if options.get("issuer") == "another root":
        stranger = pki.authority("Some Other Root CA")
        options = {"issuer": pki.authority("Some Other Issuing CA", stranger)}
    now = datetime.now(UTC)
    pem = certificate_pem(signing_key, valid_from=now - timedelta(days=1),
                          valid_to=now + timedelta(days=1), **options)  # fmt: skip
    certs.get(UNTRUSTED_URL).mock(return_value=httpx.Response(200, content=pem))
    body = capture_completed()

    with pytest.raises(InvalidSignatureError, match=refusal):
        await gateway.parse_webhook(body, signed(signing_key, body, cert_url=UNTRUSTED_URL))


async def test_webhook_certificate_without_its_intermediate_is_refused(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    now = datetime.now(UTC)
    pem = certificate_pem(signing_key, valid_from=now - timedelta(days=1),
                          valid_to=now + timedelta(days=1))  # fmt: skip
    leaf_only = pem[: pem.index(b"-----END CERTIFICATE-----") + 26]
    certs.get(UNTRUSTED_URL).mock(return_value=httpx.Response(200, content=leaf_only))
    body = capture_completed()

    with pytest.raises(InvalidSignatureError, match="not issued by a trusted authority"):
        await gateway.parse_webhook(body, signed(signing_key, body, cert_url=UNTRUSTED_URL))


async def test_the_default_trust_store_does_not_trust_the_test_root(
    signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    """Without an injected store the gateway trusts the public roots (certifi), not ours."""
    body = capture_completed()
    async with httpx.AsyncClient() as http:
        public = PayPalGateway(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, sandbox=True, http=http)
        with pytest.raises(InvalidSignatureError, match="not issued by a trusted authority"):
            await public.parse_webhook(body, signed(signing_key, body))


async def test_webhook_certificates_are_cached_within_a_bound(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, certs: respx.MockRouter
) -> None:
    pem = certs.routes["cert"].return_value
    urls = [f"{CERT_URL}-{n}" for n in range(40)]
    for url in urls:
        certs.get(url).mock(return_value=pem)
    body = capture_completed()
    for url in urls + urls[-3:]:
        await gateway.parse_webhook(body, signed(signing_key, body, cert_url=url))

    assert len(certs.calls) == len(urls)  # the last ones came from the cache
    assert 0 < gateway.cached_certificates <= 16


# --- webhook events ---------------------------------------------------------------------


async def test_order_approved_captures_once_with_a_capture_request_id(
    gateway: PayPalGateway, paypal: responses.RequestsMock, signing_key: rsa.RSAPrivateKey
) -> None:
    add_token(paypal)
    capture_url = f"{ORDERS}/{ORDER_ID}/capture"
    paypal.post(capture_url, status=201, json=order_json("COMPLETED", capture=capture_json()))
    body = json.dumps(event_json("CHECKOUT.ORDER.APPROVED", order_json("APPROVED"))).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.kind == "CHECKOUT.ORDER.APPROVED"
    assert event.status is PaymentStatus.SUCCEEDED
    assert event.payment_reference == ORDER_ID
    assert event.payment_id == PAYMENT_ID
    assert event.amount == Decimal("150.00")
    captures = [call for call in paypal.calls if call.request.url == capture_url]
    assert len(captures) == 1
    assert captures[0].request.headers["PayPal-Request-Id"] == f"capture-{ORDER_ID}"


async def test_order_approved_again_after_capture_reports_the_order(
    gateway: PayPalGateway, paypal: responses.RequestsMock, signing_key: rsa.RSAPrivateKey
) -> None:
    add_token(paypal)
    already = unprocessable_json("ORDER_ALREADY_CAPTURED", "Order already captured.")
    paypal.post(f"{ORDERS}/{ORDER_ID}/capture", status=422, json=already)
    paypal.get(f"{ORDERS}/{ORDER_ID}", json=order_json("COMPLETED", capture=capture_json()))
    body = json.dumps(event_json("CHECKOUT.ORDER.APPROVED", order_json("APPROVED"))).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.status is PaymentStatus.SUCCEEDED


async def test_order_approved_but_declined_fails_the_payment(
    gateway: PayPalGateway, paypal: responses.RequestsMock, signing_key: rsa.RSAPrivateKey
) -> None:
    add_token(paypal)
    declined = unprocessable_json("INSTRUMENT_DECLINED", "The instrument was declined.")
    paypal.post(f"{ORDERS}/{ORDER_ID}/capture", status=422, json=declined)
    body = json.dumps(event_json("CHECKOUT.ORDER.APPROVED", order_json("APPROVED"))).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.status is PaymentStatus.FAILED
    assert (event.payment_reference, event.payment_id) == (ORDER_ID, PAYMENT_ID)


async def test_order_approved_while_paypal_is_down_raises_for_redelivery(
    gateway: PayPalGateway, paypal: responses.RequestsMock, signing_key: rsa.RSAPrivateKey
) -> None:
    add_token(paypal)
    paypal.post(f"{ORDERS}/{ORDER_ID}/capture", status=500, json={"name": "INTERNAL_SERVER_ERROR"})
    body = json.dumps(event_json("CHECKOUT.ORDER.APPROVED", order_json("APPROVED"))).encode()

    with pytest.raises(ProviderUnavailableError):
        await gateway.parse_webhook(body, signed(signing_key, body))


@pytest.mark.parametrize("event_type", ["PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"])
async def test_capture_denied_fails_the_payment(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey, event_type: str
) -> None:
    body = json.dumps(event_json(event_type, capture_json("DECLINED"))).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.status is PaymentStatus.FAILED
    assert event.payment_reference == ORDER_ID


@pytest.mark.parametrize(
    ("total", "capture_status", "expected"),
    [
        ("40.00", "PARTIALLY_REFUNDED", PaymentStatus.PARTIALLY_REFUNDED),
        ("150.00", "REFUNDED", PaymentStatus.REFUNDED),
    ],
)
async def test_capture_refunded_reports_the_total_refunded(
    gateway: PayPalGateway,
    paypal: responses.RequestsMock,
    signing_key: rsa.RSAPrivateKey,
    total: str,
    capture_status: str,
    expected: PaymentStatus,
) -> None:
    add_token(paypal)
    paypal.get(f"{API}/v2/payments/captures/{CAPTURE_ID}", json=capture_json(capture_status))
    refund = refund_json(value="40.00", total=total)
    body = json.dumps(event_json("PAYMENT.CAPTURE.REFUNDED", refund)).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert event.status is expected
    assert event.refunded_amount == Decimal(total)
    assert event.amount == Decimal("150.00")
    assert (event.payment_reference, event.payment_id) == (ORDER_ID, PAYMENT_ID)


async def test_unrelated_event_is_decoded_without_status(
    gateway: PayPalGateway, signing_key: rsa.RSAPrivateKey
) -> None:
    body = json.dumps(event_json("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1"})).encode()

    event = await gateway.parse_webhook(body, signed(signing_key, body))

    assert (event.kind, event.status, event.payment_reference) == (
        "CUSTOMER.DISPUTE.CREATED",
        None,
        None,
    )
