"""Money: Decimal amounts in ISO 4217 currencies, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from spirit_tours.core.errors import bad_input

MAX_AMOUNT = Decimal("999999999999.99")


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_code(value: str, field: str = "currency") -> str:
    """An ISO 4217 code, upper-cased, or BAD_USER_INPUT."""
    code = value.strip().upper()
    if len(code) != 3 or code not in _currencies():
        raise bad_input(field, f"{value!r} is not an ISO 4217 currency code.")
    return code


def minor_units(currency: str) -> int:
    return min(2, int(get_currency_precision(currency)))


def positive_amount(value: Decimal, currency: str, field: str) -> Decimal:
    """A positive amount with no more decimals than the currency (and our storage) allows."""
    try:
        if not value.is_finite() or value <= 0:
            raise bad_input(field, "The amount must be greater than zero.")
        if value > MAX_AMOUNT:
            raise bad_input(field, "The amount is too large.")
        places = minor_units(currency)
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise bad_input(field, f"{currency} amounts have at most {places} decimals.")
    except InvalidOperation as error:
        raise bad_input(field, "The amount is not a number.") from error
    return value


def round_to_currency(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)
