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
    balance_due_date: date = strawberry.field(
        description="Last day to pay everything (ISO 8601 date), from today to the trip's start."
    )
    deposit_percent: Decimal | None = strawberry.field(
        default=None,
        description="A deposit that confirms the booking, in percent of the selling price: "
        "above 0 and below 100, at most two decimals. Null: full payment.",
    )
    deposit_due_date: date | None = strawberry.field(
        default=None,
        description="Last day to pay the deposit (ISO 8601 date), from today to "
        "balanceDueDate; required with a deposit, refused without.",
    )


@strawberry.input(description="Cancelling at least daysBefore days before the start refunds…")
class CancellationTierInput:
    days_before: int = strawberry.field(description="Days of notice, 0 or more.")
    refund_percent: Decimal = strawberry.field(
        description="…this percentage of what was paid: 0 to 100, at most two decimals."
    )


@strawberry.input(description="An approved quotation to book, with the operator's terms.")
class CreateBookingInput:
    quotation_id: strawberry.ID = strawberry.field(description="The APPROVED quotation.")
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


@strawberry.input(description="A booking to act on.")
class BookingRefInput:
    booking_id: strawberry.ID = strawberry.field(description="The booking, by its id.")


@strawberry.input(description="A booking to cancel, and why.")
class CancelBookingInput:
    booking_id: strawberry.ID = strawberry.field(description="The booking, by its id.")
    reason: str = strawberry.field(
        default="", description="Why, in free text; shown to the operator and the owner."
    )


@strawberry.input(description="A guide for a booking.")
class AssignGuideInput:
    booking_id: strawberry.ID = strawberry.field(description="The booking, by its id.")
    guide_id: strawberry.ID = strawberry.field(
        description="The guide, free for the whole trip (no overlapping assignment or time off)."
    )
    language: str | None = strawberry.field(
        default=None, description="ISO 639 code the tour is guided in; the guide must speak it."
    )


@strawberry.input(description="A vehicle for a booking.")
class AssignTransportInput:
    booking_id: strawberry.ID = strawberry.field(description="The booking, by its id.")
    vehicle_id: strawberry.ID = strawberry.field(
        description="The vehicle: seats for every traveller, free for the whole trip."
    )


@strawberry.input(description="Narrows a list of bookings; every condition given must hold.")
class BookingFilter:
    statuses: list[BookingStatus] | None = strawberry.field(
        default=None, description="Only bookings in one of these states; null: any."
    )
    starts_from: date | None = strawberry.field(
        default=None, description="Only trips starting on or after this day (ISO 8601 date)."
    )
    starts_until: date | None = strawberry.field(
        default=None, description="Only trips starting on or before this day (ISO 8601 date)."
    )
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only bookings with rooms at this hotel."
    )
    guide_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only bookings this guide is assigned to."
    )

    def filters(self) -> BookingFilters:
        return BookingFilters(
            statuses=self.statuses,
            starts_from=self.starts_from,
            starts_until=self.starts_until,
            hotel_id=parse_id(self.hotel_id, "hotelId") if self.hotel_id else None,
            guide_id=parse_id(self.guide_id, "guideId") if self.guide_id else None,
        )
