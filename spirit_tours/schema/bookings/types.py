"""Bookings as each viewer may see them (docs/privacy.md §1): the operator both prices, the
owner the selling price, a hotel the net price of its own rooms, a guide no price at all."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.booking_policies import payment_policy_of
from spirit_tours.core.currencies import Currency
from spirit_tours.core.enums import BookingStatus, RefundStatus, RoomType
from spirit_tours.core.errors import not_found
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.bookings import (
    BookedHotelScope,
    BookingRelation,
    BookingScope,
    booking_relation,
)
from spirit_tours.permissions.pricing_fields import guarded
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence import bookings as models
from spirit_tours.persistence.staffing import GuideAssignment
from spirit_tours.resolvers.loaders import MaybeAwaitable
from spirit_tours.schema.accounts.types import Hotel, load_hotel
from spirit_tours.schema.common import Money, Node, PageInfo, money
from spirit_tours.schema.quotations.types import Quotation, QuotationOwner, RoomNeed, owner_of
from spirit_tours.schema.staffing.types import Guide, Vehicle, load_guide

Info = strawberry.Info[Context, None]


def _rooms(rows: list[dict[str, object]]) -> list[RoomNeed]:
    return [RoomNeed(type=RoomType(str(r["type"])), count=int(str(r["count"]))) for r in rows]


@strawberry.type(description="The rooms one hotel provides, at its frozen net price.")
class BookedHotel:
    rooms: list[RoomNeed] = strawberry.field(description="The rooms this hotel provides.")
    scope: strawberry.Private[BookedHotelScope]
    row: strawberry.Private[models.BookingHotel]

    @strawberry.field(description="The hotel that provides the rooms.", graphql_type=Hotel | None)
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @guarded(
        can.CanSeeNetPrice,
        description="What the operator pays this hotel, frozen at booking, in the booking's "
        "currency: for the operator, and for the hotel its own rooms; null for everyone else.",
    )
    def net_price(self) -> Money | None:
        return money(self.row.net_price, self.row.currency)


@strawberry.type(description="When the money is due.")
class PaymentPolicy:
    full_payment: bool = strawberry.field(description="No deposit: everything by balanceDueDate.")
    deposit_percent: Decimal | None = strawberry.field(
        description="The deposit as a percentage of the selling price (e.g. 30 for 30 %); "
        "null for full payment."
    )
    deposit: Money | None = strawberry.field(
        description="The deposit amount; paying it confirms the booking. Null for full payment."
    )
    deposit_due_date: date | None = strawberry.field(
        description="Last day to pay the deposit (ISO 8601 date); null for full payment."
    )
    balance_due_date: date = strawberry.field(
        description="Last day to pay everything (ISO 8601 date), no later than the trip's start."
    )


@strawberry.type(description="Cancelling at least daysBefore days before the start refunds…")
class CancellationTier:
    days_before: int = strawberry.field(
        description="Days of notice: cancelling at least this many days before the start date."
    )
    refund_percent: Decimal = strawberry.field(
        description="…refunds this percentage of what was paid (e.g. 50 for 50 %)."
    )


@strawberry.type(description="A refund a cancellation made due; the payments side executes it.")
class Refund:
    id: strawberry.ID = strawberry.field(description="Stable identifier, a UUID.")
    amount: Money = strawberry.field(
        description="What is refunded: refundPercent of paidAmount, in the booking's currency."
    )
    paid_amount: Money = strawberry.field(description="What had been paid when cancelled.")
    refund_percent: Decimal = strawberry.field(
        description="The percentage of the tier that applied (e.g. 50 for 50 %)."
    )
    days_before_start: int = strawberry.field(
        description="Days of notice given: from the cancellation to the trip's start date (UTC)."
    )
    status: RefundStatus = strawberry.field(description="Where the refund stands.")
    reason: str = strawberry.field(description="The cancellation's reason; may be empty.")
    created_at: datetime = strawberry.field(
        description="When the cancellation made it due (ISO 8601, UTC)."
    )

    @classmethod
    def from_model(cls, row: models.BookingRefund) -> Refund:
        return cls(
            id=strawberry.ID(str(row.id)),
            amount=money(row.amount, row.currency),
            paid_amount=money(row.paid_amount, row.currency),
            refund_percent=row.refund_percent,
            days_before_start=row.days_before_start,
            status=row.status,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type(description="The guide assigned to a booking.")
class GuideOnBooking:
    language: str | None = strawberry.field(
        description="The language of the tour (ISO 639 code), if set."
    )
    assigned_at: datetime = strawberry.field(
        description="When the guide was assigned (ISO 8601, UTC)."
    )
    row: strawberry.Private[GuideAssignment]

    @strawberry.field(description="The guide.")
    async def guide(self, info: Info) -> Guide | None:
        return await load_guide(info, self.row.guide_id)


@strawberry.type(description="The vehicle assigned to a booking.")
class TransportOnBooking:
    assigned_at: datetime = strawberry.field(
        description="When the vehicle was assigned (ISO 8601, UTC)."
    )
    vehicle_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The vehicle.")
    async def vehicle(self, info: Info) -> Vehicle | None:
        row = await info.context.loaders.vehicle.load(self.vehicle_id)
        return Vehicle.from_model(row) if row else None


@strawberry.type(description="A booked trip, made from an approved quotation.")
class Booking(Node):
    reference: str = strawberry.field(
        description='Human-friendly reference for travellers and staff, e.g. "ST-1001".'
    )
    status: BookingStatus = strawberry.field(description="Where the booking stands.")
    destination: str = strawberry.field(description="Where the trip goes, from the quotation.")
    start_date: date = strawberry.field(description="First day of the trip (ISO 8601 date).")
    end_date: date = strawberry.field(description="Last day of the trip (ISO 8601 date).")
    travellers: int = strawberry.field(description="How many people travel.")
    rooms: list[RoomNeed] = strawberry.field(description="The rooms booked, per room type.")
    currency: Currency = strawberry.field(
        description="ISO 4217 code of every amount of the booking (the quotation's)."
    )
    created_at: datetime = strawberry.field(description="When it was booked (ISO 8601, UTC).")
    updated_at: datetime = strawberry.field(
        description="When the booking last changed (ISO 8601, UTC)."
    )
    confirmed_at: datetime | None = strawberry.field(
        description="When the payment its policy asks was received (ISO 8601, UTC); null before."
    )
    completed_at: datetime | None = strawberry.field(
        description="When the operator completed it (ISO 8601, UTC); null before."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (ISO 8601, UTC); null unless CANCELLED."
    )
    scope: strawberry.Private[BookingScope]
    row: strawberry.Private[models.Booking]
    hotel_rows: strawberry.Private[list[models.BookingHotel]]

    @guarded(
        can.CanSeeOwner,
        description="Who booked, with their contact: for the operator and the owner; null "
        "for hotels and guides.",
    )
    async def owner(self, info: Info) -> QuotationOwner | None:
        return await owner_of(info, self.row.owner_user_id, self.row.owner_company_id)

    @guarded(
        can.CanSeeSellingPrice,
        description="What the customer pays, frozen at booking: for the operator and "
        "the owner; null for hotels and guides.",
    )
    def selling_price(self) -> Money | None:
        return money(self.row.selling_price, self.row.currency)

    @guarded(
        can.CanSeeMarkup,
        description="Selling price minus the hotels' net prices: for the operator only; "
        "null for everyone else.",
    )
    def margin(self) -> Money | None:
        net = sum((line.net_price for line in self.hotel_rows), Decimal(0))
        return money(self.row.selling_price - net, self.row.currency)

    @guarded(
        can.CanSeePayments,
        description="Received so far: for the operator and the owner; null for hotels and guides.",
    )
    def amount_paid(self) -> Money | None:
        return money(self.row.amount_paid, self.row.currency)

    @guarded(
        can.CanSeePayments,
        description="Still to pay (selling price minus amount paid; zero once "
        "cancelled): for the operator and the owner; null for hotels and guides.",
    )
    def amount_due(self) -> Money | None:
        due = self.row.selling_price - self.row.amount_paid
        if self.row.status == BookingStatus.CANCELLED:
            due = Decimal(0).quantize(due)
        return money(due, self.row.currency)

    @guarded(
        can.CanSeePayments,
        description="When the money is due: for the operator and the owner; null for hotels "
        "and guides.",
    )
    def payment_policy(self) -> PaymentPolicy | None:
        policy = payment_policy_of(self.row)
        deposit = None
        if policy.deposit_percent is not None:
            amount = policy.amount_to_confirm(self.row.selling_price, self.row.currency)
            deposit = money(amount, self.row.currency)
        return PaymentPolicy(
            full_payment=policy.deposit_percent is None,
            deposit_percent=policy.deposit_percent,
            deposit=deposit,
            deposit_due_date=policy.deposit_due,
            balance_due_date=policy.balance_due,
        )

    @guarded(
        can.CanSeePayments,
        description="What a cancellation refunds by notice given, most notice first: "
        "for the operator and the owner; null for hotels and guides.",
    )
    def cancellation_policy(self) -> list[CancellationTier] | None:
        return [
            CancellationTier(
                days_before=int(tier["days_before"]),
                refund_percent=Decimal(str(tier["refund_percent"])),
            )
            for tier in self.row.cancellation_tiers
        ]

    @guarded(
        can.CanSeePayments,
        description="Why it was cancelled, as given: for the operator and the owner; null for "
        "hotels and guides, and unless CANCELLED.",
    )
    def cancellation_reason(self) -> str | None:
        return self.row.cancellation_reason

    @guarded(
        can.CanSeePayments,
        description="Refunds made due by a cancellation: for the operator and the owner; "
        "null for hotels and guides.",
    )
    async def refunds(self, info: Info) -> list[Refund] | None:
        rows = await info.context.loaders.refunds.load(self.row.id)
        return [Refund.from_model(row) for row in rows]

    @strawberry.field(
        description="The hotels booked and their rooms: all for the operator, the owner "
        "and the guide; a hotel only its own."
    )
    def hotels(self) -> list[BookedHotel]:
        return [
            BookedHotel(rooms=_rooms(line.rooms), scope=self.scope.hotel_scope(line), row=line)
            for line in self.hotel_rows
            if self.scope.lists_hotel(line)
        ]

    @guarded(can.CanSeeStaffing, description="The assigned guide, if any: null for hotels.")
    async def guide(self, info: Info) -> GuideOnBooking | None:
        for row in await info.context.loaders.guide_assignments.load(self.row.id):
            if row.released_at is None:
                return GuideOnBooking(language=row.language, assigned_at=row.created_at, row=row)
        return None

    @guarded(can.CanSeeStaffing, description="The assigned vehicle, if any: null for hotels.")
    async def transport(self, info: Info) -> TransportOnBooking | None:
        for row in await info.context.loaders.transport.load(self.row.id):
            if row.released_at is None:
                return TransportOnBooking(assigned_at=row.created_at, vehicle_id=row.vehicle_id)
        return None

    @guarded(
        can.CanSeeQuotation,
        description="The quotation it was booked from, as the viewer may see it: null for guides.",
    )
    async def quotation(self, info: Info) -> Quotation | None:
        row = await info.context.loaders.quotation.load(self.row.quotation_id)
        if row is None:
            return None
        invitations = await info.context.loaders.invitations.load(row.id)
        return Quotation.for_viewer(row, info.context.require_viewer(), invitations)

    @classmethod
    def for_viewer(
        cls,
        row: models.Booking,
        viewer: Viewer,
        hotels: list[models.BookingHotel],
        guides: list[GuideAssignment],
    ) -> Booking | None:
        """The booking as ``viewer`` may see it, or None when they may not see it at all."""
        active_guides = (g.guide_id for g in guides if g.released_at is None)
        relation = booking_relation(
            viewer, row, (h.hotel_company_id for h in hotels), active_guides
        )
        if relation == BookingRelation.NONE:
            return None
        return cls(
            id=strawberry.ID(str(row.id)),
            reference=row.reference,
            status=row.status,
            destination=row.destination,
            start_date=row.start_date,
            end_date=row.end_date,
            travellers=row.travellers,
            rooms=_rooms(row.rooms),
            currency=Currency(row.currency),
            created_at=row.created_at,
            updated_at=row.updated_at,
            confirmed_at=row.confirmed_at,
            completed_at=row.completed_at,
            cancelled_at=row.cancelled_at,
            scope=BookingScope(relation, viewer.company_id),
            row=row,
            hotel_rows=hotels,
        )


async def booking_for_viewer(info: Info, row: models.Booking) -> Booking | None:
    loaders = info.context.loaders
    hotels = await loaders.booking_hotels.load(row.id)
    guides = await loaders.guide_assignments.load(row.id)
    return Booking.for_viewer(row, info.context.require_viewer(), hotels, guides)


async def present_booking(info: Info, row: models.Booking) -> Booking:
    """A booking a mutation just changed, as the current viewer may now see it."""
    info.context.loaders.forget_booking(row.id)
    booking = await booking_for_viewer(info, row)
    if booking is None:
        raise not_found("Booking")
    return booking


@strawberry.type(description="One booking of a page, with its cursor.")
class BookingEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this booking; pass it as `after` to read on from it."
    )
    node: Booking = strawberry.field(description="The booking.")


@strawberry.type(description="A page of bookings, newest first.")
class BookingConnection:
    edges: list[BookingEdge] = strawberry.field(
        description="The bookings of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Whether and how to read the next page.")
    total_count: int = strawberry.field(
        description="How many bookings the viewer may see that match the filter, on every page."
    )

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Booking]:
        return [edge.node for edge in self.edges]
