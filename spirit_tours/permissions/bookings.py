"""Price privacy for bookings (docs/privacy.md §1 and §2.1): who sees a booking, and which of
its values.

The operator sees both prices; the owner the selling price; a hotel only the net price of its
own rooms; a guide only the bookings assigned to them, without prices. The scope objects are
read by the same field permission classes as quotations (``pricing_fields``);
:func:`visible_bookings` is the object-level rule as a SQL condition for the repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from sqlalchemy import ColumnElement, exists, false, true

from spirit_tours.core.enums import Role
from spirit_tours.permissions.ownership import Owned, owned_by, owns
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking, BookingHotel
from spirit_tours.persistence.staffing import GuideAssignment


class HotelLine(Protocol):
    """What the rules read of a booked hotel (a ``BookingHotel`` row, or any such value)."""

    @property
    def hotel_company_id(self) -> uuid.UUID: ...


class BookingRelation(Enum):
    ADMIN = "ADMIN"
    OWNER = "OWNER"
    HOTEL = "HOTEL"
    GUIDE = "GUIDE"
    NONE = "NONE"


def booking_relation(
    viewer: Viewer,
    booking: Owned,
    hotel_company_ids: Iterable[uuid.UUID],
    active_guide_ids: Iterable[uuid.UUID],
) -> BookingRelation:
    if viewer.role == Role.ADMIN:
        return BookingRelation.ADMIN
    if owns(viewer, booking):
        return BookingRelation.OWNER
    if viewer.role == Role.HOTEL and viewer.company_id in set(hotel_company_ids):
        return BookingRelation.HOTEL
    if viewer.role == Role.GUIDE and viewer.user_id in set(active_guide_ids):
        return BookingRelation.GUIDE
    return BookingRelation.NONE


class BookingAction(Enum):
    """What a viewer does to a booking (docs/privacy.md §2.2)."""

    CANCEL = "cancelBooking"
    PAY = "startPayment"
    COMPLETE = "completeBooking"
    STAFF = "assignGuide, unassignGuide, assignTransport"


#: The relations that may perform each action; another relation is FORBIDDEN, none NOT_FOUND.
BOOKING_ALLOWED: dict[BookingAction, tuple[BookingRelation, ...]] = {
    BookingAction.CANCEL: (BookingRelation.ADMIN, BookingRelation.OWNER),
    BookingAction.PAY: (BookingRelation.ADMIN, BookingRelation.OWNER),
    BookingAction.COMPLETE: (BookingRelation.ADMIN,),
    BookingAction.STAFF: (BookingRelation.ADMIN,),
}


def visible_bookings(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL twin of ``booking_relation(...) != BookingRelation.NONE`` (docs/privacy.md §2.1):
    the operator all, an owner theirs, a hotel those with its rooms, a guide those they are
    assigned to (released assignments no longer count)."""
    if viewer.role == Role.ADMIN:
        return true()
    owner = owned_by(viewer, Booking.owner_company_id, Booking.owner_user_id)
    if owner is not None:
        return owner
    if viewer.role == Role.HOTEL and viewer.company_id is not None:
        return exists().where(
            BookingHotel.booking_id == Booking.id,
            BookingHotel.hotel_company_id == viewer.company_id,
        )
    if viewer.role == Role.GUIDE:
        return exists().where(
            GuideAssignment.booking_id == Booking.id,
            GuideAssignment.guide_id == viewer.user_id,
            GuideAssignment.released_at.is_(None),
        )
    return false()


@dataclass(frozen=True)
class BookingScope:
    relation: BookingRelation
    viewer_company_id: uuid.UUID | None

    @property
    def _operator_or_owner(self) -> bool:
        return self.relation in (BookingRelation.ADMIN, BookingRelation.OWNER)

    @property
    def sees_owner(self) -> bool:
        return self._operator_or_owner

    @property
    def sees_selling_price(self) -> bool:
        return self._operator_or_owner

    @property
    def sees_payments(self) -> bool:
        """Amount paid, payment and cancellation policy, refunds: the payer and the operator."""
        return self._operator_or_owner

    @property
    def sees_markup(self) -> bool:
        return self.relation == BookingRelation.ADMIN

    @property
    def sees_staffing(self) -> bool:
        """The assigned guide and vehicle: not a hotel's business."""
        return self.relation != BookingRelation.HOTEL

    @property
    def sees_quotation(self) -> bool:
        return self.relation != BookingRelation.GUIDE

    def own_hotel(self, line: HotelLine) -> bool:
        return (
            self.relation == BookingRelation.HOTEL
            and line.hotel_company_id == self.viewer_company_id
        )

    def lists_hotel(self, line: HotelLine) -> bool:
        return self.relation != BookingRelation.HOTEL or self.own_hotel(line)

    def hotel_scope(self, line: HotelLine) -> BookedHotelScope:
        return BookedHotelScope(self, own=self.own_hotel(line))


@dataclass(frozen=True)
class BookedHotelScope:
    booking: BookingScope
    own: bool

    @property
    def sees_net_price(self) -> bool:
        return self.booking.relation == BookingRelation.ADMIN or self.own

    @property
    def sees_hotel(self) -> bool:
        return True  # only listed to those who may know it: never to a competitor
