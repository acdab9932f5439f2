"""PayU Latam adapter: PSE bank transfers and cash vouchers over PayU's JSON API (no SDK).

PayU speaks one JSON envelope (``command`` + ``merchant`` credentials) to two endpoints: the
payments API (``SUBMIT_TRANSACTION`` for payments and refunds) and the reports API (queries).
Business errors come back as HTTP 200 with ``"code": "ERROR"``. Numbers are parsed as Decimal and
amounts are written as exact JSON numbers, because a float would change the amount the MD5
signature covers.

Our reference for a payment is ``"{orderId}:{transactionId}"``: queries need the order id,
refunds need both.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

import httpx

from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
)
from spirit_tours.payments.gateway import (
    Payer,
    PaymentRequest,
    ProviderPayment,
    ProviderRefund,
    ProviderRejectedError,
    ProviderUnavailableError,
    WebhookEvent,
)
from spirit_tours.payments.payu import webhook
from spirit_tours.payments.payu.mapping import (
    CENT,
    Json,
    next_action_of,
    object_of,
    order_payment,
    refund_result,
    response_detail,
    transaction_payment,
    tx_amount,
)

SANDBOX_URL = "https://sandbox.api.payulatam.com"
PAYMENTS_PATH = "/payments-api/4.0/service.cgi"
REPORTS_PATH = "/reports-api/4.0/service.cgi"


# PSE and the cash networks are bound to one country each, so the currency picks the account.
_CURRENCY_COUNTRY = {"COP": "CO", "PEN": "PE", "MXN": "MX", "ARS": "AR", "CLP": "CL", "BRL": "BR"}
_CASH_NETWORKS = {"MXN": "OXXO", "PEN": "PAGOEFECTIVO"}  # COP: Efecty or Baloto, configurable

_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
_ORDER_ID = re.compile(r"\d+")


def request_signature(
    api_key: str, merchant_id: str, reference_code: str, tx_value: str, currency: str
) -> str:
    """PayU's order signature: MD5 hex of ``ApiKey~merchantId~referenceCode~tx_value~currency``."""
    text = f"{api_key}~{merchant_id}~{reference_code}~{tx_value}~{currency}"
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - PayU's documented scheme is MD5


def tx_value(amount: Decimal) -> str:
    """An amount as PayU's examples write TX_VALUE: whole amounts bare (65000), others with two
    decimals (150.50). The same text goes into the JSON and into the signature."""
    if amount == amount.to_integral_value():
        return f"{amount.quantize(Decimal(1)):f}"
    return f"{amount.quantize(CENT):f}"


class PayUGateway:
    """PayU Latam: PSE (COP) and cash vouchers (Efecty/Baloto COP, OXXO MXN, PagoEfectivo PEN).

    PayU has no idempotency header. The natural key is ``referenceCode``, which PayU wants unique
    per sale and which is our payment id: a retried ``create_payment`` repeats it rather than
    starting an unrelated sale, and the confirmation page names our payment (``reference_sale``).
    Refunds have no key at all; PayU reviews them by hand before they move.
    """

    provider = Provider.PAYU

    def __init__(
        self,
        api_key: str,
        api_login: str,
        merchant_id: str,
        account_ids: Mapping[str, str],
        *,
        base_url: str = SANDBOX_URL,
        test: bool = True,
        timeout_seconds: float = 10.0,
        http: httpx.AsyncClient | None = None,
        colombia_cash: Literal["EFECTY", "BALOTO"] = "EFECTY",
        notify_url: str | None = None,
        signature_secret: str | None = None,
    ) -> None:
        """``account_ids`` maps ISO countries (CO, PE, MX, AR, CL, BR) to PayU account ids.
        ``notify_url`` overrides the confirmation URL configured in PayU's panel;
        ``signature_secret`` is the key of the HMAC-SHA256 confirmation signature when the panel
        is set to it (without one, 64-hex signatures are checked as plain SHA-256)."""
        self._api_key = api_key
        self._api_login = api_login
        self.merchant_id = merchant_id
        self._account_ids = {country.upper(): account for country, account in account_ids.items()}
        self._payments_url = base_url.rstrip("/") + PAYMENTS_PATH
        self._reports_url = base_url.rstrip("/") + REPORTS_PATH
        self._test = test
        self._timeout = httpx.Timeout(timeout_seconds)
        self._http = http
        self._owns_http = http is None
        self._colombia_cash = colombia_cash
        self._notify_url = notify_url
        self._signature_secret = signature_secret

    async def aclose(self) -> None:
        """Close the HTTP client if this gateway created it (an injected one is the caller's)."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- the PaymentGateway interface ---------------------------------------------------------

    def supports(self, method: PaymentMethod, currency: str) -> bool:
        """Cards are not offered through PayU here; PSE and cash need the country's account."""
        return self._network(method, currency.upper()) is not None and (
            _CURRENCY_COUNTRY.get(currency.upper()) in self._account_ids
        )

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        network = self._network(request.method, request.currency.upper())
        country = _CURRENCY_COUNTRY.get(request.currency.upper())
        if network is None or country not in self._account_ids:
            raise self._rejected(f"{request.method} in {request.currency} is not offered via PayU")
        self._check_amount(request.amount)
        if request.method is PaymentMethod.PSE:
            self._check_pse(request)
        payload = self._command("SUBMIT_TRANSACTION")
        payload["transaction"] = self._payment_transaction(request, network, country)
        answer = await self._post(self._payments_url, payload)
        return self._created_payment(object_of(answer, "transactionResponse"), answer)

    async def get_payment(self, reference: str) -> ProviderPayment:
        """ORDER_DETAIL for our ``order:transaction`` references (amount, refunds, every
        attempt); TRANSACTION_RESPONSE_DETAIL for a bare PayU transaction id."""
        if ":" not in reference:
            return await self._transaction_detail(reference)
        order_id, transaction_id = self._split_reference(reference)
        order = await self._order_detail(order_id)
        return order_payment(reference, order, transaction_id)

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        """``REFUND`` for the whole payment, ``PARTIAL_REFUND`` with a TX_VALUE otherwise.
        PayU's answer carries no amount, so a full refund reads it from the order first.
        ``idempotency_key`` only goes into the reason: PayU has nothing to deduplicate with."""
        order_id, transaction_id = self._split_reference(reference)
        if amount is None:
            refunded = await self._order_amount(order_id, currency)
        else:
            self._check_amount(amount)
            refunded = amount
        payload = self._command("SUBMIT_TRANSACTION")
        payload["transaction"] = _refund_transaction(
            order_id, transaction_id, amount, currency, idempotency_key
        )
        answer = await self._post(self._payments_url, payload)
        return refund_result(object_of(answer, "transactionResponse"), refunded, answer)

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        """Verify and decode a POST to PayU's confirmation page (``x-www-form-urlencoded``; JSON
        is accepted too, as PayU documents for API ``notifyUrl`` notifications).

        The confirmation carries no timestamp, so there is nothing for ``check_freshness`` to
        check: duplicates are caught by ``event_id`` (one per transaction and state) instead.
        The sign covers only merchant, ``reference_sale`` (our payment id), value, currency and
        state: ``payment_reference`` and ``event_id`` come from unsigned fields, so match the
        payment by ``payment_id``.
        """
        return webhook.parse_confirmation(
            body,
            headers,
            api_key=self._api_key,
            merchant_id=self.merchant_id,
            signature_secret=self._signature_secret,
        )

    # --- create_payment helpers ---------------------------------------------------------------

    def _network(self, method: PaymentMethod, currency: str) -> str | None:
        """PayU's ``paymentMethod`` for one of ours, or None where PayU is not used for it."""
        if method is PaymentMethod.PSE:
            return "PSE" if currency == "COP" else None
        if method is PaymentMethod.CASH:
            return self._colombia_cash if currency == "COP" else _CASH_NETWORKS.get(currency)
        return None

    def _check_amount(self, amount: Decimal) -> None:
        """PayU takes positive amounts with at most two decimals; others cannot be signed."""
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
            raise self._rejected(f"{amount} is not an amount PayU accepts")

    def _check_pse(self, request: PaymentRequest) -> None:
        """PSE needs the bank, the payer's id number and IP: refuse before calling PayU."""
        missing = [
            name
            for name, value in (
                ("bank_code", request.bank_code),
                ("payer.document", request.payer.document),
                ("payer.ip_address", request.payer.ip_address),
            )
            if not value
        ]
        if missing:
            raise self._rejected(f"PSE needs {', '.join(missing)}")

    def _payment_transaction(self, request: PaymentRequest, network: str, country: str) -> Json:
        transaction: Json = {
            "order": self._order(request, country),
            "payer": _person(request.payer),
            "type": "AUTHORIZATION_AND_CAPTURE",
            "paymentMethod": network,
            "paymentCountry": country,
        }
        if request.payer.ip_address:
            transaction["ipAddress"] = request.payer.ip_address
        if network == "PSE":
            transaction["extraParameters"] = _pse_parameters(request)
        return transaction

    def _order(self, request: PaymentRequest, country: str) -> Json:
        reference_code = str(request.payment_id)
        value = tx_value(request.amount)
        order: Json = {
            "accountId": self._account_ids[country],
            "referenceCode": reference_code,
            "description": request.description[:255],
            "language": "es",
            "signature": request_signature(
                self._api_key, self.merchant_id, reference_code, value, request.currency
            ),
            "additionalValues": {
                "TX_VALUE": {"value": Decimal(value), "currency": request.currency}
            },
            "buyer": _person(request.payer),
        }
        if self._notify_url:
            order["notifyUrl"] = self._notify_url
        return order

    def _created_payment(self, response: Json, answer: Json) -> ProviderPayment:
        state = str(response.get("state"))
        if state not in ("PENDING", "APPROVED"):
            raise self._rejected(f"PayU {state}: {response_detail(response)}")
        order_id, transaction_id = response.get("orderId"), response.get("transactionId")
        if order_id is None or not transaction_id:
            raise self._unavailable("PayU accepted the payment but sent no order/transaction id")
        action = next_action_of(object_of(response, "extraParameters"))
        if state == "APPROVED":
            status = PaymentStatus.SUCCEEDED
        elif action.kind is NextActionKind.NONE:
            status = PaymentStatus.PENDING
        else:
            status = PaymentStatus.REQUIRES_ACTION
        return ProviderPayment(
            reference=f"{order_id}:{transaction_id}", status=status, next_action=action, raw=answer
        )

    # --- queries ------------------------------------------------------------------------------

    async def _order_detail(self, order_id: str) -> Json:
        payload = self._command("ORDER_DETAIL")
        payload["details"] = {"orderId": int(order_id)}
        answer = await self._post(self._reports_url, payload)
        order = object_of(object_of(answer, "result"), "payload")
        if not order:
            raise self._rejected(f"PayU knows no order {order_id}")
        return order

    async def _order_amount(self, order_id: str, currency: str) -> Decimal:
        """The order's TX_VALUE, for a full refund: PayU's refund answer has no amount."""
        value, order_currency = tx_amount(await self._order_detail(order_id))
        if value is None or order_currency != currency:
            raise self._rejected(f"PayU order {order_id} is not in {currency}")
        return value

    async def _transaction_detail(self, transaction_id: str) -> ProviderPayment:
        payload = self._command("TRANSACTION_RESPONSE_DETAIL")
        payload["details"] = {"transactionId": transaction_id}
        answer = await self._post(self._reports_url, payload)
        response = object_of(object_of(answer, "result"), "payload")
        if not response:
            raise self._rejected(f"PayU knows no transaction {transaction_id}")
        return transaction_payment(transaction_id, response, answer)

    # --- HTTP -----------------------------------------------------------------------------------

    def _command(self, command: str) -> Json:
        return {
            "language": "es",
            "command": command,
            "merchant": {"apiKey": self._api_key, "apiLogin": self._api_login},
            "test": self._test,
        }

    async def _post(self, url: str, payload: Json) -> Json:
        try:
            response = await self._client().post(
                url, content=_encode_json(payload), headers=_HEADERS, timeout=self._timeout
            )
        except httpx.RequestError as error:
            raise self._unavailable(f"PayU did not answer: {type(error).__name__}") from error
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Json:
        """PayU's answer, or the error saying whether another provider may help."""
        if response.status_code == 429 or response.status_code >= 500:
            raise self._unavailable(f"PayU answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise self._rejected(f"PayU answered HTTP {response.status_code}")
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError as error:
            raise self._unavailable("PayU answered something that is not JSON") from error
        if not isinstance(answer, dict):
            raise self._unavailable("PayU answered something that is not a JSON object")
        if answer.get("code") == "ERROR":
            raise self._rejected(str(answer.get("error") or "PayU answered code ERROR"))
        if answer.get("code") != "SUCCESS":
            raise self._unavailable(f"PayU answered code {answer.get('code')!r}")
        return answer

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        return self._http

    def _split_reference(self, reference: str) -> tuple[str, str]:
        order_id, _, transaction_id = reference.partition(":")
        if not _ORDER_ID.fullmatch(order_id) or not transaction_id:
            raise self._rejected(f"{reference!r} is not a PayU order:transaction reference")
        return order_id, transaction_id

    def _rejected(self, message: str) -> ProviderRejectedError:
        return ProviderRejectedError(self.provider, message)

    def _unavailable(self, message: str) -> ProviderUnavailableError:
        return ProviderUnavailableError(self.provider, message)


# --- request building --------------------------------------------------------------------------


def _person(payer: Payer) -> Json:
    """PayU's buyer/payer object, leaving out what we do not know."""
    person = {
        "fullName": payer.full_name,
        "emailAddress": payer.email,
        "contactPhone": payer.phone,
        "dniNumber": payer.document,
    }
    return {key: value for key, value in person.items() if value}


def _pse_parameters(request: PaymentRequest) -> Json:
    """PSE's extra parameters: a natural person (N) identified by a cédula (CC)."""
    return {
        "RESPONSE_URL": request.return_url,
        "PSE_REFERENCE1": request.payer.ip_address,
        "FINANCIAL_INSTITUTION_CODE": request.bank_code,
        "USER_TYPE": "N",
        "PSE_REFERENCE2": "CC",
        "PSE_REFERENCE3": request.payer.document,
    }


def _refund_transaction(
    order_id: str, transaction_id: str, amount: Decimal | None, currency: str, key: str
) -> Json:
    transaction: Json = {
        "order": {"id": int(order_id)},
        "type": "REFUND" if amount is None else "PARTIAL_REFUND",
        "parentTransactionId": transaction_id,
        "reason": f"Spirit Tours refund {key}"[:255],
    }
    if amount is not None:
        transaction["additionalValues"] = {
            "TX_VALUE": {"value": Decimal(tx_value(amount)), "currency": currency}
        }
    return transaction


def _encode_json(payload: Json) -> bytes:
    """JSON with Decimal written as exact numbers: the json module has no Decimal support and a
    float could change the signed amount. Each number goes through a random placeholder."""
    marker = uuid.uuid4().hex
    numbers: dict[str, str] = {}

    def placeholder(value: object) -> str:
        if not isinstance(value, Decimal):
            raise TypeError(f"{type(value).__name__} is not JSON serializable")
        token = f"{marker}-{len(numbers)}"
        numbers[f'"{token}"'] = f"{value:f}"
        return token

    text = json.dumps(payload, default=placeholder, ensure_ascii=False, separators=(",", ":"))
    for token, number in numbers.items():
        text = text.replace(token, number)
    return text.encode()
