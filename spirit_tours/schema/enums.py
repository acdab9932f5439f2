"""The domain's enums, registered in place as GraphQL enums (imported before any type), each
value described: a generated client and GraphiQL's docs show those texts beside the constants.
"""

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry
from babel.numbers import get_currency_name

from spirit_tours.core.currencies import WITHDRAWN, Currency
from spirit_tours.core.enums import (
    AttemptOutcome,
    BookingStatus,
    ChatThread,
    CompanyKind,
    CompetitorPrices,
    EmailStatus,
    EmailTemplate,
    EventKind,
    ExtraService,
    InvitationStatus,
    Locale,
    NextActionKind,
    NotificationKind,
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
from spirit_tours.core.errors import ErrorCode
from spirit_tours.core.money import iso_places
from spirit_tours.emails.queueing import Priority
from spirit_tours.resolvers.payments.webhooks import WebhookOutcome

E = TypeVar("E", bound=Enum)


def described(
    cls: type[E],
    descriptions: Mapping[E, str] | Mapping[str, str],
    *,
    name: str | None = None,
    description: str,
    deprecated: Mapping[E, str] | None = None,
) -> type[E]:
    """Register ``cls`` as a GraphQL enum whose every value carries its description.

    The enums live in ``core``, which knows nothing of GraphQL, so ``strawberry.enum_value``
    cannot describe their members in place; the descriptions are given here, by member or
    member name, and every member must have exactly one (a new member without one fails at
    import). ``deprecated`` members carry their reason (hidden from introspection unless asked
    with ``includeDeprecated``)."""
    by_name = {getattr(key, "name", key): text for key, text in descriptions.items()}
    if set(by_name) != set(cls.__members__):
        raise ValueError(f"{cls.__name__}: describe exactly {sorted(cls.__members__)}")
    strawberry.enum(cls, name=name, description=description)
    reasons = {member.name: reason for member, reason in (deprecated or {}).items()}
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = by_name[value.name]
        value.deprecation_reason = reasons.get(value.name)
    return cls


described(
    Role,
    {
        "ADMIN": "Operator staff: sees and manages everything.",
        "AGENCY": "Staff of a travel agency, asking for quotations for its customers.",
        "HOTEL": "Staff of a hotel company, answering invitations with offers.",
        "CLIENT": "A traveller asking for quotations directly, with no company.",
        "GUIDE": "A tour guide of the operator; sees only the bookings assigned to them.",
    },
    description="What a user does on the platform.",
)
described(
    CompanyKind,
    {
        "OPERATOR": "Spirit Tours itself, the company of ADMIN and GUIDE users.",
        "AGENCY": "A travel agency, whose AGENCY users ask for quotations.",
        "HOTEL": "A hotel company running one or more hotels, whose HOTEL users make offers.",
    },
    description="Operator, travel agency or hotel company.",
)
described(
    Locale,
    {"ES": "Spanish (es).", "EN": "English (en).", "PT": "Portuguese (pt)."},
    description="Language of e-mail and texts: ES, EN or PT.",
)
described(
    QuotationStatus,
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
    description="DRAFT → OPEN → CLOSED → PROPOSED → APPROVED → BOOKED, with CANCELLED and "
    "EXPIRED as exits.",
)
described(
    CompetitorPrices,
    {
        "HIDDEN": "Nothing of competing offers, not even their number (the default).",
        "RANK_ONLY": "Only the number of active offers and the rank of their own.",
        "OPEN": "Competing active offers with their net price, each hotel anonymised by a "
        'stable alias such as "Hotel B".',
    },
    description="What invited hotels see of competing offers.",
)
described(
    InvitationStatus,
    {
        "INVITED": "Invited; the hotel has not opened the quotation yet.",
        "VIEWED": "The hotel's staff opened the quotation.",
        "DECLINED": "The hotel declined to bid.",
        "RESPONDED": "The hotel made an offer.",
    },
    description="Where a hotel stands with an invitation to bid.",
)
described(
    OfferStatus,
    {
        "ACTIVE": "The offer stands and may be proposed.",
        "WITHDRAWN": "The hotel took the offer back; it may submit again while bidding is open.",
    },
    description="Whether an offer stands.",
)
described(
    RoomType,
    {
        "SINGLE": "One bed for one person.",
        "DOUBLE": "One double bed for two people.",
        "TWIN": "Two single beds.",
        "TRIPLE": "Beds for three people.",
        "SUITE": "A suite.",
    },
    description="The kind of hotel room.",
)
described(
    ExtraService,
    {
        "GUIDE": "A tour guide for the trip.",
        "TRANSPORT": "A vehicle for the group during the trip.",
        "AIRPORT_TRANSFER": "Transfers between the airport and the hotel.",
        "BREAKFAST": "Breakfast included with the rooms.",
        "EXCURSIONS": "Organised excursions.",
    },
    description="A service wanted besides the rooms.",
)
described(
    BookingStatus,
    {
        "PENDING_PAYMENT": "Booked; waiting for the deposit or full payment its policy asks.",
        "CONFIRMED": "The payment its policy asks was received.",
        "COMPLETED": "The trip has ended and the operator closed the booking.",
        "CANCELLED": "Cancelled by the owner or the operator; a refund may be due.",
    },
    description="PENDING_PAYMENT → CONFIRMED → COMPLETED, or CANCELLED",
)
described(
    RefundStatus,
    {
        "DUE": "Owed by the cancellation policy; not sent to the provider yet.",
        "PROCESSING": "Sent to the payment provider; waiting for its answer.",
        "REFUNDED": "The money was sent back to the payer.",
        "FAILED": "The provider refused or failed the refund.",
    },
    description="A refund made due by a cancellation, then executed.",
)
described(
    VehicleKind,
    {
        "CAR": "A car.",
        "VAN": "A van.",
        "MINIBUS": "A minibus.",
        "BUS": "A coach or bus.",
    },
    description="The kind of vehicle of the fleet.",
)
described(
    Provider,
    {
        "STRIPE": "Stripe.",
        "MERCADOPAGO": "Mercado Pago (Latin America: cards, PIX, boleto, cash).",
        "PAYPAL": "PayPal.",
        "PAYU": "PayU (Latin America: cards, PSE, cash).",
        "OFFLINE": "The development gateway: a local checkout page stands in for a provider; "
        "refused outside development.",
    },
    description="Who moves the money.",
    name="PaymentProvider",
)
described(
    PaymentMethod,
    {
        "CARD": "A card, in a provider's hosted checkout or with a client secret.",
        "PIX": "PIX (Brazil): a QR code or copy-and-paste code.",
        "BOLETO": "Boleto (Brazil): a bank slip voucher.",
        "PSE": "PSE (Colombia): a bank transfer through a redirect; needs the bank's code.",
        "CASH": "A cash voucher: Efecty or Baloto (CO), OXXO (MX), PagoEfectivo (PE).",
        "PAYPAL": "PayPal: the payer approves on PayPal's page.",
    },
    description="How the payer pays.",
)
described(
    PaymentStatus,
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
    description="Only ever moves forward.",
)
described(
    NextActionKind,
    {
        "NONE": "Nothing: wait for the outcome.",
        "CLIENT_SECRET": "Confirm the payment in the browser with Stripe.js and clientSecret.",
        "REDIRECT": "Send the payer to redirectUrl (hosted checkout, PayPal approval, PSE).",
        "QR_CODE": "Show the PIX qrCode (copy-and-paste text) or qrCodeImage.",
        "VOUCHER": "Show the boleto or cash voucher at voucherUrl.",
    },
    description="What the client does next to pay.",
)
described(
    EmailStatus,
    {
        "QUEUED": "Waiting for a worker, or for its next attempt.",
        "SENDING": "Claimed by a worker, being sent.",
        "SENT": "Accepted by the SMTP server.",
        "FAILED": "Every attempt failed: a dead letter the operator can requeue.",
        "SUPPRESSED": "Marketing mail to someone who unsubscribed: never sent.",
    },
    description="Where a message stands.",
)


described(
    Currency,
    {
        code: f"{get_currency_name(code.value, locale='en')}: {iso_places(code)} decimals."
        for code in Currency
    },
    description=(
        "An ISO 4217 currency code: every currency in use today (CLDR's legal tenders), so a "
        "quotation can be asked in the traveller's money; which ones a payment provider takes "
        "is decided when paying (SPIRIT_PAYMENT_ROUTES). Amounts come with exactly its "
        "decimals (its ISO 4217 minor units, as CLDR gives them); an amount sent may have "
        "at most that many, and never more than 2 (BAD_USER_INPUT otherwise). Codes withdrawn "
        "from circulation are deprecated: amounts stored in them still read, new quotations "
        "in them are refused (BAD_USER_INPUT)."
    ),
    deprecated=dict.fromkeys(
        WITHDRAWN, "No longer in use: amounts stored in it still read; new ones are refused."
    ),
)
described(
    ErrorCode,
    {
        ErrorCode.UNAUTHENTICATED: "No valid access token: sign in (or refresh the token).",
        ErrorCode.FORBIDDEN: "Signed in, but this role or person may not do it.",
        ErrorCode.NOT_FOUND: "No such object, or one the viewer may not see (never told apart).",
        ErrorCode.BAD_USER_INPUT: (
            "An argument or variable is wrong; `extensions.field` names it. Nothing changed."
        ),
        ErrorCode.CONFLICT: (
            "Someone else changed it first, or the idempotency key was used with other input."
        ),
        ErrorCode.INVALID_STATE: "Not allowed in the object's current status.",
        ErrorCode.TOO_MANY_ATTEMPTS: (
            "Too many sign-ins, resets or connections in a short time; wait and retry."
        ),
        ErrorCode.SERVICE_UNAVAILABLE: (
            "A dependency (database, Redis, provider) is busy or down; retry after "
            "`extensions.retryAfterSeconds` if given."
        ),
        ErrorCode.RATE_LIMITED: (
            "The viewer spent their query-cost budget; retry after `extensions.retryAfterSeconds`."
        ),
        ErrorCode.QUERY_TOO_COMPLEX: (
            "The operation's estimated cost, depth or size is over the server's limit."
        ),
        ErrorCode.CURSOR_EXPIRED: (
            "A subscription's `after` cursor is older than the replay window: refetch, then "
            "subscribe without it."
        ),
        ErrorCode.GRAPHQL_PARSE_FAILED: "The document is not valid GraphQL syntax.",
        ErrorCode.GRAPHQL_VALIDATION_FAILED: (
            "The document or its variables do not match the schema (unknown field, wrong "
            "type, a value outside an enum, a Decimal that is not a number…)."
        ),
        ErrorCode.BAD_REQUEST: (
            "The HTTP request itself is malformed (body, content type, JSON, parameters)."
        ),
        ErrorCode.METHOD_NOT_ALLOWED: "Wrong HTTP method, e.g. a mutation over GET.",
        ErrorCode.PERSISTED_QUERY_NOT_FOUND: (
            "Automatic persisted query: the hash is unknown; send the query text with it."
        ),
        ErrorCode.INTERNAL_SERVER_ERROR: "A bug on our side; it is logged. Nothing was shown.",
    },
    description=(
        "Every value `extensions.code` of an error can take. Published so that clients can "
        "switch on it; a new code is added here first."
    ),
)
described(
    EventKind,
    {
        EventKind.QUOTATION_CREATED: "A quotation was asked for.",
        EventKind.QUOTATION_UPDATED: "Its request (destination, dates, rooms…) changed.",
        EventKind.QUOTATION_HOTELS_INVITED: "The operator invited hotels to bid.",
        EventKind.QUOTATION_HOTEL_REMOVED: "The operator withdrew a hotel's invitation.",
        EventKind.QUOTATION_CLOSED: "It stopped taking offers.",
        EventKind.QUOTATION_PROPOSED: "The operator proposed an offer with its markup.",
        EventKind.QUOTATION_APPROVED: "The owner approved the proposal.",
        EventKind.QUOTATION_REJECTED: "The owner rejected the proposal.",
        EventKind.QUOTATION_BOOKED: "It became a booking.",
        EventKind.QUOTATION_CANCELLED: "It was cancelled.",
        EventKind.QUOTATION_EXPIRED: "It expired unanswered.",
        EventKind.INVITATION_DECLINED: "An invited hotel declined.",
        EventKind.OFFER_SUBMITTED: "A hotel submitted an offer.",
        EventKind.OFFER_REVISED: "A hotel revised its offer.",
        EventKind.OFFER_WITHDRAWN: "A hotel withdrew its offer.",
        EventKind.COMPETITION_CHANGED: (
            "RANK_ONLY hotels: the offer count or your rank changed (no competitor shown)."
        ),
        EventKind.MESSAGE_POSTED: "A chat message was posted (`MessagePosted`).",
        EventKind.ANNOUNCEMENT_POSTED: "The operator posted an announcement.",
        EventKind.BOOKING_CREATED: "A booking was made from an approved quotation.",
        EventKind.BOOKING_CONFIRMED: "Enough was paid: the booking is confirmed.",
        EventKind.BOOKING_COMPLETED: "The trip took place.",
        EventKind.BOOKING_CANCELLED: "The booking was cancelled.",
        EventKind.BOOKING_REFUND_DUE: "A cancellation or overpayment made a refund due.",
        EventKind.BOOKING_GUIDE_ASSIGNED: "A guide was assigned.",
        EventKind.BOOKING_GUIDE_UNASSIGNED: "The guide was unassigned or replaced.",
        EventKind.BOOKING_TRANSPORT_ASSIGNED: "A vehicle was assigned.",
        EventKind.BOOKING_PAYMENT_REMINDER_DUE: "A payment falls due soon.",
        EventKind.PAYMENT_STARTED: "A provider accepted the payment; the payer acts next.",
        EventKind.PAYMENT_FAILED: "The payment failed.",
        EventKind.PAYMENT_EXPIRED: "Its hold on the booking lapsed unpaid.",
        EventKind.PAYMENT_SUCCEEDED: "The money arrived.",
        EventKind.PAYMENT_OVERPAID: "More arrived than the booking takes; the excess is due back.",
        EventKind.PAYMENT_NEEDS_ATTENTION: "The provider's report disagrees with ours (operator).",
        EventKind.PAYMENT_REFUNDED: "A refund of it went through.",
        EventKind.PAYMENT_REFUND_FAILED: "A refund of it failed.",
        EventKind.USER_CREATED: "An account was created.",
    },
    description="What happened: the domain event behind a live update.",
)
described(
    NotificationKind,
    {
        NotificationKind.INVITATION_RECEIVED: "Your hotel was invited to bid.",
        NotificationKind.OFFER_RECEIVED: "A hotel submitted an offer (operator).",
        NotificationKind.PROPOSAL_READY: "The operator proposed an offer for your quotation.",
        NotificationKind.BOOKING_CONFIRMED: "Your booking is confirmed.",
        NotificationKind.BOOKING_CANCELLED: "Your booking was cancelled.",
        NotificationKind.GUIDE_ASSIGNED: "You were assigned to guide a booking.",
        NotificationKind.PAYMENT_REMINDER: "A payment of your booking falls due soon.",
        NotificationKind.PAYMENT_RECEIVED: "Your payment arrived.",
        NotificationKind.MESSAGE_RECEIVED: "A new message in one of your threads.",
    },
    description="What an inbox entry is about.",
)
described(
    ChatThread,
    {
        ChatThread.OWNER: "Between the operator and the quotation's owner.",
        ChatThread.HOTEL: "Between the operator and one invited hotel company.",
    },
    description="Whom a quotation's chat thread is with.",
)
described(
    EmailTemplate,
    {template: f"The `{template.value}` e-mail." for template in EmailTemplate},
    description="An e-mail template; each is sent in the recipient's locale.",
)
described(
    Priority,
    {
        Priority.HIGH: "Sent first (payments, password resets).",
        Priority.NORMAL: "Transactional mail.",
        Priority.LOW: "Surveys and greetings.",
        Priority.BULK: "Newsletters: never delay any other lane.",
    },
    name="EmailPriority",
    description="The queue lane of a message.",
)
described(
    AttemptOutcome,
    {
        AttemptOutcome.ACCEPTED: "The provider took the payment.",
        AttemptOutcome.UNAVAILABLE: "The provider was down or slow; the next one was tried.",
        AttemptOutcome.REJECTED: "The provider refused the payment; no other was tried.",
        AttemptOutcome.CANCELLED: "Its hold lapsed unpaid; we cancelled it at the provider.",
        AttemptOutcome.CANCEL_FAILED: "Its hold lapsed; the provider would not cancel it.",
    },
    description="What one payment provider answered: to the start, or to a cancellation.",
)
described(
    WebhookOutcome,
    {
        WebhookOutcome.APPLIED: "Verified and applied to its payment.",
        WebhookOutcome.DUPLICATE: "Already received: nothing changed.",
        WebhookOutcome.IGNORED: "Verified, but about no payment of ours.",
        WebhookOutcome.REJECTED: "The signature did not verify: nothing changed.",
    },
    description="What became of a provider's webhook.",
)
