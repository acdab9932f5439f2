"""E-mail context as JSON: messages wait in PostgreSQL (and saq in Redis), so money and dates
are stored tagged and come back as ``Money``/``date`` for Babel — never as floats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from spirit_tours.emails.formatting import MoneyLike


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


def _encode(value: object) -> Any:
    if isinstance(value, MoneyLike):
        return {"$money": [str(value.amount), value.currency]}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        amount = value[0]
        if not isinstance(amount, Decimal):
            raise TypeError(f"Money amounts must be Decimal, not {type(amount).__name__}.")
        return {"$money": [str(amount), value[1]]}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, float):
        raise TypeError("Floats are not accepted in e-mail context; use Decimal.")
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"Cannot store {type(value).__name__} in an e-mail context.")


def _decode(value: Any) -> object:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$money":
            return Money(Decimal(raw[0]), raw[1])
        if tag == "$datetime":
            return datetime.fromisoformat(raw)
        if tag == "$date":
            return date.fromisoformat(raw)
        if tag == "$decimal":
            return Decimal(raw)
    return value


def encode_context(context: Mapping[str, object]) -> dict[str, Any]:
    return {key: _encode(value) for key, value in context.items()}


def decode_context(stored: Mapping[str, Any]) -> dict[str, object]:
    return {key: _decode(value) for key, value in stored.items()}
