"""MercadoPago adapter against recorded HTTP exchanges (``responses``): no network.

The bodies under tests/recorded/mercadopago/ follow MercadoPago's documented responses. Every test
checks what went over the wire as well as what came back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

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
from spirit_tours.payments.mercadopago.gateway import MercadoPagoGateway

API = "https://api.mercadopago.com"
RECORDED = Path(__file__).parent / "recorded" / "mercadopago"
ACCESS_TOKEN = "TEST-6295877106812064-031012-abcdef"
WEBHOOK_SECRET = "whsec-test-" + "7" * 32
PAYMENT_ID = uuid.UUID("0b9c2c6e-7a51-4f4e-9a3f-1f0d6c1e2a10")
PREFERENCE_ID = "202809963-920c288b-4ebb-40be-966f-700250fa5370"
CARD_PAYMENT = "1319822999"
UNMATCHED = "Connection refused by Responses"


def recorded(name: str) -> dict[str, Any]:
    body = json.loads((RECORDED / f"{name}.json").read_text())
    assert isinstance(body, dict)
    return body


def wire_json(call: responses.Call) -> Any:
    body = call.request.body
    assert isinstance(body, str | bytes)
    return json.loads(body)


@pytest.fixture
def mp() -> Iterator[responses.RequestsMock]:
    """Recorded MercadoPago; any unregistered request fails the test. The adapter would turn the
    refused connection into ProviderUnavailableError, so the check looks at the calls too."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        unmatched = [call.request.url for call in mock.calls if UNMATCHED in str(call.response)]
        assert unmatched == []


@pytest.fixture
def gateway() -> PaymentGateway:
    """Typed as the protocol, so mypy checks that the adapter implements it."""
    return MercadoPagoGateway(ACCESS_TOKEN, WEBHOOK_SECRET)


def payment_request(
    method: PaymentMethod,
    currency: str,
    *,
    amount: str = "899.90",
    document: str | None = "191.191.191-00",
    installments: int | None = None,
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=PAYMENT_ID,
        description="Lençóis Maranhenses 3-day trip",
        amount=Decimal(amount),
        currency=currency,
        method=method,
        payer=Payer(email="joao@example.com", full_name="João da Silva Santos", document=document),
        return_url="https://spirit.example/pay/return",
        idempotency_key="idem-" + method.value.lower(),
        installments=installments,
    )


def assert_sent_by_us(call: responses.Call, idempotency_key: str | None = None) -> None:
    headers = call.request.headers
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    if idempotency_key is not None:
        assert headers["x-idempotency-key"] == idempotency_key
    assert call.request.req_kwargs["timeout"] == 10.0  # type: ignore[attr-defined]


# --- supports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "currency", "expected"),
    [
        (PaymentMethod.CARD, "BRL", True),
        (PaymentMethod.CARD, "ARS", True),
        (PaymentMethod.CARD, "MXN", True),
        (PaymentMethod.CARD, "COP", True),
        (PaymentMethod.CARD, "CLP", True),
        (PaymentMethod.CARD, "PEN", True),
        (PaymentMethod.CARD, "UYU", True),
        (PaymentMethod.CARD, "USD", False),
        (PaymentMethod.CARD, "EUR", False),
        (PaymentMethod.PIX, "BRL", True),
        (PaymentMethod.PIX, "ARS", False),
        (PaymentMethod.BOLETO, "BRL", True),
        (PaymentMethod.BOLETO, "MXN", False),
        (PaymentMethod.PSE, "COP", False),
        (PaymentMethod.CASH, "MXN", False),
        (PaymentMethod.PAYPAL, "BRL", False),
    ],
)
def test_supports(
    gateway: PaymentGateway, method: PaymentMethod, currency: str, expected: bool
) -> None:
    assert gateway.provider is Provider.MERCADOPAGO
    assert gateway.supports(method, currency) is expected


async def test_unsupported_method_is_rejected_without_a_request(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    with pytest.raises(ProviderRejectedError, match="PIX in ARS"):
        await gateway.create_payment(payment_request(PaymentMethod.PIX, "ARS"))
    assert len(mp.calls) == 0


# --- creating payments -------------------------------------------------------------------------


async def test_card_creates_a_checkout_pro_preference(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.post(f"{API}/checkout/preferences", json=recorded("preference_created"), status=201)
    request = payment_request(PaymentMethod.CARD, "PEN", amount="1250.50", installments=6)

    payment = await gateway.create_payment(request)

    assert payment.reference == PREFERENCE_ID
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.REDIRECT
    assert payment.next_action.redirect_url == recorded("preference_created")["init_point"]
    assert payment.amount == Decimal("1250.50")
    assert payment.currency == "PEN"
    (call,) = mp.calls
    assert_sent_by_us(call, "idem-card")
    assert wire_json(call) == {
        "items": [
            {
                "id": str(PAYMENT_ID),
                "title": "Lençóis Maranhenses 3-day trip",
                "quantity": 1,
                "unit_price": 1250.5,
                "currency_id": "PEN",
            }
        ],
        "external_reference": str(PAYMENT_ID),
        "back_urls": {
            "success": "https://spirit.example/pay/return",
            "pending": "https://spirit.example/pay/return",
            "failure": "https://spirit.example/pay/return",
        },
        "auto_return": "approved",
        "payer": {"email": "joao@example.com", "name": "João", "surname": "da Silva Santos"},
        "payment_methods": {"installments": 6},
    }


async def test_card_without_installments_and_whole_amount(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    """Zero-decimal currencies (CLP) go as JSON integers, never as a float of a Decimal."""
    mp.post(f"{API}/checkout/preferences", json=recorded("preference_created"), status=201)

    await gateway.create_payment(payment_request(PaymentMethod.CARD, "CLP", amount="45000"))

    sent = wire_json(mp.calls[0])
    assert "payment_methods" not in sent
    assert sent["items"][0]["unit_price"] == 45000
    assert isinstance(sent["items"][0]["unit_price"], int)
    assert sent["items"][0]["currency_id"] == "CLP"


async def test_pix_creates_a_payment_with_a_qr_code(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.post(f"{API}/v1/payments", json=recorded("payment_pix_pending"), status=201)

    payment = await gateway.create_payment(payment_request(PaymentMethod.PIX, "BRL"))

    pix = recorded("payment_pix_pending")["point_of_interaction"]["transaction_data"]
    assert payment.reference == "1319822123"
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.QR_CODE
    assert payment.next_action.qr_code == pix["qr_code"]
    assert payment.next_action.qr_code_image == pix["qr_code_base64"]
    assert payment.next_action.expires_at == datetime(
        2025, 3, 11, 12, 0, 1, tzinfo=timezone(timedelta(hours=-4))
    )
    assert payment.amount == Decimal("899.9")
    assert payment.currency == "BRL"
    (call,) = mp.calls
    assert_sent_by_us(call, "idem-pix")
    assert wire_json(call) == {
        "transaction_amount": 899.9,
        "description": "Lençóis Maranhenses 3-day trip",
        "payment_method_id": "pix",
        "external_reference": str(PAYMENT_ID),
        "payer": {
            "email": "joao@example.com",
            "first_name": "João",
            "last_name": "da Silva Santos",
            "identification": {"type": "CPF", "number": "19119119100"},
        },
    }


async def test_boleto_creates_a_voucher(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.post(f"{API}/v1/payments", json=recorded("payment_boleto_pending"), status=201)
    request = payment_request(PaymentMethod.BOLETO, "BRL", document="12.345.678/0001-95")

    payment = await gateway.create_payment(request)

    boleto = recorded("payment_boleto_pending")
    assert payment.reference == "1319822555"
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.VOUCHER
    assert payment.next_action.voucher_url == boleto["transaction_details"]["external_resource_url"]
    assert payment.next_action.expires_at is not None
    (call,) = mp.calls
    assert_sent_by_us(call, "idem-boleto")
    sent = wire_json(call)
    assert sent["payment_method_id"] == "bolbradesco"
    assert sent["payer"]["identification"] == {"type": "CNPJ", "number": "12345678000195"}


@pytest.mark.parametrize("method", [PaymentMethod.PIX, PaymentMethod.BOLETO])
@pytest.mark.parametrize("document", [None, "", " - . "])
async def test_pix_and_boleto_need_a_document(
    gateway: PaymentGateway,
    mp: responses.RequestsMock,
    method: PaymentMethod,
    document: str | None,
) -> None:
    with pytest.raises(ProviderRejectedError, match="CPF"):
        await gateway.create_payment(payment_request(method, "BRL", document=document))
    assert len(mp.calls) == 0


async def test_sdk_calls_run_off_the_event_loop_thread(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    threads: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        threads.append(threading.get_ident())
        return 200, {}, json.dumps(recorded("payment_card_approved"))

    mp.add_callback(responses.GET, f"{API}/v1/payments/{CARD_PAYMENT}", callback=answer)

    await gateway.get_payment(CARD_PAYMENT)

    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


# --- reading payments --------------------------------------------------------------------------


async def test_get_payment_reads_an_approved_card_payment(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))

    payment = await gateway.get_payment(CARD_PAYMENT)

    assert payment.reference == CARD_PAYMENT
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.amount == Decimal("1250.5")
    assert payment.currency == "PEN"
    assert payment.card_last4 == "3704"
    assert payment.failure_reason is None
    assert payment.next_action.kind is NextActionKind.NONE
    assert payment.raw["status_detail"] == "accredited"
    assert_sent_by_us(mp.calls[0])


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("approved", "accredited", PaymentStatus.SUCCEEDED),
        ("approved", "partially_refunded", PaymentStatus.PARTIALLY_REFUNDED),
        ("pending", "pending_waiting_transfer", PaymentStatus.PENDING),
        ("in_process", "pending_contingency", PaymentStatus.PENDING),
        ("authorized", "pending_capture", PaymentStatus.PENDING),
        ("in_mediation", "in_mediation", PaymentStatus.PENDING),
        ("rejected", "cc_rejected_insufficient_amount", PaymentStatus.FAILED),
        ("cancelled", "expired", PaymentStatus.CANCELLED),
        ("refunded", "refunded", PaymentStatus.REFUNDED),
        ("charged_back", "settled", PaymentStatus.REFUNDED),
    ],
)
async def test_payment_status_mapping(
    gateway: PaymentGateway,
    mp: responses.RequestsMock,
    status: str,
    detail: str,
    expected: PaymentStatus,
) -> None:
    body = recorded("payment_card_approved") | {"status": status, "status_detail": detail}
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=body)

    payment = await gateway.get_payment(CARD_PAYMENT)

    assert payment.status is expected
    failed = expected in (PaymentStatus.FAILED, PaymentStatus.CANCELLED)
    assert payment.failure_reason == (detail if failed else None)


async def test_get_payment_of_a_paid_preference_finds_the_payment(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/checkout/preferences/{PREFERENCE_ID}", json=recorded("preference_created"))
    search = {
        "external_reference": str(PAYMENT_ID),
        "sort": "date_created",
        "criteria": "desc",
    }
    mp.get(
        f"{API}/v1/payments/search",
        json={"paging": {"total": 1}, "results": [recorded("payment_card_approved")]},
        match=[matchers.query_param_matcher(search)],
    )

    payment = await gateway.get_payment(PREFERENCE_ID)

    assert payment.reference == CARD_PAYMENT
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.card_last4 == "3704"


async def test_get_payment_of_an_unpaid_preference_still_awaits_the_payer(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/checkout/preferences/{PREFERENCE_ID}", json=recorded("preference_created"))
    mp.get(f"{API}/v1/payments/search", json={"paging": {"total": 0}, "results": []})

    payment = await gateway.get_payment(PREFERENCE_ID)

    assert payment.reference == PREFERENCE_ID
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.redirect_url == recorded("preference_created")["init_point"]


@pytest.mark.parametrize("reference", ["../users/me", "", "123?x=1", "abc-def"])
async def test_get_payment_refuses_what_is_not_a_mercadopago_id(
    gateway: PaymentGateway, mp: responses.RequestsMock, reference: str
) -> None:
    with pytest.raises(ProviderRejectedError):
        await gateway.get_payment(reference)
    assert len(mp.calls) == 0


# --- refunds -----------------------------------------------------------------------------------


async def test_partial_refund(gateway: PaymentGateway, mp: responses.RequestsMock) -> None:
    mp.post(f"{API}/v1/payments/{CARD_PAYMENT}/refunds", json=recorded("refund_created"))

    refund = await gateway.refund(CARD_PAYMENT, Decimal("300.25"), "PEN", "refund-key-1")

    assert refund.reference == "1009042015"
    assert refund.outcome is RefundOutcome.SUCCEEDED
    assert refund.amount == Decimal("300.25")
    (call,) = mp.calls
    assert_sent_by_us(call, "refund-key-1")
    assert wire_json(call) == {"amount": 300.25}


async def test_full_refund_sends_no_amount(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    body = recorded("refund_created") | {"amount": 1250.5, "status": "in_process"}
    mp.post(f"{API}/v1/payments/{CARD_PAYMENT}/refunds", json=body)

    refund = await gateway.refund(CARD_PAYMENT, None, "PEN", "refund-key-2")

    assert refund.outcome is RefundOutcome.PENDING
    assert refund.amount == Decimal("1250.5")
    (call,) = mp.calls
    assert_sent_by_us(call, "refund-key-2")
    assert call.request.body is None


async def test_refund_of_a_preference_refunds_its_payment(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/checkout/preferences/{PREFERENCE_ID}", json=recorded("preference_created"))
    mp.get(f"{API}/v1/payments/search", json={"results": [recorded("payment_card_approved")]})
    mp.post(f"{API}/v1/payments/{CARD_PAYMENT}/refunds", json=recorded("refund_created"))

    refund = await gateway.refund(PREFERENCE_ID, Decimal("300.25"), "PEN", "refund-key-3")

    assert refund.amount == Decimal("300.25")
    assert mp.calls[2].request.headers["x-idempotency-key"] == "refund-key-3"


async def test_refund_of_an_unpaid_preference_is_rejected(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/checkout/preferences/{PREFERENCE_ID}", json=recorded("preference_created"))
    mp.get(f"{API}/v1/payments/search", json={"results": []})

    with pytest.raises(ProviderRejectedError, match="nothing was paid"):
        await gateway.refund(PREFERENCE_ID, None, "PEN", "refund-key-4")


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_unavailability(
    gateway: PaymentGateway, mp: responses.RequestsMock, status: int
) -> None:
    mp.post(
        f"{API}/v1/payments", json={"message": "internal_error", "status": status}, status=status
    )

    with pytest.raises(ProviderUnavailableError) as raised:
        await gateway.create_payment(payment_request(PaymentMethod.PIX, "BRL"))

    assert raised.value.provider is Provider.MERCADOPAGO
    assert str(status) in raised.value.message


@pytest.mark.parametrize("status", [500, 429])
async def test_failed_get_is_unavailability_without_sdk_retries(
    gateway: PaymentGateway, mp: responses.RequestsMock, status: int
) -> None:
    """GETs are what urllib3 would retry (and, for a 429, sleep on Retry-After): it must not."""
    mp.get(
        f"{API}/v1/payments/{CARD_PAYMENT}",
        json={"message": "internal_error"},
        status=status,
        headers={"Retry-After": "120"},
    )

    with pytest.raises(ProviderUnavailableError):
        await gateway.get_payment(CARD_PAYMENT)

    assert len(mp.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("connection reset by peer"),
    ],
)
async def test_timeouts_and_connection_errors_are_unavailability(
    gateway: PaymentGateway, mp: responses.RequestsMock, failure: Exception
) -> None:
    mp.post(f"{API}/checkout/preferences", body=failure)

    with pytest.raises(ProviderUnavailableError, match="request failed"):
        await gateway.create_payment(payment_request(PaymentMethod.CARD, "BRL"))

    assert len(mp.calls) == 1


async def test_timeout_setting_reaches_requests(mp: responses.RequestsMock) -> None:
    gateway = MercadoPagoGateway(ACCESS_TOKEN, WEBHOOK_SECRET, timeout_seconds=3)
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))

    await gateway.get_payment(CARD_PAYMENT)

    assert mp.calls[0].request.req_kwargs["timeout"] == 3.0  # type: ignore[attr-defined]


async def test_bad_request_is_a_rejection_with_the_providers_message(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.post(f"{API}/v1/payments", json=recorded("error_bad_request"), status=400)

    with pytest.raises(ProviderRejectedError) as raised:
        await gateway.create_payment(payment_request(PaymentMethod.PIX, "BRL"))

    assert raised.value.provider is Provider.MERCADOPAGO
    assert raised.value.message == "Invalid user identification number"


async def test_unknown_payment_is_a_rejection(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    body = {"message": "Payment not found", "error": "not_found", "status": 404, "cause": []}
    mp.get(f"{API}/v1/payments/42", json=body, status=404)

    with pytest.raises(ProviderRejectedError, match="Payment not found"):
        await gateway.get_payment("42")


async def test_refund_refused_lists_the_causes(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    body = {
        "message": "bad_request",
        "error": "bad_request",
        "status": 400,
        "cause": [{"code": 2085, "description": "Invalid refund amount"}],
    }
    mp.post(f"{API}/v1/payments/{CARD_PAYMENT}/refunds", json=body, status=400)

    with pytest.raises(ProviderRejectedError) as raised:
        await gateway.refund(CARD_PAYMENT, Decimal("99999"), "PEN", "refund-key-5")

    assert raised.value.message == "bad_request; Invalid refund amount"


async def test_success_without_a_json_body_is_unavailability(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", body="<html>maintenance</html>", status=200)

    with pytest.raises(ProviderUnavailableError, match="without a JSON object"):
        await gateway.get_payment(CARD_PAYMENT)


# --- webhooks ----------------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def signed_headers(
    data_id: str,
    *,
    ts: int | None = None,
    request_id: str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
    secret: str = WEBHOOK_SECRET,
) -> dict[str, str]:
    """Signed the way MercadoPago documents it, written from the spec rather than the adapter."""
    ts = now_ms() if ts is None else ts
    manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
    digest = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-request-id": request_id,
        "x-signature": f"ts={ts},v1={digest}",
    }


def notification(data_id: str = CARD_PAYMENT, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 112233445566,
        "live_mode": True,
        "type": "payment",
        "date_created": "2025-03-10T12:05:03.000-03:00",
        "user_id": 202809963,
        "api_version": "v1",
        "action": "payment.updated",
        "data": {"id": data_id},
    }
    return body | fields


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def test_webhook_verified_and_decoded(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))

    event = await gateway.parse_webhook(encoded(notification()), signed_headers(CARD_PAYMENT))

    assert event.event_id == "112233445566"
    assert event.kind == "payment.updated"
    assert event.payment_reference == CARD_PAYMENT
    assert event.payment_id == PAYMENT_ID
    assert event.status is PaymentStatus.SUCCEEDED
    assert event.amount == Decimal("1250.5")
    assert event.currency == "PEN"
    assert event.card_last4 == "3704"
    assert event.refunded_amount is None
    assert event.raw["id"] == int(CARD_PAYMENT)
    assert_sent_by_us(mp.calls[0])


async def test_webhook_with_ts_in_seconds(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))
    headers = signed_headers(CARD_PAYMENT, ts=int(time.time()))

    event = await gateway.parse_webhook(encoded(notification()), headers)

    assert event.status is PaymentStatus.SUCCEEDED


async def test_webhook_of_a_partial_refund(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    payment = recorded("payment_card_approved") | {
        "status_detail": "partially_refunded",
        "transaction_amount_refunded": 300.25,
        "external_reference": "not-a-uuid",
    }
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=payment)

    event = await gateway.parse_webhook(encoded(notification()), signed_headers(CARD_PAYMENT))

    assert event.status is PaymentStatus.PARTIALLY_REFUNDED
    assert event.refunded_amount == Decimal("300.25")
    assert event.payment_id is None


async def test_webhook_without_an_id_falls_back_to_action_and_resource(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))
    body = notification()
    del body["id"]

    event = await gateway.parse_webhook(encoded(body), signed_headers(CARD_PAYMENT))

    assert event.event_id == f"payment.updated:{CARD_PAYMENT}"


async def test_webhook_of_another_type_calls_nothing_and_lower_cases_the_id(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    body = notification("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3", type="order", action="order.processed")

    event = await gateway.parse_webhook(
        encoded(body), signed_headers("ord01jq4s4ky8hwq6na5pxb65b3d3")
    )

    assert event.event_id == "112233445566"
    assert event.kind == "order.processed"
    assert event.payment_reference is None
    assert event.status is None
    assert event.raw == body
    assert len(mp.calls) == 0
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(encoded(body), signed_headers("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"))


async def test_webhook_with_a_tampered_payment_id(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    headers = signed_headers(CARD_PAYMENT)

    with pytest.raises(InvalidSignatureError, match="does not match"):
        await gateway.parse_webhook(encoded(notification("1319822998")), headers)
    assert len(mp.calls) == 0


async def test_webhook_with_a_tampered_request_id(gateway: PaymentGateway) -> None:
    headers = signed_headers(CARD_PAYMENT) | {"x-request-id": "another-request"}

    with pytest.raises(InvalidSignatureError, match="does not match"):
        await gateway.parse_webhook(encoded(notification()), headers)


async def test_webhook_with_a_tampered_timestamp(gateway: PaymentGateway) -> None:
    headers = signed_headers(CARD_PAYMENT)
    signature = headers["x-signature"].split(",")[1]
    headers["x-signature"] = f"ts={now_ms() + 1},{signature}"

    with pytest.raises(InvalidSignatureError, match="does not match"):
        await gateway.parse_webhook(encoded(notification()), headers)


async def test_webhook_signed_with_another_secret(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    headers = signed_headers(CARD_PAYMENT, secret="someone-elses-secret")

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(encoded(notification()), headers)
    assert len(mp.calls) == 0


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "v1=abcdef",
        "ts=1741619103000",
        "ts=yesterday,v1=abcdef",
        "ts=-1741619103000,v1=abcdef",
        "ts=1741619103000,v1=",
        "garbage",
        "ts=1741619103000,v1=ñandú-ünïcödé",
    ],
)
async def test_webhook_without_a_usable_signature_header(
    gateway: PaymentGateway, mp: responses.RequestsMock, signature: str | None
) -> None:
    headers = signed_headers(CARD_PAYMENT)
    del headers["x-signature"]
    if signature is not None:
        headers["x-signature"] = signature

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(encoded(notification()), headers)
    assert len(mp.calls) == 0


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
async def test_webhook_whose_body_is_not_a_json_object(
    gateway: PaymentGateway, body: bytes
) -> None:
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(body, signed_headers(CARD_PAYMENT))


@pytest.mark.parametrize("age_seconds", [301, -301, 86_400])
async def test_webhook_outside_the_tolerance(
    gateway: PaymentGateway, mp: responses.RequestsMock, age_seconds: int
) -> None:
    headers = signed_headers(CARD_PAYMENT, ts=now_ms() - age_seconds * 1000)

    with pytest.raises(InvalidSignatureError, match="tolerance"):
        await gateway.parse_webhook(encoded(notification()), headers)
    assert len(mp.calls) == 0


async def test_webhook_within_the_tolerance(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))
    headers = signed_headers(CARD_PAYMENT, ts=now_ms() - 290_000)

    event = await gateway.parse_webhook(encoded(notification()), headers)

    assert event.payment_reference == CARD_PAYMENT


async def test_stale_webhook_replayed_without_the_freshness_check(
    gateway: PaymentGateway, mp: responses.RequestsMock
) -> None:
    mp.get(f"{API}/v1/payments/{CARD_PAYMENT}", json=recorded("payment_card_approved"))
    headers = signed_headers(CARD_PAYMENT, ts=now_ms() - 7 * 86_400 * 1000)

    event = await gateway.parse_webhook(encoded(notification()), headers, check_freshness=False)

    assert event.status is PaymentStatus.SUCCEEDED
    assert event.payment_id == PAYMENT_ID


async def test_stale_replay_still_needs_a_valid_signature(gateway: PaymentGateway) -> None:
    headers = signed_headers(CARD_PAYMENT, ts=now_ms() - 86_400_000, secret="wrong")

    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(encoded(notification()), headers, check_freshness=False)


async def test_webhook_tolerance_is_configurable(mp: responses.RequestsMock) -> None:
    gateway = MercadoPagoGateway(ACCESS_TOKEN, WEBHOOK_SECRET, webhook_tolerance_seconds=10)
    headers = signed_headers(CARD_PAYMENT, ts=now_ms() - 60_000)

    with pytest.raises(InvalidSignatureError, match="tolerance"):
        await gateway.parse_webhook(encoded(notification()), headers)
