"""Every mapped model, imported in one place so the metadata is complete (Alembic, tests)."""

from spirit_tours.persistence.accounts import Company, Hotel, RefreshToken, User
from spirit_tours.persistence.base import Base
from spirit_tours.persistence.events import AuditEntry, OutboxEvent
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)

__all__ = [
    "AuditEntry",
    "Base",
    "Company",
    "Hotel",
    "HotelInvitation",
    "HotelOffer",
    "OfferRevision",
    "OutboxEvent",
    "Quotation",
    "RefreshToken",
    "User",
]
