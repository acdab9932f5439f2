"""Idempotent requests: a client-chosen key names one attempt, and a fingerprint of the input
tells a retry (same key, same input) from a misuse (same key, other input). Shared by the
quotation, payment and refund services."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from spirit_tours.core.errors import DomainError, ErrorCode, bad_input

_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")  # printable ASCII, no spaces


def idempotency_key(value: str) -> str:
    if not _KEY.match(value):
        raise bad_input(
            "idempotencyKey", "Use 8 to 200 printable ASCII characters, e.g. a UUID per attempt."
        )
    return value


def fingerprint(**fields: Any) -> str:
    """A stable digest of a request's input: same key + same digest = a retry."""
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def require_same_request(stored: str | None, digest: str, what: str, **ids: str) -> None:
    """A key already used: a retry carries the same input, anything else is CONFLICT on
    ``idempotencyKey`` (naming what the key made, ``ids``, so the client can find it)."""
    if stored != digest:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"This idempotency key was already used for a different {what}; use a new key.",
            field="idempotencyKey",
            **ids,
        )
