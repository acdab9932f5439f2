"""Context values to text for one recipient's locale: money and dates go through Babel."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal


@runtime_checkable
class MoneyLike(Protocol):
    """Anything with a Decimal ``amount`` and an ISO 4217 ``currency`` (e.g. schema Money)."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


def format_money(amount: object, currency: str, locale: str) -> str:
    """Babel's currency format for the locale; floats are refused, not rounded silently."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money amounts must be Decimal, not {type(amount).__name__}.")
    return format_currency(amount, currency, locale=locale)


def format_value(value: object, locale: str) -> str:
    """Plain (unescaped) text for a context value; escaping is the caller's job."""
    if isinstance(value, MoneyLike):
        return format_money(value.amount, value.currency, locale)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return format_money(value[0], value[1], locale)
    if isinstance(value, datetime):
        # A datetime is shown by its calendar day; times belong to the caller's own string.
        return format_date(value.date(), format="long", locale=locale)
    if isinstance(value, date):
        return format_date(value, format="long", locale=locale)
    if isinstance(value, float):
        raise TypeError("Floats are not accepted in e-mail context; use Decimal.")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format_decimal(value, locale=locale)
    if isinstance(value, str):
        return value
    raise TypeError(f"Cannot format {type(value).__name__} for an e-mail.")
