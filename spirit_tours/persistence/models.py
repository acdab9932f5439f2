"""Every mapped model, imported in one place so the metadata is complete (Alembic, tests)."""

from spirit_tours.persistence.accounts import Company, Hotel, RefreshToken, User
from spirit_tours.persistence.analytics.views import AnalyticsRefresh
from spirit_tours.persistence.base import Base
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund, PaymentReminder
from spirit_tours.persistence.emails import EmailFeedCursor, EmailMessage, EmailSuppression
from spirit_tours.persistence.events import AuditEntry, ChatMessage, Notification, OutboxEvent
from spirit_tours.persistence.ml import MlModel
from spirit_tours.persistence.payments import (
    Payment,
    PaymentRefund,
    ProcessedWebhook,
    WebhookDelivery,
)
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)
from spirit_tours.persistence.staffing import (
    Guide,
    GuideAssignment,
    GuideTimeOff,
    TransportAssignment,
    Vehicle,
)

__all__ = [
    "AnalyticsRefresh",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingHotel",
    "BookingRefund",
    "ChatMessage",
    "Company",
    "EmailFeedCursor",
    "EmailMessage",
    "EmailSuppression",
    "Guide",
    "GuideAssignment",
    "GuideTimeOff",
    "Hotel",
    "HotelInvitation",
    "HotelOffer",
    "MlModel",
    "Notification",
    "OfferRevision",
    "OutboxEvent",
    "Payment",
    "PaymentRefund",
    "PaymentReminder",
    "ProcessedWebhook",
    "Quotation",
    "RefreshToken",
    "TransportAssignment",
    "User",
    "Vehicle",
    "WebhookDelivery",
]
