"""Inputs of the booking queries and mutations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from spirit_tours.core.booking_policies import PaymentPolicy
from spirit_tours.core.cancellation import CancellationTier
from spirit_tours.core.enums import BookingStatus
from spirit_tours.persistence.repositories.bookings import BookingFilters
from spirit_tours.resolvers.bookings.lifecycle import BookingTerms
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.ids import parse_id


@strawberry.input(description="Leave depositPercent out for full payment by balanceDueDate.")
class PaymentPolicyInput:
    balance_due_date: date
    deposit_percent: Decimal | None = None
    deposit_due_date: date | None = None


@strawberry.input
class CancellationTierInput:
    days_before: int
    refund_percent: Decimal


@strawberry.input
class CreateBookingInput:
    quotation_id: strawberry.ID
    payment_policy: PaymentPolicyInput | None = strawberry.field(
        default=None, description="Operator only; the configured default otherwise."
    )
    cancellation_policy: list[CancellationTierInput] | None = strawberry.field(
        default=None, description="Operator only; the configured default otherwise."
    )

    def terms(self) -> BookingTerms:
        payment = self.payment_policy
        tiers = self.cancellation_policy
        return BookingTerms(
            payment_policy=PaymentPolicy(
                payment.deposit_percent, payment.deposit_due_date, payment.balance_due_date
            )
            if payment
            else None,
            cancellation_tiers=[CancellationTier(t.days_before, t.refund_percent) for t in tiers]
            if tiers is not None
            else None,
        )


@strawberry.input
class BookingRefInput:
    booking_id: strawberry.ID


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID
    reason: str = ""


@strawberry.input
class AssignGuideInput:
    booking_id: strawberry.ID
    guide_id: strawberry.ID
    language: str | None = strawberry.field(
        default=None, description="ISO 639 code the tour is guided in; the guide must speak it."
    )


@strawberry.input
class AssignTransportInput:
    booking_id: strawberry.ID
    vehicle_id: strawberry.ID


@strawberry.input
class BookingFilter:
    statuses: list[BookingStatus] | None = None
    starts_from: date | None = None
    starts_until: date | None = None
    hotel_id: strawberry.ID | None = None
    guide_id: strawberry.ID | None = None

    def filters(self) -> BookingFilters:
        return BookingFilters(
            statuses=self.statuses,
            starts_from=self.starts_from,
            starts_until=self.starts_until,
            hotel_id=parse_id(self.hotel_id, "hotelId") if self.hotel_id else None,
            guide_id=parse_id(self.guide_id, "guideId") if self.guide_id else None,
        )
