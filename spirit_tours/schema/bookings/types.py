"""Bookings as each viewer may see them (docs/privacy.md §1): the operator both prices, the
owner the selling price, a hotel the net price of its own rooms, a guide no price at all."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.booking_policies import payment_policy_of
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
from spirit_tours.schema.common import Money, Node, PageInfo
from spirit_tours.schema.quotations.types import Quotation, QuotationOwner, RoomNeed, owner_of
from spirit_tours.schema.staffing.types import Guide, Vehicle, load_guide

Info = strawberry.Info[Context, None]


def _rooms(rows: list[dict[str, object]]) -> list[RoomNeed]:
    return [RoomNeed(type=RoomType(str(r["type"])), count=int(str(r["count"]))) for r in rows]


@strawberry.type(description="The rooms one hotel provides, at its frozen net price.")
class BookedHotel:
    rooms: list[RoomNeed]
    scope: strawberry.Private[BookedHotelScope]
    row: strawberry.Private[models.BookingHotel]

    @strawberry.field(graphql_type=Hotel | None)
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @guarded(can.CanSeeNetPrice, description="Operator, and the hotel for its own rooms.")
    def net_price(self) -> Money | None:
        return Money(amount=self.row.net_price, currency=self.row.currency)


@strawberry.type(description="When the money is due.")
class PaymentPolicy:
    full_payment: bool = strawberry.field(description="No deposit: everything by balanceDueDate.")
    deposit_percent: Decimal | None
    deposit: Money | None = strawberry.field(description="Paying this confirms the booking.")
    deposit_due_date: date | None
    balance_due_date: date


@strawberry.type(description="Cancelling at least daysBefore days before the start refunds…")
class CancellationTier:
    days_before: int
    refund_percent: Decimal = strawberry.field(description="…this share of what was paid.")


@strawberry.type(description="A refund a cancellation made due; the payments side executes it.")
class Refund:
    id: strawberry.ID
    amount: Money
    paid_amount: Money = strawberry.field(description="What had been paid when cancelled.")
    refund_percent: Decimal
    days_before_start: int
    status: RefundStatus
    reason: str
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.BookingRefund) -> Refund:
        return cls(
            id=strawberry.ID(str(row.id)),
            amount=Money(amount=row.amount, currency=row.currency),
            paid_amount=Money(amount=row.paid_amount, currency=row.currency),
            refund_percent=row.refund_percent,
            days_before_start=row.days_before_start,
            status=row.status,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type
class GuideOnBooking:
    language: str | None = strawberry.field(description="The language of the tour, if set.")
    assigned_at: datetime
    row: strawberry.Private[GuideAssignment]

    @strawberry.field
    async def guide(self, info: Info) -> Guide | None:
        return await load_guide(info, self.row.guide_id)


@strawberry.type
class TransportOnBooking:
    assigned_at: datetime
    vehicle_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle | None:
        row = await info.context.loaders.vehicle.load(self.vehicle_id)
        return Vehicle.from_model(row) if row else None


@strawberry.type(description="A booked trip, made from an approved quotation.")
class Booking(Node):
    reference: str = strawberry.field(description='Human-friendly, e.g. "ST-1001".')
    status: BookingStatus
    destination: str
    start_date: date
    end_date: date
    travellers: int
    rooms: list[RoomNeed]
    currency: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    scope: strawberry.Private[BookingScope]
    row: strawberry.Private[models.Booking]
    hotel_rows: strawberry.Private[list[models.BookingHotel]]

    @guarded(can.CanSeeOwner, description="Who booked (operator and owner).")
    async def owner(self, info: Info) -> QuotationOwner | None:
        return await owner_of(info, self.row.owner_user_id, self.row.owner_company_id)

    @guarded(can.CanSeeSellingPrice, description="What the customer pays (operator and owner).")
    def selling_price(self) -> Money | None:
        return Money(amount=self.row.selling_price, currency=self.row.currency)

    @guarded(can.CanSeeMarkup, description="Selling price minus the hotels' net (operator).")
    def margin(self) -> Money | None:
        net = sum((line.net_price for line in self.hotel_rows), Decimal(0))
        return Money(amount=self.row.selling_price - net, currency=self.row.currency)

    @guarded(can.CanSeePayments, description="Received so far (operator and owner).")
    def amount_paid(self) -> Money | None:
        return Money(amount=self.row.amount_paid, currency=self.row.currency)

    @guarded(can.CanSeePayments, description="Still to pay; nothing once cancelled.")
    def amount_due(self) -> Money | None:
        due = self.row.selling_price - self.row.amount_paid
        if self.row.status == BookingStatus.CANCELLED:
            due = Decimal(0).quantize(due)
        return Money(amount=due, currency=self.row.currency)

    @guarded(can.CanSeePayments)
    def payment_policy(self) -> PaymentPolicy | None:
        policy = payment_policy_of(self.row)
        deposit = None
        if policy.deposit_percent is not None:
            amount = policy.amount_to_confirm(self.row.selling_price, self.row.currency)
            deposit = Money(amount=amount, currency=self.row.currency)
        return PaymentPolicy(
            full_payment=policy.deposit_percent is None,
            deposit_percent=policy.deposit_percent,
            deposit=deposit,
            deposit_due_date=policy.deposit_due,
            balance_due_date=policy.balance_due,
        )

    @guarded(can.CanSeePayments, description="Refund by notice given, most notice first.")
    def cancellation_policy(self) -> list[CancellationTier] | None:
        return [
            CancellationTier(
                days_before=int(tier["days_before"]),
                refund_percent=Decimal(str(tier["refund_percent"])),
            )
            for tier in self.row.cancellation_tiers
        ]

    @guarded(can.CanSeePayments)
    def cancellation_reason(self) -> str | None:
        return self.row.cancellation_reason

    @guarded(can.CanSeePayments, description="Refunds made due by a cancellation.")
    async def refunds(self, info: Info) -> list[Refund] | None:
        rows = await info.context.loaders.refunds.load(self.row.id)
        return [Refund.from_model(row) for row in rows]

    @strawberry.field(description="Hotels: all for operator, owner and guide; a hotel its own.")
    def hotels(self) -> list[BookedHotel]:
        return [
            BookedHotel(rooms=_rooms(line.rooms), scope=self.scope.hotel_scope(line), row=line)
            for line in self.hotel_rows
            if self.scope.lists_hotel(line)
        ]

    @guarded(can.CanSeeStaffing, description="The assigned guide (not shown to hotels).")
    async def guide(self, info: Info) -> GuideOnBooking | None:
        for row in await info.context.loaders.guide_assignments.load(self.row.id):
            if row.released_at is None:
                return GuideOnBooking(language=row.language, assigned_at=row.created_at, row=row)
        return None

    @guarded(can.CanSeeStaffing, description="The assigned vehicle (not shown to hotels).")
    async def transport(self, info: Info) -> TransportOnBooking | None:
        for row in await info.context.loaders.transport.load(self.row.id):
            if row.released_at is None:
                return TransportOnBooking(assigned_at=row.created_at, vehicle_id=row.vehicle_id)
        return None

    @guarded(can.CanSeeQuotation, description="The quotation it was booked from.")
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
            currency=row.currency,
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


@strawberry.type
class BookingEdge:
    cursor: str
    node: Booking


@strawberry.type
class BookingConnection:
    edges: list[BookingEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Booking]:
        return [edge.node for edge in self.edges]
