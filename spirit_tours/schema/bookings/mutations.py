"""Booking mutations. Each runs in one transaction; errors follow ``spirit_tours.core.errors``;
payloads resolve through the same field permissions as queries."""

from __future__ import annotations

from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.resolvers.bookings import lifecycle, staffing
from spirit_tours.schema.bookings.inputs import (
    AssignGuideInput,
    AssignTransportInput,
    BookingRefInput,
    CancelBookingInput,
    CreateBookingInput,
)
from spirit_tours.schema.bookings.types import Booking, Refund, present_booking
from spirit_tours.schema.ids import parse_id

Info = strawberry.Info[Context, None]


@strawberry.type(description="The booking after the mutation, as the viewer may now see it.")
class BookingPayload:
    booking: Booking = strawberry.field(description="The booking as changed.")


@strawberry.type(description="The cancelled booking and the refund it made due.")
class CancelBookingPayload:
    booking: Booking = strawberry.field(description="The booking, now CANCELLED.")
    refund: Refund | None = strawberry.field(
        description="The refund the cancellation policy made due; null when nothing is due."
    )


@strawberry.type
class BookingMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Book an approved quotation (its owner or ADMIN); prices are frozen.",
    )
    async def create_booking(
        self,
        info: Info,
        input: Annotated[
            CreateBookingInput,
            strawberry.argument(
                description="The approved quotation and, for ADMIN, the booking's terms."
            ),
        ],
    ) -> BookingPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        terms = input.terms()
        async with info.context.transaction() as session:
            row = await lifecycle.create_booking(
                session, viewer, quotation_id, terms, info.context.services.settings
            )
        info.context.loaders.forget_quotation(quotation_id)
        return BookingPayload(booking=await present_booking(info, row))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="ADMIN assigns a guide who is free for the whole trip (and speaks its "
        "language, if given); replaces any other guide.",
    )
    async def assign_guide(
        self,
        info: Info,
        input: Annotated[
            AssignGuideInput,
            strawberry.argument(description="The booking, the guide and the tour's language."),
        ],
    ) -> BookingPayload:
        viewer = info.context.require_viewer()
        booking_id = parse_id(input.booking_id, "bookingId")
        guide_id = parse_id(input.guide_id, "guideId")
        async with info.context.transaction() as session:
            row = await staffing.assign_guide(session, viewer, booking_id, guide_id, input.language)
        return BookingPayload(booking=await present_booking(info, row))

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="ADMIN takes the guide off the booking."
    )
    async def unassign_guide(
        self,
        info: Info,
        input: Annotated[
            BookingRefInput, strawberry.argument(description="The booking whose guide is released.")
        ],
    ) -> BookingPayload:
        viewer = info.context.require_viewer()
        booking_id = parse_id(input.booking_id, "bookingId")
        async with info.context.transaction() as session:
            row = await staffing.unassign_guide(session, viewer, booking_id)
        return BookingPayload(booking=await present_booking(info, row))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="ADMIN assigns a vehicle with a seat for every traveller, free for the "
        "whole trip; replaces any other vehicle.",
    )
    async def assign_transport(
        self,
        info: Info,
        input: Annotated[
            AssignTransportInput, strawberry.argument(description="The booking and the vehicle.")
        ],
    ) -> BookingPayload:
        viewer = info.context.require_viewer()
        booking_id = parse_id(input.booking_id, "bookingId")
        vehicle_id = parse_id(input.vehicle_id, "vehicleId")
        async with info.context.transaction() as session:
            row = await staffing.assign_transport(session, viewer, booking_id, vehicle_id)
        return BookingPayload(booking=await present_booking(info, row))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The owner or ADMIN cancels; the refund due follows the cancellation policy.",
    )
    async def cancel_booking(
        self,
        info: Info,
        input: Annotated[
            CancelBookingInput, strawberry.argument(description="The booking to cancel, and why.")
        ],
    ) -> CancelBookingPayload:
        viewer = info.context.require_viewer()
        booking_id = parse_id(input.booking_id, "bookingId")
        async with info.context.transaction() as session:
            row, refund = await lifecycle.cancel_booking(session, viewer, booking_id, input.reason)
        booking = await present_booking(info, row)
        return CancelBookingPayload(
            booking=booking, refund=Refund.from_model(refund) if refund else None
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="ADMIN completes a CONFIRMED booking once its trip has ended.",
    )
    async def complete_booking(
        self,
        info: Info,
        input: Annotated[
            BookingRefInput, strawberry.argument(description="The booking whose trip has ended.")
        ],
    ) -> BookingPayload:
        viewer = info.context.require_viewer()
        booking_id = parse_id(input.booking_id, "bookingId")
        async with info.context.transaction() as session:
            row = await lifecycle.complete_booking(session, viewer, booking_id)
        return BookingPayload(booking=await present_booking(info, row))
