"""How the reports round what they compute: ratios, durations and percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

RATIO_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.01")


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` rounded half-up to 4 decimals; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(RATIO_PLACES, ROUND_HALF_UP))


def two_places(value: float | Decimal | None) -> float | None:
    """A duration (hours, days or minutes) rounded half-up to 2 decimals; a value that rounds to
    zero is 0.0, never -0.0 (a credit stamped a moment before its payment's row would print as
    "-0.0")."""
    if value is None:
        return None
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return float(exact.quantize(PERCENT_PLACES, ROUND_HALF_UP)) + 0.0


def percent(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_PLACES, ROUND_HALF_UP)
