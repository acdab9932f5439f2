"""Assigning guides and vehicles to bookings.

Each assignment locks the booking, then the guide (or vehicle): concurrent requests for one
guide queue, so the overlap check sees every earlier assignment and the exclusion constraint
on ``guide_assignments`` is only ever the last line of defence.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, ReleaseReason
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, not_found
from spirit_tours.permissions.bookings import BOOKING_ALLOWED, BookingAction
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.conflicts import flush_or_conflict
from spirit_tours.persistence.repositories import staffing as repository
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.persistence.repositories.staffing import Period
from spirit_tours.persistence.staffing import (
    Guide,
    GuideAssignment,
    TransportAssignment,
    Vehicle,
)
from spirit_tours.resolvers.bookings.rules import ACTIVE, load_booking, require_booking_status
from spirit_tours.resolvers.guides import language_code


def _period(booking: Booking) -> Period:
    return Period(booking.start_date, booking.end_date)


async def _active_guide(session: AsyncSession, booking_id: uuid.UUID) -> GuideAssignment | None:
    return await session.scalar(
        select(GuideAssignment).where(
            GuideAssignment.booking_id == booking_id, GuideAssignment.released_at.is_(None)
        )
    )


async def _active_vehicle(
    session: AsyncSession, booking_id: uuid.UUID
) -> TransportAssignment | None:
    return await session.scalar(
        select(TransportAssignment).where(
            TransportAssignment.booking_id == booking_id, TransportAssignment.released_at.is_(None)
        )
    )


async def _clash_reference(session: AsyncSession, booking_id: uuid.UUID) -> str:
    return await session.scalar(select(Booking.reference).where(Booking.id == booking_id)) or "?"


async def assign_guide(
    session: AsyncSession,
    viewer: Viewer,
    booking_id: uuid.UUID,
    guide_id: uuid.UUID,
    language: str | None,
) -> Booking:
    """Give the booking this guide (replacing another one), if they are free on its dates."""
    booking, _ = await load_booking(
        session, viewer, booking_id, lock=True, allowed=BOOKING_ALLOWED[BookingAction.STAFF]
    )
    require_booking_status(booking, *ACTIVE, action="assign a guide")
    guide = await session.scalar(select(Guide).where(Guide.user_id == guide_id).with_for_update())
    active = await session.scalar(select(User.is_active).where(User.id == guide_id))
    if guide is None or not active:
        raise not_found("Guide")
    code = language_code(language, "language") if language else None
    if code is not None and code not in guide.languages:
        raise bad_input("language", f"This guide does not guide in {code!r}.")
    current = await _active_guide(session, booking.id)
    if current is not None and current.guide_id == guide_id:
        current.language = code
        return booking
    period = _period(booking)
    away = await repository.guide_time_off_clash(session, guide_id, period)
    if away is not None:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The guide is off from {away.start_date} to {away.end_date}.",
            field="guideId",
        )
    clash = await repository.guide_clash(session, guide_id, period)
    if clash is not None:
        reference = await _clash_reference(session, clash.booking_id)
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The guide already guides booking {reference} from {clash.start_date} "
            f"to {clash.end_date}.",
            field="guideId",
            conflictingBookingId=str(clash.booking_id),
        )
    now = now_utc()
    if current is not None:
        current.released_at = now
        current.release_reason = ReleaseReason.REPLACED
        await session.flush()
    session.add(
        GuideAssignment(
            booking_id=booking.id,
            guide_id=guide_id,
            language=code,
            start_date=booking.start_date,
            end_date=booking.end_date,
            assigned_by_id=viewer.user_id,
        )
    )
    await flush_or_conflict(
        session, "The guide is already assigned on these dates.", field="guideId"
    )
    record_audit(session, viewer, "booking.assign_guide", "Booking", booking.id,
                 guide_id=str(guide_id), language=code,
                 replaced=str(current.guide_id) if current else None)  # fmt: skip
    emit_event(session, EventKind.BOOKING_GUIDE_ASSIGNED, "Booking", booking.id, guide_id=guide_id)
    if current is not None:
        emit_event(session, EventKind.BOOKING_GUIDE_UNASSIGNED, "Booking", booking.id,
                   guide_id=current.guide_id)  # fmt: skip
    return booking


async def unassign_guide(session: AsyncSession, viewer: Viewer, booking_id: uuid.UUID) -> Booking:
    booking, _ = await load_booking(
        session, viewer, booking_id, lock=True, allowed=BOOKING_ALLOWED[BookingAction.STAFF]
    )
    require_booking_status(booking, *ACTIVE, action="unassign the guide")
    current = await _active_guide(session, booking.id)
    if current is None:
        raise DomainError(ErrorCode.INVALID_STATE, "The booking has no guide.")
    current.released_at = now_utc()
    current.release_reason = ReleaseReason.UNASSIGNED
    record_audit(session, viewer, "booking.unassign_guide", "Booking", booking.id,
                 guide_id=str(current.guide_id))  # fmt: skip
    emit_event(session, EventKind.BOOKING_GUIDE_UNASSIGNED, "Booking", booking.id,
               guide_id=current.guide_id)  # fmt: skip
    return booking


async def assign_transport(
    session: AsyncSession, viewer: Viewer, booking_id: uuid.UUID, vehicle_id: uuid.UUID
) -> Booking:
    """Give the booking a vehicle that seats every traveller and is free on its dates."""
    booking, _ = await load_booking(
        session, viewer, booking_id, lock=True, allowed=BOOKING_ALLOWED[BookingAction.STAFF]
    )
    require_booking_status(booking, *ACTIVE, action="assign transport")
    vehicle = await session.scalar(
        select(Vehicle).where(Vehicle.id == vehicle_id).with_for_update()
    )
    if vehicle is None:
        raise not_found("Vehicle")
    if vehicle.capacity < booking.travellers:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT,
            f"{vehicle.name} seats {vehicle.capacity}; the booking has {booking.travellers} "
            "travellers.",
            field="vehicleId",
            capacity=vehicle.capacity,
            travellers=booking.travellers,
        )
    current = await _active_vehicle(session, booking.id)
    if current is not None and current.vehicle_id == vehicle_id:
        return booking
    clash = await repository.vehicle_clash(session, vehicle_id, _period(booking))
    if clash is not None:
        reference = await _clash_reference(session, clash.booking_id)
        raise DomainError(
            ErrorCode.CONFLICT,
            f"{vehicle.name} already serves booking {reference} from {clash.start_date} "
            f"to {clash.end_date}.",
            field="vehicleId",
            conflictingBookingId=str(clash.booking_id),
        )
    if current is not None:
        current.released_at = now_utc()
        current.release_reason = ReleaseReason.REPLACED
        await session.flush()
    session.add(
        TransportAssignment(
            booking_id=booking.id,
            vehicle_id=vehicle_id,
            start_date=booking.start_date,
            end_date=booking.end_date,
            assigned_by_id=viewer.user_id,
        )
    )
    await flush_or_conflict(
        session, "The vehicle is already assigned on these dates.", field="vehicleId"
    )
    record_audit(session, viewer, "booking.assign_transport", "Booking", booking.id,
                 vehicle_id=str(vehicle_id))  # fmt: skip
    emit_event(
        session, EventKind.BOOKING_TRANSPORT_ASSIGNED, "Booking", booking.id, vehicle_id=vehicle_id
    )
    return booking
