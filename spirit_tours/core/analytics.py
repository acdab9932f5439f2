"""The analytics reports' value types, shared by the queries that read the rollups, the GraphQL
schema and the CSV export: the date range every report covers and how a report groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from spirit_tours.core.errors import bad_input

MAX_RANGE_DAYS = 3660
"""The longest range a report covers (about ten years): a request over more is refused, so no
request makes the server aggregate an unbounded history."""


@dataclass(frozen=True)
class DateRange:
    """UTC days, both ends included."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date, end: date) -> DateRange:
        """The range from ``start`` to ``end``, or BAD_USER_INPUT (``from``/``to``)."""
        if end < start:
            raise bad_input("to", "`to` is before `from`.")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise bad_input("to", f"A report covers at most {MAX_RANGE_DAYS} days.")
        return cls(start, end)

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)


class FunnelGroupBy(StrEnum):
    MONTH = "MONTH"
    DESTINATION = "DESTINATION"
    AGENCY = "AGENCY"
    CLIENT = "CLIENT"


class FunnelStep(StrEnum):
    """The steps of a quotation's way to a completed trip, in order."""

    CREATED = "CREATED"
    INVITED = "INVITED"
    OFFERED = "OFFERED"
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    BOOKED = "BOOKED"
    COMPLETED = "COMPLETED"


class RevenueGroupBy(StrEnum):
    MONTH = "MONTH"
    DESTINATION = "DESTINATION"
    MONTH_AND_DESTINATION = "MONTH_AND_DESTINATION"


class HotelGroupBy(StrEnum):
    HOTEL = "HOTEL"
    HOTEL_AND_DESTINATION = "HOTEL_AND_DESTINATION"


class PaymentFailure(StrEnum):
    """How a payment failed (``analytics_payment_outcomes.failure``, migration 0013): read
    from its status and whether a provider took it, never from its free-text reason (provider
    messages and amounts, one value per payment)."""

    NOT_STARTED = "NOT_STARTED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    HOLD_LAPSED = "HOLD_LAPSED"
    NOT_CREDITED = "NOT_CREDITED"
