"""The offline gateway's webhooks: signing them (its checkout page plays the provider),
verifying and decoding them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.core.enums import Provider
from spirit_tours.payments.gateway import InvalidSignatureError, WebhookEvent
from spirit_tours.payments.offline.mapping import EVENT_STATUS

SIGNATURE_HEADER = "x-offline-signature"


def is_timestamp(value: str) -> bool:
    """ASCII digits, a few: ``str.isdigit`` accepts "²", which ``int`` refuses, and ``int``
    refuses more than 4300 digits."""
    return re.fullmatch(r"[0-9]{1,20}", value, re.ASCII) is not None


def same_text(expected: str, given: str) -> bool:
    """A constant-time comparison of untrusted text. On bytes: ``hmac.compare_digest`` raises
    TypeError on a str with non-ASCII characters ("surrogatepass" encodes even a lone
    surrogate, which JSON can carry)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def _digest(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a genuine offline webhook carrying ``body``."""
    stamp = str(timestamp if timestamp is not None else int(epoch_seconds()))
    return {SIGNATURE_HEADER: f"t={stamp},v1={_digest(secret, stamp, body)}"}


def event_body(payment_id: uuid.UUID, *, approved: bool, amount: Decimal, currency: str) -> bytes:
    event: dict[str, Any] = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment.succeeded" if approved else "payment.failed",
        "payment_id": str(payment_id),
        "payment_reference": f"off_{payment_id.hex}",
        "amount": str(amount),
        "currency": currency,
        "card_last4": "4242" if approved else None,
    }
    return json.dumps(event).encode()


def parse_webhook(
    secret: bytes, body: bytes, headers: Mapping[str, str], *, tolerance_seconds: int | None
) -> WebhookEvent:
    """Verify ``t=…,v1=…`` (HMAC-SHA256 of ``{t}.{body}``), within ``tolerance_seconds`` unless
    None (an operator's replay), then decode the event."""
    parts = dict(
        part.split("=", 1) for part in headers.get(SIGNATURE_HEADER, "").split(",") if "=" in part
    )
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not is_timestamp(stamp) or not same_text(_digest(secret, stamp, body), given):
        raise InvalidSignatureError(Provider.OFFLINE, "The signature does not match.")
    if tolerance_seconds is not None and abs(epoch_seconds() - int(stamp)) > tolerance_seconds:
        raise InvalidSignatureError(Provider.OFFLINE, "The signature is too old.")
    try:
        event = json.loads(body)
        payment_id = uuid.UUID(event["payment_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidSignatureError(Provider.OFFLINE, "The event is malformed.") from error
    return WebhookEvent(
        event_id=str(event.get("id")),
        kind=str(event.get("type")),
        payment_reference=event.get("payment_reference"),
        payment_id=payment_id,
        status=EVENT_STATUS.get(str(event.get("type"))),
        amount=Decimal(event["amount"]) if event.get("amount") else None,
        currency=event.get("currency"),
        card_last4=event.get("card_last4"),
        raw=event,
    )
