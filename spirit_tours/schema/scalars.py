"""The scalars of the API, each pointing at the specification of its text (``@specifiedBy``).

They replace strawberry's built-in ``DateTime``, ``Date`` and ``Decimal`` (same names, same
Python types) through the schema's ``scalar_overrides``: what a value looks like is then written
down where a generated client can read it, and the output always follows it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

# RFC 3339 §5.6 defines both productions: ``date-time`` (DateTime) and ``full-date`` (Date).
RFC_3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
XSD_DECIMAL = "https://www.w3.org/TR/xmlschema11-2/#decimal"
# XML Schema's decimal, and an exponent; ASCII digits only (``decimal.Decimal`` alone also reads
# "1_000" and the digits of other scripts, Arabic-Indic or full-width, as numbers).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _refuse(type_name: str, value: object, why: str = "") -> StrawberryInputCoercionError:
    return StrawberryInputCoercionError(f'Value cannot represent a {type_name}: "{value}".{why}')


def _serialize_datetime(value: dt.datetime) -> str:
    # Our clock and columns are UTC-aware; a naive value is UTC, never "local".
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.isoformat()


def _parse_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise _refuse("DateTime", value, " Expected a string.")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise _refuse("DateTime", value, f" {error}") from None


def _serialize_date(value: dt.date) -> str:
    return value.isoformat()


def _parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise _refuse("Date", value, " Expected a string.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise _refuse("Date", value, f" {error}") from None


def _serialize_decimal(value: Any) -> str:
    # Plain notation, never "1E+3": "1000", "12.50"; money is normalised before (Money).
    return format(decimal.Decimal(value), "f")


def _parse_decimal(value: object) -> decimal.Decimal:
    # A JSON number is taken as written (1e3 → 1000); a float never becomes binary noise
    # because Python prints the shortest text that round-trips.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refuse("Decimal", value, " Expected a string or a number.")
    text = str(value).strip()
    if not _DECIMAL_TEXT.fullmatch(text):
        if text.lstrip("+-").lower() in ("nan", "snan", "inf", "infinity"):
            raise _refuse("Decimal", value, " Expected a finite number.")
        raise _refuse("Decimal", value)
    try:
        parsed = decimal.Decimal(text)
    except decimal.DecimalException:
        raise _refuse("Decimal", value) from None
    if not parsed.is_finite():
        raise _refuse("Decimal", value, " Expected a finite number.")
    # "-0" is zero: kept as it was written, it would be stored and shown as "-0.00".
    return parsed.copy_abs() if parsed.is_zero() else parsed


DATE_TIME = ScalarDefinition(
    name="DateTime",
    description=(
        "An instant as an RFC 3339 `date-time` with its offset, e.g. "
        '"2026-03-01T09:30:00+00:00". The API answers in UTC; an input without an offset is '
        "refused where an instant is needed."
    ),
    specified_by_url=RFC_3339,
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=None,
    origin=dt.datetime,
)

DATE = ScalarDefinition(
    name="Date",
    description='A calendar day as an RFC 3339 `full-date` (ISO 8601), e.g. "2026-03-01".',
    specified_by_url=RFC_3339,
    serialize=_serialize_date,
    parse_value=_parse_date,
    parse_literal=None,
    origin=dt.date,
)

DECIMAL = ScalarDefinition(
    name="Decimal",
    description=(
        "An exact decimal number as a string in plain notation (XML Schema `decimal`: "
        'optional sign, digits, optional fraction), e.g. "1012.50"; never a float. Inputs '
        "may also be JSON numbers or use an exponent (1e3); NaN and infinities are refused. "
        "Money amounts come with exactly their currency's minor units (see `Money`)."
    ),
    specified_by_url=XSD_DECIMAL,
    serialize=_serialize_decimal,
    parse_value=_parse_decimal,
    parse_literal=None,
    origin=decimal.Decimal,
)

SCALAR_OVERRIDES: dict[object, Any] = {
    dt.datetime: DATE_TIME,
    dt.date: DATE,
    decimal.Decimal: DECIMAL,
}
"""For ``strawberry.Schema(scalar_overrides=…)``: every schema of ours uses these."""
