"""E-mail privacy (docs/privacy.md §2.6): who may receive each mail, and which values a mail
to them may never carry.

A mail is a copy of data that leaves our control: it is forwarded, printed, kept. So every
template names its recipient, every recipient kind the context keys it must never get, and the
queue refuses a template that would show one of them (``refused_keys``); the triggers drop a
message to a user whose role is not the template's recipient (``may_receive``). The voucher
attached to the booking confirmation is shown at the hotel, so it never carries a price
(``voucher_facts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from spirit_tours.core.enums import Role


class Recipient(Enum):
    OWNER = "OWNER"  # the user who asked for the quotation or booking (an agency's, a client)
    PAYER = "PAYER"  # the user who paid (the owner's side, or the operator paying for them)
    INVITED_HOTEL = "INVITED_HOTEL"  # the HOTEL users of an invited hotel company
    GUIDE = "GUIDE"  # the guide assigned to a booking
    ACCOUNT = "ACCOUNT"  # the account holder about their own account, or marketing


#: The roles each kind of recipient can have.
ROLES: dict[Recipient, frozenset[Role]] = {
    Recipient.OWNER: frozenset({Role.AGENCY, Role.CLIENT}),
    Recipient.PAYER: frozenset({Role.ADMIN, Role.AGENCY, Role.CLIENT}),
    Recipient.INVITED_HOTEL: frozenset({Role.HOTEL}),
    Recipient.GUIDE: frozenset({Role.GUIDE}),
    Recipient.ACCOUNT: frozenset(Role),
}

#: Who each template is written for.
RECIPIENT_OF: dict[str, Recipient] = {
    "quotation_created": Recipient.OWNER,
    "quotation_approved": Recipient.OWNER,
    "booking_confirmed": Recipient.OWNER,
    "reminder_payment": Recipient.OWNER,
    "cancellation_notice": Recipient.OWNER,
    "survey": Recipient.OWNER,
    "payment_received": Recipient.PAYER,
    "refund_processed": Recipient.PAYER,
    "hotel_invitation": Recipient.INVITED_HOTEL,
    "deadline_warning": Recipient.INVITED_HOTEL,
    "guide_assigned": Recipient.GUIDE,
    "password_reset": Recipient.ACCOUNT,
    "welcome": Recipient.ACCOUNT,
    "newsletter": Recipient.ACCOUNT,
    "birthday": Recipient.ACCOUNT,
}

#: Context keys that carry a price the customer pays (selling price, payment amounts).
CUSTOMER_PRICE_KEYS = frozenset({"total", "amount", "selling_price", "amount_paid"})
#: Context keys that carry the operator's side of the price.
OPERATOR_PRICE_KEYS = frozenset({"net_price", "markup", "markup_percent", "margin"})
#: Context keys that carry the owner's identity or contact.
OWNER_KEYS = frozenset({"owner_name", "owner_email", "owner_phone", "owner_company", "booked_by"})

#: What each recipient must never find in a mail (docs/privacy.md §1).
NEVER_SHOWN: dict[Recipient, frozenset[str]] = {
    Recipient.OWNER: OPERATOR_PRICE_KEYS,
    Recipient.PAYER: OPERATOR_PRICE_KEYS,
    Recipient.INVITED_HOTEL: CUSTOMER_PRICE_KEYS | OPERATOR_PRICE_KEYS | OWNER_KEYS,
    Recipient.GUIDE: CUSTOMER_PRICE_KEYS | OPERATOR_PRICE_KEYS | OWNER_KEYS,
    Recipient.ACCOUNT: CUSTOMER_PRICE_KEYS | OPERATOR_PRICE_KEYS | OWNER_KEYS,
}


def recipient_of(template: str) -> Recipient:
    """The template's recipient; a template without one is refused (KeyError naming it)."""
    try:
        return RECIPIENT_OF[template]
    except KeyError:
        raise KeyError(f"E-mail template {template!r} has no recipient in RECIPIENT_OF.") from None


def may_receive(template: str, role: Role) -> bool:
    """Whether a user of ``role`` may be sent ``template`` at all."""
    return role in ROLES[recipient_of(template)]


def refused_keys(template: str, keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` the template's recipient must never see, sorted (none: [])."""
    return sorted(set(keys) & NEVER_SHOWN[recipient_of(template)])


def voucher_facts(context: Mapping[str, object]) -> dict[str, object]:
    """The booking confirmation's context as the voucher may show it: travellers present it at
    the hotel, which must never learn the selling price, so no price of any kind."""
    hidden = CUSTOMER_PRICE_KEYS | OPERATOR_PRICE_KEYS
    return {key: value for key, value in context.items() if key not in hidden}
