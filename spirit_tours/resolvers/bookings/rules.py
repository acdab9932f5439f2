"""Rules shared by every booking change: loading under a lock, who may act, states."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import BookingStatus, Role
from spirit_tours.core.errors import DomainError, ErrorCode, forbidden, not_found
from spirit_tours.permissions.bookings import BookingRelation, booking_relation
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking, BookingHotel
from spirit_tours.persistence.staffing import GuideAssignment

ACTIVE = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)
# Built once, bound per call: every booking change starts with one of them.
_READ_BOOKING = select(Booking).where(Booking.id == bindparam("booking_id"))
_LOCK_BOOKING = _READ_BOOKING.with_for_update()


async def load_booking(
    session: AsyncSession,
    viewer: Viewer,
    booking_id: uuid.UUID,
    *,
    lock: bool = False,
    allowed: Sequence[BookingRelation] = (BookingRelation.ADMIN,),
) -> tuple[Booking, BookingRelation]:
    """The booking and the viewer's relation to it: NOT_FOUND when they may not see it at all,
    FORBIDDEN when they see it but may not do this. ``lock`` serialises changes to it."""
    statement = _LOCK_BOOKING if lock else _READ_BOOKING
    booking = (await session.execute(statement, {"booking_id": booking_id})).scalar_one_or_none()
    if booking is None:
        raise not_found("Booking")
    # The hotel lines and the guide decide only a hotel's or a guide's relation: read them
    # for those viewers alone (two round trips fewer for the owner paying, the operator).
    hotel_companies: Iterable[uuid.UUID] = ()
    guides: Iterable[uuid.UUID] = ()
    if viewer.role == Role.HOTEL:
        hotel_companies = await session.scalars(
            select(BookingHotel.hotel_company_id).where(BookingHotel.booking_id == booking.id)
        )
    elif viewer.role == Role.GUIDE:
        guides = await session.scalars(
            select(GuideAssignment.guide_id).where(
                GuideAssignment.booking_id == booking.id, GuideAssignment.released_at.is_(None)
            )
        )
    relation = booking_relation(viewer, booking, hotel_companies, guides)
    if relation == BookingRelation.NONE:
        raise not_found("Booking")
    if relation not in allowed:
        raise forbidden()
    return booking, relation


def require_booking_status(booking: Booking, *allowed: BookingStatus, action: str) -> None:
    if booking.status not in allowed:
        expected = " or ".join(status.value for status in allowed)
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"Cannot {action}: the booking is {booking.status.value}, it must be {expected}.",
            status=booking.status.value,
        )
