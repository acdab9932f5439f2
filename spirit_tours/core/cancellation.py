"""Cancellation tiers: how much of what was paid a cancellation refunds, by days of notice.

A value type of its own because three layers read it: the configuration's default
(``SPIRIT_CANCELLATION_POLICY``, checked when the settings load), the booking services that
store and apply it, and the GraphQL inputs that carry an operator's own tiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from spirit_tours.core.errors import bad_input

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CancellationTier:
    """Cancelling at least ``days_before`` days before the start refunds ``refund_percent``."""

    days_before: int
    refund_percent: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"days_before": self.days_before, "refund_percent": str(self.refund_percent)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CancellationTier:
        return cls(int(value["days_before"]), Decimal(value["refund_percent"]))


def percentage(value: Decimal, field: str, *, low_exclusive: bool = False) -> Decimal:
    try:
        valid = value.is_finite() and (value > 0 if low_exclusive else value >= 0)
        valid = valid and value <= HUNDRED and value == value.quantize(CENT)
    except InvalidOperation:
        valid = False
    if not valid:
        low = "above 0" if low_exclusive else "from 0"
        raise bad_input(field, f"A percentage {low} to 100 with at most two decimals.")
    return value


def cancellation_policy(
    tiers: Sequence[CancellationTier], field: str = "cancellationPolicy"
) -> list[CancellationTier]:
    """Tiers sorted by notice, most first; more notice never refunds less."""
    ordered = sorted(tiers, key=lambda tier: tier.days_before, reverse=True)
    if len({tier.days_before for tier in ordered}) != len(ordered):
        raise bad_input(field, "Each tier needs its own number of days.")
    for tier in ordered:
        if tier.days_before < 0 or tier.days_before > 3650:
            raise bad_input(field, "Days before the start are from 0 to 3650.")
        percentage(tier.refund_percent, field)
    ordered = [CancellationTier(t.days_before, t.refund_percent.quantize(CENT)) for t in ordered]
    for more_notice, less_notice in pairwise(ordered):
        if less_notice.refund_percent > more_notice.refund_percent:
            raise bad_input(field, "Cancelling earlier never refunds less than cancelling later.")
    return ordered


def parse_cancellation_policy(text: str) -> list[CancellationTier]:
    """``"30:100,14:50,7:25"``: days before the start → refund percent, as in configuration."""
    tiers = []
    for part in filter(None, (chunk.strip() for chunk in text.split(","))):
        days, _, percent = part.partition(":")
        try:
            tiers.append(CancellationTier(int(days), Decimal(percent)))
        except (ValueError, InvalidOperation) as error:
            raise ValueError(f"{part!r} is not days:percent") from error
    return cancellation_policy(tiers)
