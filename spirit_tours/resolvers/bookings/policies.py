"""Payment and cancellation policies: what is due when, and what a cancellation refunds.

Pure functions over dates and Decimals, so every boundary is easy to state and to test. Days
before the start are counted in calendar days of UTC dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from spirit_tours.core.errors import bad_input
from spirit_tours.core.money import round_to_currency

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PaymentPolicy:
    """A deposit of ``deposit_percent`` by ``deposit_due`` confirms the booking and the rest is
    due by ``balance_due``; ``deposit_percent`` None means full payment by ``balance_due``."""

    deposit_percent: Decimal | None
    deposit_due: date | None
    balance_due: date

    def amount_to_confirm(self, selling_price: Decimal, currency: str) -> Decimal:
        if self.deposit_percent is None:
            return selling_price
        return round_to_currency(selling_price * self.deposit_percent / HUNDRED, currency)

    def validate(self, today: date, start: date) -> PaymentPolicy:
        percent = self.deposit_percent
        if percent is not None:
            _percent(percent, "paymentPolicy.depositPercent", low_exclusive=True)
            if percent >= HUNDRED:
                raise bad_input(
                    "paymentPolicy.depositPercent",
                    "A deposit is less than 100%; leave it out for full payment.",
                )
            if self.deposit_due is None:
                raise bad_input("paymentPolicy.depositDueDate", "A deposit needs a due date.")
            if not today <= self.deposit_due <= self.balance_due:
                raise bad_input(
                    "paymentPolicy.depositDueDate",
                    "The deposit is due between today and the balance due date.",
                )
        elif self.deposit_due is not None:
            raise bad_input("paymentPolicy.depositDueDate", "Only a deposit has a due date.")
        if not today <= self.balance_due <= start:
            raise bad_input(
                "paymentPolicy.balanceDueDate",
                "The balance is due between today and the start of the trip.",
            )
        return self


def default_payment_policy(
    today: date,
    start: date,
    *,
    deposit_percent: Decimal,
    deposit_due_days: int,
    balance_due_days_before_start: int,
) -> PaymentPolicy:
    """A deposit now and the balance some weeks before the trip; full payment when the trip
    is too close for two instalments."""
    deposit_due = min(today + timedelta(days=deposit_due_days), start)
    balance_due = start - timedelta(days=balance_due_days_before_start)
    if balance_due <= deposit_due:
        return PaymentPolicy(None, None, deposit_due)
    return PaymentPolicy(deposit_percent, deposit_due, balance_due)


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


def _percent(value: Decimal, field: str, *, low_exclusive: bool = False) -> Decimal:
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
        _percent(tier.refund_percent, field)
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


@dataclass(frozen=True)
class RefundDue:
    days_before_start: int
    refund_percent: Decimal
    amount: Decimal


def refund_due(
    tiers: Sequence[CancellationTier],
    *,
    paid: Decimal,
    currency: str,
    start: date,
    cancelled_on: date,
) -> RefundDue:
    """The share of what was paid that a cancellation on ``cancelled_on`` gives back: the tier
    with the most notice the customer still meets (exactly ``days_before`` days counts)."""
    days = (start - cancelled_on).days
    percent = next(
        (tier.refund_percent for tier in cancellation_policy(tiers) if days >= tier.days_before),
        Decimal(0),
    )
    return RefundDue(days, percent, round_to_currency(paid * percent / HUNDRED, currency))
