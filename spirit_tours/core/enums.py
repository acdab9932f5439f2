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


class AttemptOutcome(StrEnum):
    """What one provider answered when a payment was started, or when we cancelled it after
    its hold lapsed (``Payment.attempts``)."""

    ACCEPTED = "ACCEPTED"  # it took the payment: the payment is its from now on
    UNAVAILABLE = "UNAVAILABLE"  # down, timed out or failing: the next provider was tried
    REJECTED = "REJECTED"  # it refused the payment itself: no other provider is tried
    CANCELLED = "CANCELLED"  # later: its hold lapsed and we cancelled it at the provider
    CANCEL_FAILED = "CANCEL_FAILED"  # later: that cancellation was refused or failed


class EmailTemplate(StrEnum):
    """The e-mail templates (``emails.render.TEMPLATES`` holds what each one needs)."""

    QUOTATION_CREATED = "quotation_created"
    QUOTATION_APPROVED = "quotation_approved"
    BOOKING_CONFIRMED = "booking_confirmed"
    PAYMENT_RECEIVED = "payment_received"
    HOTEL_INVITATION = "hotel_invitation"
    GUIDE_ASSIGNED = "guide_assigned"
    REMINDER_PAYMENT = "reminder_payment"
    DEADLINE_WARNING = "deadline_warning"
    CANCELLATION_NOTICE = "cancellation_notice"
    REFUND_PROCESSED = "refund_processed"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a template's name, not a password
    WELCOME = "welcome"
    NEWSLETTER = "newsletter"
    SURVEY = "survey"
    BIRTHDAY = "birthday"


class EventKind(StrEnum):
    """Every domain event the outbox carries (``persistence.repositories.events.emit_event``).

    The value is what is stored and what the mail triggers and live rules key on; the API shows
    the name (``QUOTATION_PROPOSED``)."""

    QUOTATION_CREATED = "quotation.created"
    QUOTATION_UPDATED = "quotation.updated"
    QUOTATION_HOTELS_INVITED = "quotation.hotels_invited"
    QUOTATION_HOTEL_REMOVED = "quotation.hotel_removed"
    QUOTATION_CLOSED = "quotation.closed"
    QUOTATION_PROPOSED = "quotation.proposed"
    QUOTATION_APPROVED = "quotation.approved"
    QUOTATION_REJECTED = "quotation.rejected"
    QUOTATION_BOOKED = "quotation.booked"
    QUOTATION_CANCELLED = "quotation.cancelled"
    QUOTATION_EXPIRED = "quotation.expired"
    INVITATION_DECLINED = "invitation.declined"
    OFFER_SUBMITTED = "offer.submitted"
    OFFER_REVISED = "offer.revised"
    OFFER_WITHDRAWN = "offer.withdrawn"
    COMPETITION_CHANGED = "competition.changed"  # never stored: what a RANK_ONLY hotel is told
    MESSAGE_POSTED = "message.posted"
    ANNOUNCEMENT_POSTED = "announcement.posted"
    BOOKING_CREATED = "booking.created"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_COMPLETED = "booking.completed"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_REFUND_DUE = "booking.refund_due"
    BOOKING_GUIDE_ASSIGNED = "booking.guide_assigned"
    BOOKING_GUIDE_UNASSIGNED = "booking.guide_unassigned"
    BOOKING_TRANSPORT_ASSIGNED = "booking.transport_assigned"
    BOOKING_PAYMENT_REMINDER_DUE = "booking.payment_reminder_due"
    PAYMENT_STARTED = "payment.started"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_EXPIRED = "payment.expired"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_OVERPAID = "payment.overpaid"
    PAYMENT_NEEDS_ATTENTION = "payment.needs_attention"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_REFUND_FAILED = "payment.refund_failed"
    USER_CREATED = "user.created"


class NotificationKind(StrEnum):
    """What an inbox entry tells its user (``permissions.live.NOTIFICATIONS``)."""

    INVITATION_RECEIVED = "INVITATION_RECEIVED"
    OFFER_RECEIVED = "OFFER_RECEIVED"
    PROPOSAL_READY = "PROPOSAL_READY"
    BOOKING_CONFIRMED = "BOOKING_CONFIRMED"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"
    GUIDE_ASSIGNED = "GUIDE_ASSIGNED"
    PAYMENT_REMINDER = "PAYMENT_REMINDER"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    MESSAGE_RECEIVED = "MESSAGE_RECEIVED"


class ChatThread(StrEnum):
    """A quotation's chat runs in threads between the operator and one party."""

    OWNER = "OWNER"  # with the quotation's owner
    HOTEL = "HOTEL"  # with one invited hotel's company
