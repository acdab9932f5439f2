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


_CACHED_TYPES = (date, datetime, Decimal, int, tuple)
_formatted: dict[tuple[type, str, str], str] = {}
_CACHE_SIZE = 4096


def format_value(value: object, locale: str) -> str:
    """Plain (unescaped) text for a context value; escaping is the caller's job.

    Strings come first: most values are, and checking a runtime protocol costs more than
    formatting them. Dates, amounts and counts repeat from one message to the next, so their
    Babel formatting is kept per process, keyed by type and exact text (``Decimal("1.0")``
    and ``Decimal("1")`` are equal yet print differently); what fails to format is not kept."""
    if type(value) is str:
        return value
    if type(value) not in _CACHED_TYPES and not _is_money(value):
        return _format(value, locale)
    key = (type(value), str(value), locale)
    text = _formatted.get(key)
    if text is None:
        text = _format(value, locale)
        if len(_formatted) >= _CACHE_SIZE:
            _formatted.clear()
        _formatted[key] = text
    return text


def _is_money(value: object) -> bool:
    """A frozen dataclass (our context's ``Money``): its text names every field's value."""
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and bool(params.frozen) and isinstance(value, MoneyLike)


def _format(value: object, locale: str) -> str:
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
