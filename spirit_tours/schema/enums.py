"""The persistence enums, registered in place as GraphQL enums (imported before any type)."""

from enum import StrEnum

import strawberry
from strawberry.types.enum import has_enum_definition

from spirit_tours.core.enums import (
    BookingStatus,
    CompanyKind,
    CompetitorPrices,
    EmailStatus,
    ExtraService,
    InvitationStatus,
    Locale,
    NextActionKind,
    OfferStatus,
    PaymentMethod,
    PaymentStatus,
    Provider,
    QuotationStatus,
    RefundStatus,
    Role,
    RoomType,
    VehicleKind,
)


def _enum(
    cls: type[StrEnum], description: str, values: dict[str, str], name: str | None = None
) -> None:
    """Register ``cls`` with a description on the enum and on each of its values.

    The enums live in ``core``, which knows nothing of GraphQL, so ``strawberry.enum_value``
    cannot describe their members in place; the descriptions are given here, by member name,
    and every member must have one (a new member without one fails at import)."""
    strawberry.enum(cls, name=name, description=description)
    if not has_enum_definition(cls):
        raise TypeError(f"{cls.__name__} is not a strawberry enum")
    members = {value.name for value in cls.__strawberry_definition__.values}
    if members != set(values):
        raise ValueError(f"{cls.__name__}: describe exactly {sorted(members)}")
    for value in cls.__strawberry_definition__.values:
        value.description = values[value.name]


_enum(
    Role,
    "What a user does on the platform.",
    {
        "ADMIN": "Operator staff: sees and manages everything.",
        "AGENCY": "Staff of a travel agency, asking for quotations for its customers.",
        "HOTEL": "Staff of a hotel company, answering invitations with offers.",
        "CLIENT": "A traveller asking for quotations directly, with no company.",
        "GUIDE": "A tour guide of the operator; sees only the bookings assigned to them.",
    },
)
_enum(
    CompanyKind,
    "Operator, travel agency or hotel company.",
    {
        "OPERATOR": "Spirit Tours itself, the company of ADMIN and GUIDE users.",
        "AGENCY": "A travel agency, whose AGENCY users ask for quotations.",
        "HOTEL": "A hotel company running one or more hotels, whose HOTEL users make offers.",
    },
)
_enum(
    Locale,
    "Language of e-mail and texts: es, en or pt.",
    {"ES": "Spanish (es).", "EN": "English (en).", "PT": "Portuguese (pt)."},
)
_enum(
    QuotationStatus,
    "DRAFT → OPEN → CLOSED → PROPOSED → APPROVED → BOOKED, with CANCELLED and EXPIRED as exits.",
    {
        "DRAFT": "Asked for; no hotel invited yet. The owner may still edit it.",
        "OPEN": "Hotels are invited and may bid until the offer deadline.",
        "CLOSED": "No more offers (deadline passed or closed by the operator, or a proposal "
        "rejected): the operator picks an offer.",
        "PROPOSED": "The operator proposed an offer with its selling price; the owner decides.",
        "APPROVED": "The owner approved the proposal; it can now be booked.",
        "BOOKED": "Turned into its booking.",
        "CANCELLED": "Cancelled by the owner or the operator before it was booked.",
        "EXPIRED": "Never booked and the trip's start date has come.",
    },
)
_enum(
    CompetitorPrices,
    "What invited hotels see of competing offers.",
    {
        "HIDDEN": "Nothing of competing offers, not even their number (the default).",
        "RANK_ONLY": "Only the number of active offers and the rank of their own.",
        "OPEN": "Competing active offers with their net price, each hotel anonymised by a "
        'stable alias such as "Hotel B".',
    },
)
_enum(
    InvitationStatus,
    "Where a hotel stands with an invitation to bid.",
    {
        "INVITED": "Invited; the hotel has not opened the quotation yet.",
        "VIEWED": "The hotel's staff opened the quotation.",
        "DECLINED": "The hotel declined to bid.",
        "RESPONDED": "The hotel made an offer.",
    },
)
_enum(
    OfferStatus,
    "Whether an offer stands.",
    {
        "ACTIVE": "The offer stands and may be proposed.",
        "WITHDRAWN": "The hotel took the offer back; it may submit again while bidding is open.",
    },
)
_enum(
    RoomType,
    "The kind of hotel room.",
    {
        "SINGLE": "One bed for one person.",
        "DOUBLE": "One double bed for two people.",
        "TWIN": "Two single beds.",
        "TRIPLE": "Beds for three people.",
        "SUITE": "A suite.",
    },
)
_enum(
    ExtraService,
    "A service wanted besides the rooms.",
    {
        "GUIDE": "A tour guide for the trip.",
        "TRANSPORT": "A vehicle for the group during the trip.",
        "AIRPORT_TRANSFER": "Transfers between the airport and the hotel.",
        "BREAKFAST": "Breakfast included with the rooms.",
        "EXCURSIONS": "Organised excursions.",
    },
)
_enum(
    BookingStatus,
    "PENDING_PAYMENT → CONFIRMED → COMPLETED, or CANCELLED",
    {
        "PENDING_PAYMENT": "Booked; waiting for the deposit or full payment its policy asks.",
        "CONFIRMED": "The payment its policy asks was received.",
        "COMPLETED": "The trip has ended and the operator closed the booking.",
        "CANCELLED": "Cancelled by the owner or the operator; a refund may be due.",
    },
)
_enum(
    RefundStatus,
    "A refund made due by a cancellation, then executed.",
    {
        "DUE": "Owed by the cancellation policy; not sent to the provider yet.",
        "PROCESSING": "Sent to the payment provider; waiting for its answer.",
        "REFUNDED": "The money was sent back to the payer.",
        "FAILED": "The provider refused or failed the refund.",
    },
)
_enum(
    VehicleKind,
    "The kind of vehicle of the fleet.",
    {
        "CAR": "A car.",
        "VAN": "A van.",
        "MINIBUS": "A minibus.",
        "BUS": "A coach or bus.",
    },
)
_enum(
    Provider,
    "Who moves the money.",
    {
        "STRIPE": "Stripe.",
        "MERCADOPAGO": "Mercado Pago (Latin America: cards, PIX, boleto, cash).",
        "PAYPAL": "PayPal.",
        "PAYU": "PayU (Latin America: cards, PSE, cash).",
        "OFFLINE": "The development gateway: a local checkout page stands in for a provider; "
        "refused outside development.",
    },
    name="PaymentProvider",
)
_enum(
    PaymentMethod,
    "How the payer pays.",
    {
        "CARD": "A card, in a provider's hosted checkout or with a client secret.",
        "PIX": "PIX (Brazil): a QR code or copy-and-paste code.",
        "BOLETO": "Boleto (Brazil): a bank slip voucher.",
        "PSE": "PSE (Colombia): a bank transfer through a redirect; needs the bank's code.",
        "CASH": "A cash voucher: Efecty or Baloto (CO), OXXO (MX), PagoEfectivo (PE).",
        "PAYPAL": "PayPal: the payer approves on PayPal's page.",
    },
)
_enum(
    PaymentStatus,
    "Only ever moves forward.",
    {
        "CREATED": "Recorded; no provider has answered yet.",
        "REQUIRES_ACTION": "The payer must act: see nextAction (pay the voucher, approve, "
        "3-D Secure).",
        "PENDING": "The provider is processing it.",
        "SUCCEEDED": "The money was received.",
        "FAILED": "The payment failed; failureReason says why.",
        "CANCELLED": "Cancelled at the provider; no money was taken.",
        "EXPIRED": "Its hold on the booking lapsed unpaid (money arriving later still counts).",
        "PARTIALLY_REFUNDED": "Part of the amount was refunded.",
        "REFUNDED": "The whole amount was refunded.",
    },
)
_enum(
    NextActionKind,
    "What the client does next to pay.",
    {
        "NONE": "Nothing: wait for the outcome.",
        "CLIENT_SECRET": "Confirm the payment in the browser with Stripe.js and clientSecret.",
        "REDIRECT": "Send the payer to redirectUrl (hosted checkout, PayPal approval, PSE).",
        "QR_CODE": "Show the PIX qrCode (copy-and-paste text) or qrCodeImage.",
        "VOUCHER": "Show the boleto or cash voucher at voucherUrl.",
    },
)
_enum(
    EmailStatus,
    "Where a message stands.",
    {
        "QUEUED": "Waiting for a worker, or for its next attempt.",
        "SENDING": "Claimed by a worker, being sent.",
        "SENT": "Accepted by the SMTP server.",
        "FAILED": "Every attempt failed: a dead letter the operator can requeue.",
        "SUPPRESSED": "Marketing mail to someone who unsubscribed: never sent.",
    },
)
