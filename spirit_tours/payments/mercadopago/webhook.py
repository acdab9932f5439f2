"""MercadoPago's notifications: the ``x-signature`` check (HMAC-SHA256 of a manifest of
data.id, x-request-id and ts) with its timestamp tolerance. The signature covers nothing else,
so the gateway reads the payment itself from the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.payments.gateway import InvalidSignatureError
from spirit_tours.payments.mercadopago.mapping import PROVIDER, as_mapping

# x-signature's ts has been documented in seconds and observed in milliseconds: a value this large
# can only be milliseconds (10**11 seconds is in the year 5138).
MILLISECONDS_FROM = 10**11


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified notification: ``payment_id`` names the payment to read, if it is about one."""

    event_id: str
    kind: str
    payment_id: str | None
    raw: dict[str, Any]


def verify(
    secret: bytes, body: bytes, headers: Mapping[str, str], *, tolerance_seconds: int | None
) -> Notification:
    """Raises :class:`InvalidSignatureError` unless ``x-signature`` verifies (and, unless
    ``tolerance_seconds`` is None, was sent recently)."""
    notification = _json_object(body)
    data_id = _data_id(notification)
    ts, signature = _signature_header(headers.get("x-signature"))
    manifest = _manifest(data_id, headers.get("x-request-id"), ts)
    expected = hmac.new(secret, manifest.encode(), hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest raises TypeError on non-ASCII str.
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise InvalidSignatureError(PROVIDER, "x-signature does not match")
    if tolerance_seconds is not None:
        _check_freshness(int(ts), tolerance_seconds)
    kind = str(notification.get("action") or notification.get("type") or "unknown")
    about_payment = notification.get("type") == "payment" and data_id is not None
    return Notification(
        _event_id(notification, kind, data_id),
        kind,
        data_id if about_payment else None,
        notification,
    )


def _check_freshness(ts: int, tolerance_seconds: int) -> None:
    sent_at = ts / 1000 if ts >= MILLISECONDS_FROM else float(ts)
    if abs(epoch_seconds() - sent_at) > tolerance_seconds:
        raise InvalidSignatureError(PROVIDER, "x-signature timestamp is outside the tolerance")


def _json_object(body: bytes) -> dict[str, Any]:
    """Unreadable bodies cannot be verified: the signed data.id is inside."""
    try:
        notification = json.loads(body)
    except ValueError as error:
        raise InvalidSignatureError(PROVIDER, "the body is not JSON") from error
    if not isinstance(notification, dict):
        raise InvalidSignatureError(PROVIDER, "the body is not a JSON object")
    return notification


def _data_id(notification: Mapping[str, Any]) -> str | None:
    data_id = as_mapping(notification.get("data")).get("id")
    return None if data_id is None or data_id == "" else str(data_id)


def _signature_header(value: str | None) -> tuple[str, str]:
    """``ts=<timestamp>,v1=<hex HMAC>`` as (ts, v1)."""
    if not value:
        raise InvalidSignatureError(PROVIDER, "x-signature is missing")
    parts = {
        key.strip(): item.strip()
        for key, _, item in (part.partition("=") for part in value.split(","))
    }
    ts, signature = parts.get("ts", ""), parts.get("v1", "")
    if not re.fullmatch(r"[0-9]{1,20}", ts, re.ASCII) or not signature:
        raise InvalidSignatureError(PROVIDER, "x-signature is malformed")
    return ts, signature


def _manifest(data_id: str | None, request_id: str | None, ts: str) -> str:
    """MercadoPago's template ``id:{data.id};request-id:{x-request-id};ts:{ts};``: ids in lower
    case, and a part whose value the notification lacks is left out."""
    manifest = f"id:{data_id.lower()};" if data_id else ""
    if request_id:
        manifest += f"request-id:{request_id};"
    return manifest + f"ts:{ts};"


def _event_id(notification: Mapping[str, Any], kind: str, data_id: str | None) -> str:
    """Redeliveries of a notification share its id; without one, the action and the resource."""
    notification_id = notification.get("id")
    if notification_id is not None and notification_id != "":
        return str(notification_id)
    return f"{kind}:{data_id}"
