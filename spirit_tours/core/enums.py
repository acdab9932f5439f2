"""Enumerations stored in the database, exposed through GraphQL and shared by every layer."""

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


# Payments: stored in the database, exposed through GraphQL and traded with every provider
# adapter (payments/gateway.py).


class Provider(StrEnum):
    STRIPE = "STRIPE"
    MERCADOPAGO = "MERCADOPAGO"
    PAYPAL = "PAYPAL"
    PAYU = "PAYU"
    OFFLINE = "OFFLINE"


class PaymentMethod(StrEnum):
    CARD = "CARD"  # card in a provider-hosted checkout or with a client secret
    PIX = "PIX"  # Brazil, QR code
    BOLETO = "BOLETO"  # Brazil, bank slip voucher
    PSE = "PSE"  # Colombia, bank transfer through a redirect
    CASH = "CASH"  # cash voucher: Efecty / Baloto (CO), OXXO (MX), PagoEfectivo (PE)
    PAYPAL = "PAYPAL"  # PayPal approval page


class PaymentStatus(StrEnum):
    """Ordered: a payment only ever moves to a later state (see :data:`STATUS_ORDER`)."""

    CREATED = "CREATED"  # our row exists, no provider has answered yet
    REQUIRES_ACTION = "REQUIRES_ACTION"  # the payer must act (pay the voucher, approve, 3-D Secure)
    PENDING = "PENDING"  # the provider is processing
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # ours: its hold on the booking lapsed unpaid (money arriving later counts)
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


STATUS_ORDER: dict[PaymentStatus, int] = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.PENDING: 2,
    PaymentStatus.SUCCEEDED: 3,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELLED: 3,
    PaymentStatus.EXPIRED: 3,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 5,
}

# A payment in one of these holds its booking: at most one per booking (a partial unique
# index), until it settles or its hold lapses (then it is EXPIRED).
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PENDING)


class RefundOutcome(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class NextActionKind(StrEnum):
    NONE = "NONE"
    CLIENT_SECRET = "CLIENT_SECRET"  # noqa: S105 - Stripe.js confirms the PaymentIntent in the browser
    REDIRECT = "REDIRECT"  # send the payer to redirect_url (Checkout, PayPal approval, PSE)
    QR_CODE = "QR_CODE"  # PIX: show qr_code (copy-and-paste text) / qr_code_image (base64 PNG)
    VOUCHER = "VOUCHER"  # boleto or cash voucher at voucher_url


class EmailStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for a worker (or for its next attempt)
    SENDING = "SENDING"  # claimed by a worker until ``lease_until``
    SENT = "SENT"  # accepted by the SMTP server
    FAILED = "FAILED"  # every attempt failed: a dead letter the operator can requeue
    SUPPRESSED = "SUPPRESSED"  # marketing mail to someone who unsubscribed: never sent


class SuppressionSource(StrEnum):
    ONE_CLICK = "ONE_CLICK"  # RFC 8058 POST from the mail client
    PREFERENCES = "PREFERENCES"  # the preferences page
    ADMIN = "ADMIN"
