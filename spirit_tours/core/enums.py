"""Enumerations stored in the database and exposed through GraphQL."""

from __future__ import annotations

from enum import StrEnum


class CompanyKind(StrEnum):
    OPERATOR = "OPERATOR"
    AGENCY = "AGENCY"
    HOTEL = "HOTEL"


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENCY = "AGENCY"
    HOTEL = "HOTEL"
    CLIENT = "CLIENT"
    GUIDE = "GUIDE"

    @property
    def company_kind(self) -> CompanyKind | None:
        """The kind of company a user of this role belongs to (CLIENT belongs to none)."""
        return _ROLE_COMPANY_KIND[self]


_ROLE_COMPANY_KIND: dict[Role, CompanyKind | None] = {
    Role.ADMIN: CompanyKind.OPERATOR,
    Role.GUIDE: CompanyKind.OPERATOR,
    Role.AGENCY: CompanyKind.AGENCY,
    Role.HOTEL: CompanyKind.HOTEL,
    Role.CLIENT: None,
}


class Locale(StrEnum):
    ES = "es"
    EN = "en"
    PT = "pt"


class QuotationStatus(StrEnum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class CompetitorPrices(StrEnum):
    """What an invited hotel learns of the competing offers."""

    HIDDEN = "HIDDEN"
    RANK_ONLY = "RANK_ONLY"
    OPEN = "OPEN"


class InvitationStatus(StrEnum):
    INVITED = "INVITED"
    VIEWED = "VIEWED"
    DECLINED = "DECLINED"
    RESPONDED = "RESPONDED"


class OfferStatus(StrEnum):
    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"


class RoomType(StrEnum):
    SINGLE = "SINGLE"
    DOUBLE = "DOUBLE"
    TWIN = "TWIN"
    TRIPLE = "TRIPLE"
    SUITE = "SUITE"


class ExtraService(StrEnum):
    GUIDE = "GUIDE"
    TRANSPORT = "TRANSPORT"
    AIRPORT_TRANSFER = "AIRPORT_TRANSFER"
    BREAKFAST = "BREAKFAST"
    EXCURSIONS = "EXCURSIONS"


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    CONFIRMED = "CONFIRMED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class RefundStatus(StrEnum):
    """A refund the cancellation policy made due; the payments side moves it on."""

    DUE = "DUE"
    PROCESSING = "PROCESSING"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class VehicleKind(StrEnum):
    CAR = "CAR"
    VAN = "VAN"
    MINIBUS = "MINIBUS"
    BUS = "BUS"


class ReleaseReason(StrEnum):
    """Why a guide or vehicle stopped serving a booking."""

    UNASSIGNED = "UNASSIGNED"
    REPLACED = "REPLACED"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"


class PaymentDue(StrEnum):
    DEPOSIT = "DEPOSIT"
    BALANCE = "BALANCE"
