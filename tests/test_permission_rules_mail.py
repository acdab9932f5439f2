"""docs/privacy.md §2.6, e-mail: who may receive each template, which keys a mail to them may
never carry, the voucher without a price; and §2.1's field guards failing closed. Pure
functions over the real template registry, no database; the end-to-end proofs are
test_email_events.py and test_email_voucher.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from spirit_tours.core.enums import Role
from spirit_tours.emails.render import TEMPLATES
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.mail import (
    NEVER_SHOWN,
    RECIPIENT_OF,
    Recipient,
    may_receive,
    recipient_of,
    refused_keys,
    voucher_facts,
)
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture

ALL = frozenset(Role)
RECEIVERS = {
    "quotation_created": {Role.AGENCY, Role.CLIENT},
    "quotation_approved": {Role.AGENCY, Role.CLIENT},
    "booking_confirmed": {Role.AGENCY, Role.CLIENT},
    "reminder_payment": {Role.AGENCY, Role.CLIENT},
    "cancellation_notice": {Role.AGENCY, Role.CLIENT},
    "survey": {Role.AGENCY, Role.CLIENT},
    "payment_received": {Role.ADMIN, Role.AGENCY, Role.CLIENT},  # the operator may pay
    "refund_processed": {Role.ADMIN, Role.AGENCY, Role.CLIENT},
    "hotel_invitation": {Role.HOTEL},
    "deadline_warning": {Role.HOTEL},
    "guide_assigned": {Role.GUIDE},
    "password_reset": ALL,
    "welcome": ALL,
    "newsletter": ALL,
    "birthday": ALL,
}


def test_every_template_names_its_recipient() -> None:
    assert set(RECIPIENT_OF) == set(TEMPLATES) == set(RECEIVERS)


@pytest.mark.parametrize("template", sorted(RECEIVERS))
def test_who_may_receive_each_template(template: str) -> None:
    assert {role for role in Role if may_receive(template, role)} == RECEIVERS[template]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_no_template_shows_what_its_recipient_must_never_see(template: str) -> None:
    """The keys a template shows (its placeholders) never include a hidden one."""
    assert refused_keys(template, TEMPLATES[template].required) == []


# recipient, a key someone might add to its context → refused?
KEYS = [
    (Recipient.INVITED_HOTEL, "total", True),  # the selling price
    (Recipient.INVITED_HOTEL, "net_price", True),  # a competitor's, or the markup's base
    (Recipient.INVITED_HOTEL, "owner_name", True),  # the owner's identity
    (Recipient.INVITED_HOTEL, "destination", False),
    (Recipient.GUIDE, "amount", True),
    (Recipient.GUIDE, "owner_email", True),
    (Recipient.GUIDE, "destination", False),
    (Recipient.OWNER, "total", False),  # the owner pays the selling price
    (Recipient.OWNER, "markup", True),
    (Recipient.OWNER, "net_price", True),
    (Recipient.PAYER, "amount", False),
    (Recipient.PAYER, "margin", True),
    (Recipient.ACCOUNT, "total", True),
]


@pytest.mark.parametrize(("recipient", "key", "refused"), KEYS)
def test_keys_each_recipient_must_never_get(recipient: Recipient, key: str, refused: bool) -> None:
    assert (key in NEVER_SHOWN[recipient]) is refused
    template = next(t for t, r in RECIPIENT_OF.items() if r == recipient)
    assert refused_keys(template, {key, "destination"}) == ([key] if refused else [])


def test_an_unknown_template_has_no_recipient() -> None:
    with pytest.raises(KeyError, match="no_such_mail"):
        recipient_of("no_such_mail")
    with pytest.raises(KeyError):
        may_receive("no_such_mail", Role.ADMIN)


def test_the_voucher_never_carries_a_price() -> None:
    context: dict[str, object] = {
        "name": "Maria", "reference": "B-1", "destination": "Cusco", "total": "1012.49",
        "amount": "500", "net_price": "800", "markup": "12", "travellers": 2,
    }  # fmt: skip
    assert voucher_facts(context) == {
        "name": "Maria", "reference": "B-1", "destination": "Cusco", "travellers": 2,
    }  # fmt: skip


@dataclass
class _Scoped:
    scope: object


@dataclass(frozen=True)
class _Scope:
    sees_net_price: bool


GUARDS = [
    (_Scoped(_Scope(sees_net_price=True)), True),
    (_Scoped(_Scope(sees_net_price=False)), False),
    (_Scoped(None), False),  # no scope: hidden, never shown by default
    (object(), False),
]


@pytest.mark.parametrize(("source", "shown"), GUARDS)
def test_field_guards_fail_closed(source: object, shown: bool) -> None:
    """A field guard shows a value only when the source's scope says so; anything else (no
    scope at all) hides it."""
    info = cast(Any, None)  # the scope rules read the source only
    assert can.CanSeeNetPrice().has_permission(source, info) is shown
