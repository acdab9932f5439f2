"""docs/privacy.md §1 and §2.1, bookings, payments and guides: each row one viewer kind x one
object state → what the rule says. Pure functions, no database; the end-to-end proofs are
test_booking_privacy.py, test_payments.py and test_privacy_property.py."""

from __future__ import annotations

import uuid

import pytest

from spirit_tours.core.enums import Role
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.permissions.bookings import (
    BOOKING_ALLOWED,
    BookingAction,
    BookingRelation,
    BookingScope,
    booking_relation,
    visible_bookings,
)
from spirit_tours.permissions.payments import (
    manages_payments,
    payment_scope,
    sees_payment,
    visible_payments,
)
from spirit_tours.permissions.staffing import guide_scope, is_self_or_operator
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.payments import Payment
from spirit_tours.resolvers.payments.rules import visible_payment
from tests.permission_cases import (  # noqa: F401 - clean_state replaces the suite's fixture
    BY_AGENCY,
    BY_CLIENT,
    GUIDE,
    HOTEL_A_CO,
    HOTEL_B_CO,
    OTHER_GUIDE,
    VIEWERS,
    Line,
    Owner,
    clean_state,
    sql,
)

BOOKED_HOTELS = [HOTEL_A_CO]  # hotel B was invited to the quotation, but lost: not booked
ACTIVE_GUIDES = [GUIDE.user_id]  # a released guide is no longer in this list

# viewer kind → relation to a booking owned by the agency, then by the client
RELATIONS = {
    "admin": (BookingRelation.ADMIN, BookingRelation.ADMIN),
    "owner agency": (BookingRelation.OWNER, BookingRelation.NONE),
    "owner agency colleague": (BookingRelation.OWNER, BookingRelation.NONE),
    "owner client": (BookingRelation.NONE, BookingRelation.OWNER),
    "other agency": (BookingRelation.NONE, BookingRelation.NONE),
    "other client": (BookingRelation.NONE, BookingRelation.NONE),
    "invited hotel A": (BookingRelation.HOTEL, BookingRelation.HOTEL),
    "invited hotel B": (BookingRelation.NONE, BookingRelation.NONE),
    "uninvited hotel": (BookingRelation.NONE, BookingRelation.NONE),
    "guide": (BookingRelation.GUIDE, BookingRelation.GUIDE),
    "agency without company": (BookingRelation.NONE, BookingRelation.NONE),
    "hotel without company": (BookingRelation.NONE, BookingRelation.NONE),
}


@pytest.mark.parametrize("kind", sorted(RELATIONS))
@pytest.mark.parametrize("owner", [BY_AGENCY, BY_CLIENT], ids=["agency-owned", "client-owned"])
def test_relation_to_a_booking(kind: str, owner: Owner) -> None:
    expected = RELATIONS[kind][0 if owner is BY_AGENCY else 1]
    assert booking_relation(VIEWERS[kind], owner, BOOKED_HOTELS, ACTIVE_GUIDES) == expected


def test_a_released_guide_no_longer_sees_the_booking() -> None:
    assert booking_relation(GUIDE, BY_AGENCY, BOOKED_HOTELS, []) == BookingRelation.NONE


# relation → (owner, selling price, payments, markup, staffing, quotation)
BOOKING_FIELDS = {
    BookingRelation.ADMIN: (True, True, True, True, True, True),
    BookingRelation.OWNER: (True, True, True, False, True, True),
    BookingRelation.HOTEL: (False, False, False, False, False, True),
    BookingRelation.GUIDE: (False, False, False, False, True, False),
}


@pytest.mark.parametrize("relation", sorted(BOOKING_FIELDS, key=str))
def test_booking_fields(relation: BookingRelation) -> None:
    scope = BookingScope(relation, HOTEL_A_CO if relation == BookingRelation.HOTEL else None)
    seen = (scope.sees_owner, scope.sees_selling_price, scope.sees_payments, scope.sees_markup,
            scope.sees_staffing, scope.sees_quotation)  # fmt: skip
    assert seen == BOOKING_FIELDS[relation]


# relation, viewer's company, booked hotel line → (listed, its net price)
HOTEL_LINES = [
    (BookingRelation.ADMIN, None, Line(HOTEL_A_CO), (True, True)),
    (BookingRelation.OWNER, None, Line(HOTEL_A_CO), (True, False)),
    (BookingRelation.GUIDE, None, Line(HOTEL_A_CO), (True, False)),
    (BookingRelation.HOTEL, HOTEL_A_CO, Line(HOTEL_A_CO), (True, True)),
    (BookingRelation.HOTEL, HOTEL_A_CO, Line(HOTEL_B_CO), (False, False)),
]


@pytest.mark.parametrize(("relation", "company", "line", "expected"), HOTEL_LINES)
def test_booked_hotel_lines(
    relation: BookingRelation, company: uuid.UUID | None, line: Line, expected: tuple[bool, bool]
) -> None:
    scope = BookingScope(relation, company)
    assert (scope.lists_hotel(line), scope.hotel_scope(line).sees_net_price) == expected


A = "'00000000-0000-0000-0000-0000000000a1'"
U = "'00000000-0000-0000-0000-000000000004'"
# viewer kind → the SQL condition of the bookings it may list (the twin of booking_relation)
VISIBLE_BOOKINGS_SQL = {
    "admin": "true",
    "owner agency": f"bookings.owner_company_id = {A}",
    "owner client": f"bookings.owner_company_id IS NULL AND bookings.owner_user_id = {U}",
    "invited hotel A": "EXISTS (SELECT * FROM booking_hotels, bookings WHERE "
    "booking_hotels.booking_id = bookings.id AND booking_hotels.hotel_company_id = "
    "'00000000-0000-0000-0000-0000000000b1')",
    "guide": "EXISTS (SELECT * FROM guide_assignments, bookings WHERE "
    "guide_assignments.booking_id = bookings.id AND guide_assignments.guide_id = "
    "'00000000-0000-0000-0000-00000000000b' "
    "AND guide_assignments.released_at IS NULL)",
    "agency without company": "false",
    "hotel without company": "false",
}


@pytest.mark.parametrize("kind", sorted(VISIBLE_BOOKINGS_SQL))
def test_visible_bookings_sql(kind: str) -> None:
    assert sql(visible_bookings(VIEWERS[kind])) == VISIBLE_BOOKINGS_SQL[kind]


# viewer kind → sees a payment of the agency's booking, of the client's booking
PAYMENTS = {
    "admin": (True, True),
    "owner agency": (True, False),
    "owner agency colleague": (True, False),
    "owner client": (False, True),
    "other agency": (False, False),
    "other client": (False, False),
    "invited hotel A": (False, False),  # a hotel works on the booking, never sees its payments
    "guide": (False, False),
    "agency without company": (False, False),
}


@pytest.mark.parametrize("kind", sorted(PAYMENTS))
def test_who_sees_a_payment(kind: str) -> None:
    viewer = VIEWERS[kind]
    assert (sees_payment(viewer, BY_AGENCY), sees_payment(viewer, BY_CLIENT)) == PAYMENTS[kind]
    # provider references, attempts, webhooks and raw failure reasons: the operator only
    scope = payment_scope(viewer)
    assert scope.sees_provider_details is (viewer.role == Role.ADMIN)
    assert scope.sees_failure_reason is (viewer.role == Role.ADMIN)


EXISTS = "EXISTS (SELECT * FROM bookings, payments WHERE bookings.id = payments.booking_id AND "
VISIBLE_PAYMENTS_SQL = {
    "admin": "true",
    "owner agency": f"{EXISTS}bookings.owner_company_id = {A})",
    "owner client": f"{EXISTS}bookings.owner_company_id IS NULL AND bookings.owner_user_id = {U})",
    "invited hotel A": "false",
    "guide": "false",
    "agency without company": "false",
}


@pytest.mark.parametrize("kind", sorted(VISIBLE_PAYMENTS_SQL))
def test_visible_payments_sql(kind: str) -> None:
    assert sql(visible_payments(VIEWERS[kind])) == VISIBLE_PAYMENTS_SQL[kind]


# viewer kind → may read and change the guide's profile, and see their time off
GUIDE_PROFILE = {
    "admin": True,
    "guide": True,
    "owner agency": False,
    "invited hotel A": False,
    "owner client": False,
}


@pytest.mark.parametrize("kind", sorted(GUIDE_PROFILE))
def test_guide_profile_and_time_off(kind: str) -> None:
    viewer = VIEWERS[kind]
    assert is_self_or_operator(viewer, GUIDE.user_id) is GUIDE_PROFILE[kind]
    assert guide_scope(viewer, GUIDE.user_id).sees_time_off is GUIDE_PROFILE[kind]


def test_a_guide_never_sees_another_guides_profile_or_time_off() -> None:
    assert not guide_scope(OTHER_GUIDE, GUIDE.user_id).sees_time_off
    assert not is_self_or_operator(OTHER_GUIDE, GUIDE.user_id)


BOOKING_ACTIONS = {
    BookingAction.CANCEL: {BookingRelation.ADMIN, BookingRelation.OWNER},
    BookingAction.PAY: {BookingRelation.ADMIN, BookingRelation.OWNER},
    BookingAction.COMPLETE: {BookingRelation.ADMIN},
    BookingAction.STAFF: {BookingRelation.ADMIN},  # a hotel or guide works on it, never staffs it
}


@pytest.mark.parametrize("action", list(BookingAction))
def test_who_may_act_on_a_booking(action: BookingAction) -> None:
    assert set(BOOKING_ALLOWED[action]) == BOOKING_ACTIONS[action]


@pytest.mark.parametrize("kind", sorted(PAYMENTS))
def test_only_the_operator_refunds(kind: str) -> None:
    assert manages_payments(VIEWERS[kind]) is (kind == "admin")


@pytest.mark.parametrize("kind", sorted(VIEWERS))
def test_whoever_may_start_a_payment_sees_the_payment_it_starts(kind: str) -> None:
    """startPayment answers with the payment it stored, checked by ``visible_payment``: the
    relations allowed to pay are all ones that see payments, so the check never refuses a
    payer, and a payment of another booking, or of a booking the viewer does not own, is
    NOT_FOUND."""
    viewer = VIEWERS[kind]
    for owner in (BY_AGENCY, BY_CLIENT):
        booking = Booking(id=uuid.uuid4(), owner_company_id=owner.owner_company_id,
                          owner_user_id=owner.owner_user_id)  # fmt: skip
        relation = booking_relation(viewer, booking, BOOKED_HOTELS, ACTIVE_GUIDES)
        payment = Payment(id=uuid.uuid4(), booking_id=booking.id)
        if relation in BOOKING_ALLOWED[BookingAction.PAY]:
            assert visible_payment(viewer, payment, booking) is payment
        if not sees_payment(viewer, owner):
            with pytest.raises(DomainError) as refused:
                visible_payment(viewer, payment, booking)
            assert refused.value.code == ErrorCode.NOT_FOUND
        elsewhere = Payment(id=uuid.uuid4(), booking_id=uuid.uuid4())
        with pytest.raises(DomainError) as mismatched:
            visible_payment(viewer, elsewhere, booking)
        assert mismatched.value.code == ErrorCode.NOT_FOUND
