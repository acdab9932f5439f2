"""Who may fetch a user, a company, a hotel or a vehicle by its id (``node(id:)``): what the
viewer already meets through the fields that lead to it, nothing more. Anything else is
NOT_FOUND, exactly like an unknown id (docs/privacy.md §2.1)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists, or_, select, true

from spirit_tours.core.enums import Role
from spirit_tours.permissions.bookings import visible_bookings
from spirit_tours.permissions.quotations import visible_quotations
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.bookings import Booking, BookingHotel
from spirit_tours.persistence.quotations import HotelInvitation, Quotation


def sees_user(viewer: Viewer, user_id: uuid.UUID) -> bool:
    """Oneself (``viewer``) and, for the operator, anyone (it sees every owner's contact)."""
    return viewer.role == Role.ADMIN or viewer.user_id == user_id


def sees_company(viewer: Viewer, company_id: uuid.UUID) -> bool:
    """One's own company (``User.company``, a quotation owner's) and, for the operator, all."""
    return viewer.role == Role.ADMIN or viewer.company_id == company_id


def sees_vehicle(viewer: Viewer) -> bool:
    """The fleet is the operator's list (``vehicles``)."""
    return viewer.role == Role.ADMIN


def visible_hotels(viewer: Viewer) -> ColumnElement[bool]:
    """The hotels a viewer meets on its way: the operator all; hotel staff their company's
    (never a competitor's, not even one invited beside them); an owner or a guide the hotels
    invited to a quotation, or booked in a booking, they may see."""
    if viewer.role == Role.ADMIN:
        return true()
    if viewer.role == Role.HOTEL:
        return Hotel.company_id == viewer.company_id
    # Explicit joins: a rule that is ``false`` for this role leaves no cartesian product.
    invited = exists(
        select(HotelInvitation.id)
        .join(Quotation, HotelInvitation.quotation_id == Quotation.id)
        .where(HotelInvitation.hotel_id == Hotel.id, visible_quotations(viewer))
    )
    booked = exists(
        select(BookingHotel.id)
        .join(Booking, BookingHotel.booking_id == Booking.id)
        .where(BookingHotel.hotel_id == Hotel.id, visible_bookings(viewer))
    )
    return or_(invited, booked)
