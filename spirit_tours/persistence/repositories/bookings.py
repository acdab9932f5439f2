"""Reading bookings, their hotels, staffing and refunds: pages under the caller's visibility
condition, batch loads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import BookingStatus
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund
from spirit_tours.persistence.repositories.batching import children_by_parent
from spirit_tours.persistence.repositories.pagination import Page, Window, newest_first_page
from spirit_tours.persistence.staffing import (
    Guide,
    GuideAssignment,
    GuideTimeOff,
    TransportAssignment,
    Vehicle,
)


@dataclass(frozen=True)
class BookingFilters:
    statuses: Sequence[BookingStatus] | None = None
    starts_from: date | None = None
    starts_until: date | None = None
    hotel_id: uuid.UUID | None = None
    guide_id: uuid.UUID | None = None


def _conditions(visible: ColumnElement[bool], filters: BookingFilters) -> list[ColumnElement[bool]]:
    conditions = [visible]
    if filters.statuses:
        conditions.append(Booking.status.in_(filters.statuses))
    if filters.starts_from is not None:
        conditions.append(Booking.start_date >= filters.starts_from)
    if filters.starts_until is not None:
        conditions.append(Booking.start_date <= filters.starts_until)
    if filters.hotel_id is not None:
        conditions.append(
            exists().where(
                BookingHotel.booking_id == Booking.id, BookingHotel.hotel_id == filters.hotel_id
            )
        )
    if filters.guide_id is not None:
        conditions.append(
            exists().where(
                GuideAssignment.booking_id == Booking.id,
                GuideAssignment.guide_id == filters.guide_id,
                GuideAssignment.released_at.is_(None),
            )
        )
    return conditions


async def booking_page(
    session: AsyncSession,
    visible: ColumnElement[bool],
    filters: BookingFilters,
    *,
    first: int,
    after: str | None,
    backwards: Window | None = None,
) -> Page[Booking]:
    """``visible`` is the viewer's rule (``permissions.bookings.visible_bookings``)."""
    conditions = _conditions(visible, filters)
    return await newest_first_page(
        session, Booking, conditions, first=first, after=after, backwards=backwards
    )


async def bookings_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Booking]:
    rows = await session.scalars(select(Booking).where(Booking.id.in_(ids)))
    return {row.id: row for row in rows}


async def bookings_by_quotation(
    session: AsyncSession, quotation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Booking]:
    rows = await session.scalars(select(Booking).where(Booking.quotation_id.in_(quotation_ids)))
    return {row.quotation_id: row for row in rows}


async def hotels_by_booking(
    session: AsyncSession, booking_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[BookingHotel]]:
    return await children_by_parent(
        session, BookingHotel, BookingHotel.booking_id, booking_ids, BookingHotel.id
    )


async def guide_assignments_by_booking(
    session: AsyncSession, booking_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[GuideAssignment]]:
    """Every assignment, released ones included, oldest first."""
    return await children_by_parent(
        session,
        GuideAssignment,
        GuideAssignment.booking_id,
        booking_ids,
        GuideAssignment.created_at,
        GuideAssignment.id,
    )


async def transport_by_booking(
    session: AsyncSession, booking_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TransportAssignment]]:
    return await children_by_parent(
        session,
        TransportAssignment,
        TransportAssignment.booking_id,
        booking_ids,
        TransportAssignment.created_at,
        TransportAssignment.id,
    )


async def refunds_by_booking(
    session: AsyncSession, booking_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[BookingRefund]]:
    return await children_by_parent(
        session, BookingRefund, BookingRefund.booking_id, booking_ids, BookingRefund.created_at
    )


async def guides_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Guide]:
    rows = await session.scalars(select(Guide).where(Guide.user_id.in_(ids)))
    return {row.user_id: row for row in rows}


async def vehicles_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Vehicle]:
    rows = await session.scalars(select(Vehicle).where(Vehicle.id.in_(ids)))
    return {row.id: row for row in rows}


async def time_off_by_guide(
    session: AsyncSession, guide_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[GuideTimeOff]]:
    return await children_by_parent(
        session, GuideTimeOff, GuideTimeOff.guide_id, guide_ids, GuideTimeOff.start_date
    )
