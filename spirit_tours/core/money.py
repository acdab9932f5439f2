"""Money: Decimal amounts in ISO 4217 currencies, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision

from spirit_tours.core.currencies import WITHDRAWN, Currency
from spirit_tours.core.errors import bad_input

MAX_AMOUNT = Decimal("999999999999.99")


def currency_code(value: str, field: str = "currency") -> str:
    """The ISO 4217 code of a new amount, upper-cased: one of ``Currency`` still in use
    (a ``WITHDRAWN`` code only reads on stored rows), or BAD_USER_INPUT."""
    code = value.strip().upper()
    if code not in Currency.__members__:
        raise bad_input(field, f"{value!r} is not an ISO 4217 currency code.")
    if Currency(code) in WITHDRAWN:
        raise bad_input(field, f"{code} is no longer in use: choose a current ISO 4217 code.")
    return code


@cache
def iso_places(currency: str) -> int:
    """The currency's minor units (CLDR): USD 2, JPY and CLP 0, KWD 3."""
    return int(get_currency_precision(currency))


def minor_units(currency: str) -> int:
    """The decimals an amount may have: the currency's, at most the 2 our columns store."""
    return min(2, iso_places(currency))


def normalised(amount: Decimal, currency: str) -> Decimal:
    """The amount written with exactly the currency's minor units ("1000.00" USD, "1000" JPY,
    "1000.000" KWD): how the API shows money. Stored amounts never have more decimals than
    :func:`minor_units` allows, so nothing is rounded away."""
    return amount.quantize(Decimal(1).scaleb(-iso_places(currency)), rounding=ROUND_HALF_UP)


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
