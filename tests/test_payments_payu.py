"""PayU Latam adapter: recorded exchanges with the sandbox host (shaped like PayU's documented
answers, see tests/recorded/payu/) and the confirmation page's signature rules, checked against
hashes computed here from PayU's documented formulas and against PayU's own published vectors.

No network: respx answers only the routes a test declares; any other request fails the test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import respx

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
    PaymentRequest,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from spirit_tours.payments.payu.gateway import PayUGateway, request_signature, tx_value
from spirit_tours.payments.payu.webhook import confirmation_value

SANDBOX = "https://sandbox.api.payulatam.com"
PAYMENTS = f"{SANDBOX}/payments-api/4.0/service.cgi"
REPORTS = f"{SANDBOX}/reports-api/4.0/service.cgi"
RECORDED = Path(__file__).parent / "recorded" / "payu"

# PayU's public sandbox credentials, as its documentation publishes them.
API_KEY = "4Vj8eK4rloUd272L48hsrarnUA"
API_LOGIN = "pRRXKOl8ikMmt9u"
MERCHANT_ID = "508029"
ACCOUNTS = {"CO": "512321", "MX": "512324", "PE": "512323"}

PAYMENT_ID = uuid.UUID("6f1c9a52-8d0e-4a49-9d2b-0c5f0f3f8a11")
PSE_ORDER_ID = "1400449959"
PSE_TRANSACTION_ID = "4d49e544-e23f-474e-92b1-59357e0e85e8"
PSE_REFERENCE = f"{PSE_ORDER_ID}:{PSE_TRANSACTION_ID}"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - PayU's documented scheme is MD5


def recorded(name: str) -> httpx.Response:
    """A recorded PayU answer, byte for byte (its numbers keep their decimals)."""
    content = (RECORDED / name).read_bytes()
    return httpx.Response(200, content=content, headers={"content-type": "application/json"})


def order_detail(
    state: str = "APPROVED",
    *,
    response_code: str = "APPROVED",
    order_status: str = "CAPTURED",
    extra_transactions: tuple[dict[str, Any], ...] = (),
) -> httpx.Response:
    """The recorded ORDER_DETAIL answer with its payment's state, the order's status and any
    refund transactions changed in the text, so its 150000.50 stays exactly as written."""
    text = (RECORDED / "order_detail.json").read_text()
    text = text.replace('"state": "APPROVED"', f'"state": "{state}"')
    text = text.replace('"responseCode": "APPROVED"', f'"responseCode": "{response_code}"')
    text = text.replace('"status": "CAPTURED"', f'"status": "{order_status}"')
    for transaction in extra_transactions:
        text = text.replace('"transactions": [', f'"transactions": [{json.dumps(transaction)},')
    return httpx.Response(200, text=text, headers={"content-type": "application/json"})


def submit_answer(state: str, transaction_id: str | None, response_code: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "code": "SUCCESS",
            "error": None,
            "transactionResponse": {
                "orderId": int(PSE_ORDER_ID),
                "transactionId": transaction_id,
                "state": state,
                "responseCode": response_code,
                "paymentNetworkResponseErrorMessage": None,
                "responseMessage": None,
                "extraParameters": None,
            },
        },
    )


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    """The JSON that went over the wire, its numbers read as Decimal."""
    decoded: dict[str, Any] = json.loads(route.calls[call].request.content, parse_float=Decimal)
    return decoded


def payment_request(
    method: PaymentMethod = PaymentMethod.PSE,
    currency: str = "COP",
    amount: Decimal = Decimal("65000"),
    **payer_changes: Any,
) -> PaymentRequest:
    payer = Payer(
        email="ana@example.com",
        full_name="Ana Gómez",
        country="CO",
        document="1020304050",
        phone="3001234567",
        ip_address="190.24.1.10",
    )
    return PaymentRequest(
        payment_id=PAYMENT_ID,
        description="Tour deposit",
        amount=amount,
        currency=currency,
        method=method,
        payer=dataclasses.replace(payer, **payer_changes),
        return_url="https://spirit.example/pay/return",
        idempotency_key="payment-key-1",
        bank_code="1022",
    )


@pytest.fixture
def payu_api() -> Iterator[respx.MockRouter]:
    """PayU's sandbox host: declared routes answer and must be used; anything else fails."""
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def gateway(payu_api: respx.MockRouter) -> AsyncIterator[PayUGateway]:
    async with httpx.AsyncClient() as client:
        yield PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS, http=client)


# --- signatures and amounts on the request side ------------------------------------------------


def test_request_signature_matches_payus_documented_example() -> None:
    expected = "ba9ffa71559580175585e45ce70b6c37"  # PayU's docs: ...~TestPayU~3~USD
    assert md5_hex(f"{API_KEY}~{MERCHANT_ID}~TestPayU~3~USD") == expected
    assert request_signature(API_KEY, MERCHANT_ID, "TestPayU", "3", "USD") == expected


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("65000"), "65000"),
        (Decimal("65000.00"), "65000"),
        (Decimal("150000.50"), "150000.50"),
        (Decimal("19.9"), "19.90"),
        (Decimal("0.05"), "0.05"),
    ],
)
def test_tx_value_writes_whole_amounts_bare_and_others_with_two_decimals(
    amount: Decimal, text: str
) -> None:
    assert tx_value(amount) == text


# --- supports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "currency", "supported"),
    [
        (PaymentMethod.PSE, "COP", True),
        (PaymentMethod.PSE, "MXN", False),
        (PaymentMethod.CASH, "COP", True),
        (PaymentMethod.CASH, "cop", True),
        (PaymentMethod.CASH, "MXN", True),
        (PaymentMethod.CASH, "PEN", True),
        (PaymentMethod.CASH, "ARS", False),
        (PaymentMethod.CASH, "USD", False),
        (PaymentMethod.CARD, "COP", False),
        (PaymentMethod.PIX, "BRL", False),
        (PaymentMethod.BOLETO, "BRL", False),
        (PaymentMethod.PAYPAL, "USD", False),
    ],
)
def test_supports_pse_and_cash_but_not_cards(
    method: PaymentMethod, currency: str, supported: bool
) -> None:
    gateway = PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS)
    assert gateway.provider is Provider.PAYU
    assert gateway.supports(method, currency) is supported


def test_supports_nothing_in_a_country_without_an_account() -> None:
    gateway = PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, {"CO": "512321"})
    assert gateway.supports(PaymentMethod.CASH, "COP")
    assert not gateway.supports(PaymentMethod.CASH, "MXN")
    assert not gateway.supports(PaymentMethod.CASH, "PEN")


# --- create_payment ----------------------------------------------------------------------------


async def test_pse_payment_sends_the_documented_request_and_redirects_to_the_bank(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("pse_submit_transaction.json"))

    payment = await gateway.create_payment(payment_request())

    assert payment.reference == PSE_REFERENCE
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.REDIRECT
    assert payment.next_action.redirect_url is not None
    assert payment.next_action.redirect_url.startswith(f"{SANDBOX}/payments-api/pse-caller?enc=")
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["accept"] == "application/json"
    body = sent(route)
    assert body["command"] == "SUBMIT_TRANSACTION"
    assert body["language"] == "es"
    assert body["test"] is True
    assert body["merchant"] == {"apiKey": API_KEY, "apiLogin": API_LOGIN}
    transaction = body["transaction"]
    order = transaction["order"]
    assert order["accountId"] == "512321"
    assert order["referenceCode"] == str(PAYMENT_ID)
    assert order["description"] == "Tour deposit"
    assert order["language"] == "es"
    assert order["signature"] == md5_hex(f"{API_KEY}~{MERCHANT_ID}~{PAYMENT_ID}~65000~COP")
    assert order["additionalValues"] == {"TX_VALUE": {"value": 65000, "currency": "COP"}}
    person = {
        "fullName": "Ana Gómez",
        "emailAddress": "ana@example.com",
        "contactPhone": "3001234567",
        "dniNumber": "1020304050",
    }
    assert order["buyer"] == person
    assert transaction["payer"] == person
    assert transaction["type"] == "AUTHORIZATION_AND_CAPTURE"
    assert transaction["paymentMethod"] == "PSE"
    assert transaction["paymentCountry"] == "CO"
    assert transaction["ipAddress"] == "190.24.1.10"
    assert transaction["extraParameters"] == {
        "RESPONSE_URL": "https://spirit.example/pay/return",
        "PSE_REFERENCE1": "190.24.1.10",
        "FINANCIAL_INSTITUTION_CODE": "1022",
        "USER_TYPE": "N",
        "PSE_REFERENCE2": "CC",
        "PSE_REFERENCE3": "1020304050",
    }
    assert "notifyUrl" not in order


@pytest.mark.parametrize(
    ("amount", "signed"),
    [
        (Decimal("65000.00"), "65000"),
        (Decimal("150000.50"), "150000.50"),
        (Decimal("1234.25"), "1234.25"),
    ],
)
async def test_the_signed_amount_is_the_exact_number_sent(
    gateway: PayUGateway, payu_api: respx.MockRouter, amount: Decimal, signed: str
) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("pse_submit_transaction.json"))

    await gateway.create_payment(payment_request(amount=amount))

    raw = route.calls.last.request.content.decode()
    assert f'"TX_VALUE":{{"value":{signed},"currency":"COP"}}' in raw
    signature = sent(route)["transaction"]["order"]["signature"]
    assert signature == md5_hex(f"{API_KEY}~{MERCHANT_ID}~{PAYMENT_ID}~{signed}~COP")


async def test_efecty_voucher_with_its_expiry(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("efecty_submit_transaction.json"))

    payment = await gateway.create_payment(payment_request(PaymentMethod.CASH))

    assert payment.reference == "1400449740:f3531b6a-3e30-4a8b-8a69-d4a5bd2a3377"
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action.kind is NextActionKind.VOUCHER
    assert payment.next_action.voucher_url == (
        "https://sandbox.checkout.payulatam.com/ppp-web-gateway-payu/app/v2"
        "?vid=1400449740Yf3531b6a3e304a8Y30f3f7b4598eb19"
    )
    # EXPIRATION_DATE 1624568315804 ms, for the documented expirationDate 2021-06-24T20:58:35.804
    assert payment.next_action.expires_at == datetime(2021, 6, 24, 20, 58, 35, 804000, tzinfo=UTC)
    transaction = sent(route)["transaction"]
    assert transaction["paymentMethod"] == "EFECTY"
    assert transaction["paymentCountry"] == "CO"
    assert "extraParameters" not in transaction


@pytest.mark.parametrize(
    ("currency", "network", "country", "account"),
    [
        ("COP", "EFECTY", "CO", "512321"),
        ("MXN", "OXXO", "MX", "512324"),
        ("PEN", "PAGOEFECTIVO", "PE", "512323"),
    ],
)
async def test_cash_goes_to_the_network_and_account_of_the_currency(
    gateway: PayUGateway,
    payu_api: respx.MockRouter,
    currency: str,
    network: str,
    country: str,
    account: str,
) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("efecty_submit_transaction.json"))

    await gateway.create_payment(payment_request(PaymentMethod.CASH, currency, country="US"))

    transaction = sent(route)["transaction"]
    assert transaction["paymentMethod"] == network
    assert transaction["paymentCountry"] == country
    assert transaction["order"]["accountId"] == account
    assert transaction["order"]["additionalValues"]["TX_VALUE"]["currency"] == currency
    assert transaction["order"]["signature"] == md5_hex(
        f"{API_KEY}~{MERCHANT_ID}~{PAYMENT_ID}~65000~{currency}"
    )


async def test_baloto_and_notify_url_when_configured(payu_api: respx.MockRouter) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("efecty_submit_transaction.json"))
    gateway = PayUGateway(
        API_KEY,
        API_LOGIN,
        MERCHANT_ID,
        ACCOUNTS,
        test=False,
        colombia_cash="BALOTO",
        notify_url="https://spirit.example/webhooks/payu",
    )
    try:
        await gateway.create_payment(payment_request(PaymentMethod.CASH))
    finally:
        await gateway.aclose()

    body = sent(route)
    assert body["test"] is False
    assert body["transaction"]["paymentMethod"] == "BALOTO"
    assert body["transaction"]["order"]["notifyUrl"] == "https://spirit.example/webhooks/payu"


async def test_the_configured_timeout_goes_with_every_request(payu_api: respx.MockRouter) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("pse_submit_transaction.json"))
    async with httpx.AsyncClient() as client:
        gateway = PayUGateway(
            API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS, timeout_seconds=2.5, http=client
        )
        await gateway.create_payment(payment_request())

    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"bank_code": None}, "bank_code"),
        ({"payer": Payer(email="ana@example.com", full_name="Ana", ip_address="1.2.3.4")}, "doc"),
        ({"payer": Payer(email="ana@example.com", full_name="Ana", document="1")}, "ip"),
    ],
)
async def test_pse_without_bank_document_or_ip_is_refused_before_calling_payu(
    gateway: PayUGateway, payu_api: respx.MockRouter, changes: dict[str, Any], missing: str
) -> None:
    request = dataclasses.replace(payment_request(), **changes)

    with pytest.raises(ProviderRejectedError, match=f"PSE needs .*{missing}"):
        await gateway.create_payment(request)
    assert not payu_api.calls


@pytest.mark.parametrize(
    "request_",
    [
        payment_request(PaymentMethod.CARD),
        payment_request(PaymentMethod.PSE, "MXN"),
        payment_request(amount=Decimal("10.001")),
        payment_request(amount=Decimal("0")),
    ],
)
async def test_what_payu_cannot_take_is_refused_before_calling_it(
    gateway: PayUGateway, payu_api: respx.MockRouter, request_: PaymentRequest
) -> None:
    with pytest.raises(ProviderRejectedError):
        await gateway.create_payment(request_)
    assert not payu_api.calls


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(503, text="Service Unavailable"), ProviderUnavailableError, "HTTP 503"),
        (httpx.Response(502), ProviderUnavailableError, "HTTP 502"),
        (httpx.Response(429), ProviderUnavailableError, "HTTP 429"),
        (httpx.ReadTimeout("timed out"), ProviderUnavailableError, "ReadTimeout"),
        (httpx.ConnectTimeout("timed out"), ProviderUnavailableError, "ConnectTimeout"),
        (httpx.ConnectError("refused"), ProviderUnavailableError, "ConnectError"),
        (httpx.Response(200, text="<html>maintenance</html>"), ProviderUnavailableError, "JSON"),
        (httpx.Response(200, json={"code": "MAYBE"}), ProviderUnavailableError, "MAYBE"),
        (httpx.Response(400, text="bad"), ProviderRejectedError, "HTTP 400"),
        (recorded("error.json"), ProviderRejectedError, "Invalid request format"),
        (submit_answer("DECLINED", "t-1", "ENTITY_DECLINED"), ProviderRejectedError, "ENTITY_DEC"),
        (submit_answer("ERROR", "t-1", "ERROR_CONVERTING"), ProviderRejectedError, "ERROR_CON"),
    ],
)
async def test_payu_failures_say_whether_another_provider_may_help(
    gateway: PayUGateway,
    payu_api: respx.MockRouter,
    answer: httpx.Response | Exception,
    error: type[Exception],
    message: str,
) -> None:
    route = payu_api.post(PAYMENTS)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)

    with pytest.raises(error, match=message) as raised:
        await gateway.create_payment(payment_request())
    assert str(raised.value).startswith("PAYU: ")
    assert API_KEY not in str(raised.value)


async def test_a_gateway_without_a_client_makes_and_closes_its_own(
    payu_api: respx.MockRouter,
) -> None:
    payu_api.post(PAYMENTS).mock(return_value=recorded("pse_submit_transaction.json"))
    gateway = PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS)

    payment = await gateway.create_payment(payment_request())
    await gateway.aclose()
    await gateway.aclose()

    assert payment.reference == PSE_REFERENCE


# --- get_payment -------------------------------------------------------------------------------


async def test_get_payment_queries_the_order_and_reads_amounts_as_decimal(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    route = payu_api.post(REPORTS).mock(return_value=order_detail())

    payment = await gateway.get_payment(PSE_REFERENCE)

    assert sent(route) == {
        "language": "es",
        "command": "ORDER_DETAIL",
        "merchant": {"apiKey": API_KEY, "apiLogin": API_LOGIN},
        "test": True,
        "details": {"orderId": int(PSE_ORDER_ID)},
    }
    assert payment.reference == PSE_REFERENCE
    assert payment.status is PaymentStatus.SUCCEEDED
    assert isinstance(payment.amount, Decimal)
    assert payment.amount == Decimal("150000.50")
    assert str(payment.amount) == "150000.50"
    assert payment.currency == "COP"
    assert payment.failure_reason is None


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("APPROVED", PaymentStatus.SUCCEEDED),
        ("PENDING", PaymentStatus.PENDING),
        ("DECLINED", PaymentStatus.FAILED),
        ("ERROR", PaymentStatus.FAILED),
        ("EXPIRED", PaymentStatus.CANCELLED),
        ("REFUNDED", PaymentStatus.REFUNDED),
    ],
)
async def test_get_payment_maps_payus_transaction_states(
    gateway: PayUGateway, payu_api: respx.MockRouter, state: str, status: PaymentStatus
) -> None:
    payu_api.post(REPORTS).mock(return_value=order_detail(state))

    assert (await gateway.get_payment(PSE_REFERENCE)).status is status


async def test_a_declined_payment_says_why(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    payu_api.post(REPORTS).mock(
        return_value=order_detail("DECLINED", response_code="ENTITY_DECLINED")
    )

    payment = await gateway.get_payment(PSE_REFERENCE)

    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "ENTITY_DECLINED"


def refund_transaction(kind: str, state: str) -> dict[str, Any]:
    return {
        "id": "9b0b3c1e-6b6b-4f2b-a7a5-3e5c1e1c2f00",
        "type": kind,
        "parentTransactionId": PSE_TRANSACTION_ID,
        "transactionResponse": {"state": state},
        "additionalValues": {"TX_VALUE": {"value": 50000, "currency": "COP"}},
    }


@pytest.mark.parametrize(
    ("order_status", "refunds", "status"),
    [
        ("REFUNDED", (refund_transaction("REFUND", "APPROVED"),), PaymentStatus.REFUNDED),
        (
            "CAPTURED",
            (refund_transaction("PARTIAL_REFUND", "APPROVED"),),
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
        ("CAPTURED", (refund_transaction("PARTIAL_REFUND", "PENDING"),), PaymentStatus.SUCCEEDED),
        ("CAPTURED", (refund_transaction("REFUND", "DECLINED"),), PaymentStatus.SUCCEEDED),
    ],
)
async def test_get_payment_sees_refunds_on_the_order(
    gateway: PayUGateway,
    payu_api: respx.MockRouter,
    order_status: str,
    refunds: tuple[dict[str, Any], ...],
    status: PaymentStatus,
) -> None:
    payu_api.post(REPORTS).mock(
        return_value=order_detail(order_status=order_status, extra_transactions=refunds)
    )

    assert (await gateway.get_payment(PSE_REFERENCE)).status is status


async def test_get_payment_of_a_bare_transaction_id_asks_for_the_transaction(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    answer = {
        "code": "SUCCESS",
        "error": None,
        "result": {
            "payload": {
                "state": "PENDING",
                "trazabilityCode": "2204682",
                "responseCode": "PENDING_TRANSACTION_CONFIRMATION",
                "pendingReason": "AWAITING_NOTIFICATION",
            }
        },
    }
    route = payu_api.post(REPORTS).mock(return_value=httpx.Response(200, json=answer))

    payment = await gateway.get_payment(PSE_TRANSACTION_ID)

    body = sent(route)
    assert body["command"] == "TRANSACTION_RESPONSE_DETAIL"
    assert body["details"] == {"transactionId": PSE_TRANSACTION_ID}
    assert payment.reference == PSE_TRANSACTION_ID
    assert payment.status is PaymentStatus.PENDING


async def test_get_payment_of_an_unknown_order_is_rejected(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    empty = {"code": "SUCCESS", "error": None, "result": {"payload": None}}
    payu_api.post(REPORTS).mock(return_value=httpx.Response(200, json=empty))

    with pytest.raises(ProviderRejectedError, match=PSE_ORDER_ID):
        await gateway.get_payment(PSE_REFERENCE)


async def test_get_payment_is_unavailable_when_the_reports_api_is(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    payu_api.post(REPORTS).mock(return_value=httpx.Response(503))

    with pytest.raises(ProviderUnavailableError):
        await gateway.get_payment(PSE_REFERENCE)


@pytest.mark.parametrize("reference", ["abc:def", ":t-1", f"{PSE_ORDER_ID}:"])
async def test_a_reference_that_is_not_payus_is_rejected_without_a_call(
    gateway: PayUGateway, payu_api: respx.MockRouter, reference: str
) -> None:
    with pytest.raises(ProviderRejectedError, match="not a PayU"):
        await gateway.get_payment(reference)
    with pytest.raises(ProviderRejectedError, match="not a PayU"):
        await gateway.refund(reference, None, "COP", "refund-key-0")
    assert not payu_api.calls


# --- refund ------------------------------------------------------------------------------------


async def test_partial_refund_sends_the_amount_and_awaits_payus_review(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    route = payu_api.post(PAYMENTS).mock(return_value=recorded("refund_pending.json"))

    refund = await gateway.refund(PSE_REFERENCE, Decimal("50000.50"), "COP", "refund-key-1")

    body = sent(route)
    assert body["command"] == "SUBMIT_TRANSACTION"
    assert body["merchant"] == {"apiKey": API_KEY, "apiLogin": API_LOGIN}
    assert body["transaction"] == {
        "order": {"id": int(PSE_ORDER_ID)},
        "type": "PARTIAL_REFUND",
        "parentTransactionId": PSE_TRANSACTION_ID,
        "reason": "Spirit Tours refund refund-key-1",
        "additionalValues": {"TX_VALUE": {"value": Decimal("50000.50"), "currency": "COP"}},
    }
    assert '"value":50000.50' in route.calls.last.request.content.decode()
    assert refund.outcome is RefundOutcome.PENDING
    assert refund.amount == Decimal("50000.50")
    assert refund.reference == PSE_ORDER_ID  # PayU names no refund transaction while reviewing


async def test_full_refund_reads_the_amount_from_the_order(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    query = payu_api.post(REPORTS).mock(return_value=order_detail())
    submit = payu_api.post(PAYMENTS).mock(
        return_value=submit_answer("APPROVED", "7f6e5d4c-0000-4000-8000-000000000001", "APPROVED")
    )

    refund = await gateway.refund(PSE_REFERENCE, None, "COP", "refund-key-2")

    assert sent(query)["details"] == {"orderId": int(PSE_ORDER_ID)}
    transaction = sent(submit)["transaction"]
    assert transaction["type"] == "REFUND"
    assert transaction["order"] == {"id": int(PSE_ORDER_ID)}
    assert transaction["parentTransactionId"] == PSE_TRANSACTION_ID
    assert "additionalValues" not in transaction
    assert refund.outcome is RefundOutcome.SUCCEEDED
    assert refund.amount == Decimal("150000.50")
    assert refund.reference == f"{PSE_ORDER_ID}:7f6e5d4c-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("PENDING", RefundOutcome.PENDING),
        ("APPROVED", RefundOutcome.SUCCEEDED),
        ("DECLINED", RefundOutcome.FAILED),
        ("ERROR", RefundOutcome.FAILED),
    ],
)
async def test_refund_outcomes(
    gateway: PayUGateway, payu_api: respx.MockRouter, state: str, outcome: RefundOutcome
) -> None:
    payu_api.post(PAYMENTS).mock(return_value=submit_answer(state, "r-1", state))

    refund = await gateway.refund(PSE_REFERENCE, Decimal("1000"), "COP", "refund-key-3")

    assert refund.outcome is outcome


async def test_full_refund_in_another_currency_is_rejected_before_submitting(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    payu_api.post(REPORTS).mock(return_value=order_detail())

    with pytest.raises(ProviderRejectedError, match="USD"):
        await gateway.refund(PSE_REFERENCE, None, "USD", "refund-key-4")


async def test_refund_refused_by_payu(gateway: PayUGateway, payu_api: respx.MockRouter) -> None:
    payu_api.post(PAYMENTS).mock(return_value=recorded("error.json"))

    with pytest.raises(ProviderRejectedError, match="Invalid request format"):
        await gateway.refund(PSE_REFERENCE, Decimal("1000"), "COP", "refund-key-5")


# --- confirmation page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "new_value"),
    [
        ("150.00", "150.0"),
        ("150.10", "150.1"),
        ("150.25", "150.25"),
        ("150.5", "150.5"),
        ("0.50", "0.5"),
        ("0.05", "0.05"),
        ("1000.00", "1000.0"),
        ("19.99", "19.99"),
        ("20.0", "20.0"),
        ("20", "20.0"),
        ("65000", "65000.0"),
        ("150000.50", "150000.5"),
        ("100.000", "100.0"),
    ],
)
def test_new_value_rounding_rule(value: str, new_value: str) -> None:
    assert confirmation_value(value) == new_value


@pytest.mark.parametrize("value", ["", "abc", "NaN", "Infinity", "150.255", "1,50"])
def test_new_value_of_something_that_is_not_an_amount(value: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        confirmation_value(value)


def confirmation(
    *,
    value: str = "150000.50",
    signed_value: str = "150000.5",
    state: str = "4",
    merchant: str = MERCHANT_ID,
    reference_sale: str = str(PAYMENT_ID),
    currency: str = "COP",
    **extra: str,
) -> dict[str, str]:
    """Confirmation fields as PayU posts them, signed by the documented MD5 formula."""
    fields = {
        "merchant_id": merchant,
        "state_pol": state,
        "response_code_pol": "1",
        "reference_sale": reference_sale,
        "reference_pol": PSE_ORDER_ID,
        "value": value,
        "currency": currency,
        "transaction_id": PSE_TRANSACTION_ID,
        "payment_method_type": "4",
        "payment_method_name": "PSE",
        "cc_number": "",
        "pse_bank": "BANCO UNION COLOMBIANO",
        "transaction_date": "2021-06-23 13:12:14",
        "test": "1",
    }
    text = f"{API_KEY}~{merchant}~{reference_sale}~{signed_value}~{currency}~{state}"
    return fields | {"sign": md5_hex(text)} | extra


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


async def test_a_signed_confirmation_is_decoded(gateway: PayUGateway) -> None:
    event = await gateway.parse_webhook(form(confirmation()), FORM)

    assert event.event_id == f"{PSE_TRANSACTION_ID}:4"
    assert event.kind == "confirmation:4"
    assert event.payment_reference == PSE_REFERENCE
    assert event.payment_id == PAYMENT_ID
    assert event.status is PaymentStatus.SUCCEEDED
    assert event.amount == Decimal("150000.50")
    assert event.currency == "COP"
    assert event.card_last4 is None
    assert event.refunded_amount is None
    assert event.raw["pse_bank"] == "BANCO UNION COLOMBIANO"


async def test_the_confirmation_names_the_reference_create_payment_returned(
    gateway: PayUGateway, payu_api: respx.MockRouter
) -> None:
    payu_api.post(PAYMENTS).mock(return_value=recorded("efecty_submit_transaction.json"))
    payment = await gateway.create_payment(payment_request(PaymentMethod.CASH))
    order_id, transaction_id = payment.reference.split(":")

    fields = confirmation(reference_pol=order_id, transaction_id=transaction_id)
    event = await gateway.parse_webhook(form(fields), FORM)

    assert event.payment_reference == payment.reference
    assert event.payment_id == PAYMENT_ID


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("4", PaymentStatus.SUCCEEDED),
        ("6", PaymentStatus.FAILED),
        ("104", PaymentStatus.FAILED),
        ("5", PaymentStatus.CANCELLED),
        ("7", PaymentStatus.PENDING),
        ("99", None),
    ],
)
async def test_confirmation_states(
    gateway: PayUGateway, state: str, status: PaymentStatus | None
) -> None:
    event = await gateway.parse_webhook(form(confirmation(state=state)), FORM)

    assert event.status is status
    assert event.event_id == f"{PSE_TRANSACTION_ID}:{state}"


@pytest.mark.parametrize(
    ("value", "signed_value"),
    [("150.00", "150.0"), ("150.10", "150.1"), ("150.25", "150.25"), ("65000", "65000.0")],
)
async def test_confirmations_verify_across_the_rounding_rule(
    gateway: PayUGateway, value: str, signed_value: str
) -> None:
    fields = confirmation(value=value, signed_value=signed_value)

    event = await gateway.parse_webhook(form(fields), FORM)

    assert event.amount == Decimal(value)


async def test_card_last4_and_an_uppercase_sign(gateway: PayUGateway) -> None:
    fields = confirmation(cc_number="************0004")
    fields["sign"] = fields["sign"].upper()

    event = await gateway.parse_webhook(form(fields), FORM)

    assert event.card_last4 == "0004"


async def test_freshness_has_nothing_to_check(gateway: PayUGateway) -> None:
    body = form(confirmation())

    fresh = await gateway.parse_webhook(body, FORM)
    replayed = await gateway.parse_webhook(body, FORM, check_freshness=False)

    assert replayed == fresh


def tampered(**changes: str) -> dict[str, str]:
    return confirmation() | changes


def without(name: str) -> dict[str, str]:
    fields = confirmation()
    del fields[name]
    return fields


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(tampered(value="150001.50"), id="tampered-value"),
        pytest.param(tampered(state_pol="6"), id="tampered-state"),
        pytest.param(tampered(currency="USD"), id="tampered-currency"),
        pytest.param(tampered(reference_sale=str(uuid.uuid4())), id="tampered-sale"),
        pytest.param(confirmation(merchant="999999"), id="other-merchant-signed-for-itself"),
        pytest.param(tampered(merchant_id="999999"), id="tampered-merchant"),
        pytest.param(without("sign"), id="missing-sign"),
        pytest.param(tampered(sign=""), id="empty-sign"),
        pytest.param(without("value"), id="missing-value"),
        pytest.param(without("state_pol"), id="missing-state"),
        pytest.param(without("transaction_id"), id="missing-transaction"),
        pytest.param(tampered(sign="é" * 32), id="non-ascii-sign"),
        pytest.param(tampered(sign="0" * 40), id="sha1-length-sign"),
        pytest.param(tampered(sign="0" * 32), id="wrong-md5"),
        pytest.param(confirmation(value="150.255", signed_value="150.255"), id="three-decimals"),
    ],
)
async def test_a_confirmation_that_does_not_verify_is_refused(
    gateway: PayUGateway, fields: dict[str, str]
) -> None:
    with pytest.raises(InvalidSignatureError) as raised:
        await gateway.parse_webhook(form(fields), FORM)
    assert raised.value.provider is Provider.PAYU


async def test_a_repeated_signed_field_is_refused(gateway: PayUGateway) -> None:
    body = form(confirmation(state="6")) + b"&state_pol=4"

    with pytest.raises(InvalidSignatureError, match="repeated"):
        await gateway.parse_webhook(body, FORM)


async def test_a_sha256_sign_is_accepted(gateway: PayUGateway) -> None:
    fields = confirmation()
    text = f"{API_KEY}~{MERCHANT_ID}~{PAYMENT_ID}~150000.5~COP~4"
    fields["sign"] = hashlib.sha256(text.encode()).hexdigest()

    event = await gateway.parse_webhook(form(fields), FORM)

    assert event.status is PaymentStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("value", "sign"),
    [  # PayU's published HMAC-SHA256 examples: reference PayUTest01, USD, state 4, key test123
        ("150.00", "65fb2b3452572784e23e7d6480359fd2507c54dd285ca3c4dceffb8764cfb66f"),
        ("150.25", "7770a7933b90570a078fcacce1790eb13079cdf8f8a6e900b79f4f5eb96b8024"),
    ],
)
async def test_payus_published_hmac_sha256_examples_verify(value: str, sign: str) -> None:
    gateway = PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS, signature_secret="test123")
    fields = confirmation(reference_sale="PayUTest01", value=value, currency="USD") | {"sign": sign}

    event = await gateway.parse_webhook(form(fields), FORM)

    assert event.status is PaymentStatus.SUCCEEDED
    assert event.amount == Decimal(value)
    assert event.payment_id is None  # not one of our payment ids


async def test_an_hmac_sign_needs_the_key_and_a_keyed_gateway_needs_hmac(
    gateway: PayUGateway,
) -> None:
    published = "65fb2b3452572784e23e7d6480359fd2507c54dd285ca3c4dceffb8764cfb66f"
    fields = confirmation(reference_sale="PayUTest01", value="150.00", currency="USD")
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(form(fields | {"sign": published}), FORM)

    keyed = PayUGateway(API_KEY, API_LOGIN, MERCHANT_ID, ACCOUNTS, signature_secret="test123")
    text = f"{API_KEY}~{MERCHANT_ID}~PayUTest01~150.0~USD~4"
    plain = hashlib.sha256(text.encode()).hexdigest()
    wrong_key = hmac.new(b"other", text.encode(), hashlib.sha256).hexdigest()
    for sign in (plain, wrong_key):
        with pytest.raises(InvalidSignatureError):
            await keyed.parse_webhook(form(fields | {"sign": sign}), FORM)


async def test_a_json_confirmation_is_verified_the_same_way(gateway: PayUGateway) -> None:
    fields = confirmation()
    body = json.dumps({k: v for k, v in fields.items() if k != "value"})[:-1]
    body += ', "value": 150000.50}'  # a JSON number, as an API notifyUrl may send it

    event = await gateway.parse_webhook(body.encode(), {"content-type": "application/json"})

    assert event.amount == Decimal("150000.50")
    assert event.payment_reference == PSE_REFERENCE
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(b"[1, 2]", {"content-type": "application/json"})
    with pytest.raises(InvalidSignatureError):
        await gateway.parse_webhook(b"not json", {"content-type": "application/json"})
