"""PayU's confirmations (the POST to the confirmation page): the posted fields, their
signature (MD5, SHA-256 or HMAC-SHA256 over merchant, sale, value, currency and state) and
the event they make."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from spirit_tours.core.enums import Provider
from spirit_tours.payments.gateway import InvalidSignatureError, WebhookEvent
from spirit_tours.payments.payu.mapping import CENT, confirmation_event

# The sign covers merchant_id, reference_sale, value, currency and state_pol; the transaction id
# names the event.
_REQUIRED_FIELDS = (
    "merchant_id",
    "reference_sale",
    "value",
    "currency",
    "state_pol",
    "sign",
    "transaction_id",
)


def confirmation_value(value: str) -> str:
    """PayU's ``new_value`` for the confirmation signature: one decimal when the second decimal
    is zero (150.00 → 150.0), otherwise two (150.25 → 150.25). ValueError if not an amount."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not an amount") from error
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValueError(f"{value!r} is not an amount with at most two decimals")
    cents = amount.quantize(CENT)
    return f"{cents:.1f}" if cents == cents.quantize(Decimal("0.1")) else f"{cents:.2f}"


def parse_confirmation(
    body: bytes,
    headers: Mapping[str, str],
    *,
    api_key: str,
    merchant_id: str,
    signature_secret: str | None,
) -> WebhookEvent:
    """The verified confirmation as an event, or :class:`InvalidSignatureError`."""
    fields = _confirmation_fields(body, headers)
    _verify_confirmation(
        fields, api_key=api_key, merchant_id=merchant_id, signature_secret=signature_secret
    )
    return confirmation_event(fields)


def _invalid(message: str) -> InvalidSignatureError:
    return InvalidSignatureError(Provider.PAYU, message)


def _confirmation_fields(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """The posted fields; a repeated one is refused, as either copy could be the signed one."""
    if "json" in headers.get("content-type", "").lower():
        return _json_fields(body)
    pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors="replace")
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _invalid("a confirmation field is repeated")
    return fields


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        decoded = json.loads(body, parse_float=Decimal)
    except ValueError as error:
        raise _invalid("the confirmation is not JSON") from error
    if not isinstance(decoded, dict):
        raise _invalid("the confirmation is not a JSON object")
    return {str(key): "" if value is None else str(value) for key, value in decoded.items()}


def _verify_confirmation(
    fields: Mapping[str, str], *, api_key: str, merchant_id: str, signature_secret: str | None
) -> None:
    missing = [name for name in _REQUIRED_FIELDS if not fields.get(name)]
    if missing:
        raise _invalid(f"the confirmation lacks {', '.join(missing)}")
    if fields["merchant_id"] != merchant_id:
        raise _invalid("the confirmation is for another merchant")
    try:
        new_value = confirmation_value(fields["value"])
    except ValueError as error:
        raise _invalid(str(error)) from error
    signed = (fields["merchant_id"], fields["reference_sale"], new_value)
    text = "~".join((api_key, *signed, fields["currency"], fields["state_pol"]))
    expected = _expected_sign(text, len(fields["sign"]), signature_secret)
    if not hmac.compare_digest(expected.encode(), fields["sign"].lower().encode()):
        raise _invalid("the confirmation signature does not match")


def _expected_sign(text: str, length: int, signature_secret: str | None) -> str:
    """MD5 by default; a 64-hex sign is SHA-256, keyed (HMAC) when PayU's panel has a key."""
    if length == 64 and signature_secret is not None:
        key = signature_secret.encode()
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    if length == 64:
        return hashlib.sha256(text.encode()).hexdigest()
    if length == 32:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - PayU's documented scheme
    raise _invalid("the confirmation signature is neither MD5 nor SHA-256")
