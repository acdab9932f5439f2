"""Payment and cancellation policies: what is due when, and what a cancellation refunds (the
tiers themselves, also read from configuration, are ``core.cancellation``).

Pure functions over dates and Decimals, so every boundary is easy to state and to test. Days
before the start are counted in calendar days of UTC dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from spirit_tours.core.cancellation import (
    HUNDRED,
    CancellationTier,
    cancellation_policy,
    percentage,
)
from spirit_tours.core.errors import bad_input
from spirit_tours.core.money import round_to_currency


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
            percentage(percent, "paymentPolicy.depositPercent", low_exclusive=True)
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


class PolicyFields(Protocol):
    """What a booking stores of its payment policy (a ``Booking`` row, or any such value)."""

    @property
    def deposit_percent(self) -> Decimal | None: ...

    @property
    def deposit_due_date(self) -> date | None: ...

    @property
    def balance_due_date(self) -> date: ...


def payment_policy_of(booking: PolicyFields) -> PaymentPolicy:
    return PaymentPolicy(
        booking.deposit_percent, booking.deposit_due_date, booking.balance_due_date
    )


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
