"""docs/privacy.md §2.3 to §2.5, live events, replay, presence, inbox and chat: each row one
viewer kind x one event → whether (and in what form) it reaches them. Pure functions, no
database; the end-to-end proofs are test_live.py and test_privacy_property.py."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from spirit_tours.core.enums import CompetitorPrices, OfferStatus, Role
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.permissions.chat import HOTEL, OWNER, Thread, party_thread, thread_includes
from spirit_tours.permissions.live import (
    NOTIFICATIONS,
    Audience,
    OfferNews,
    OwnRoom,
    enters_quotation_room,
    offer_news,
    own_room,
    revision_changes_rank,
    sees_event_about_hotels,
    sees_presence,
    watches_hotel,
)
from spirit_tours.permissions.quotations import QuotationScope, Relation, relation_to
from spirit_tours.permissions.viewer import Viewer
from tests.permission_cases import (  # noqa: F401 - clean_state replaces the suite's fixture
    BY_AGENCY,
    HOTEL_A_CO,
    HOTEL_B_CO,
    HOTEL_C_CO,
    HOTEL_R_CO,
    INVITED,
    VIEWERS,
    OfferValue,
    clean_state,
    offer,
)

HIDDEN, RANK_ONLY, OPEN = CompetitorPrices.HIDDEN, CompetitorPrices.RANK_ONLY, CompetitorPrices.OPEN


def _scope(viewer: Viewer, mode: CompetitorPrices) -> QuotationScope:
    return QuotationScope(relation_to(viewer, BY_AGENCY, INVITED), mode, viewer.company_id)


# viewer kind → (the room of companyEvents, may enter the quotation's room)
ROOMS = {
    "admin": (OwnRoom.OPERATOR, True),
    "guide": (OwnRoom.OPERATOR, False),
    "owner agency": (OwnRoom.COMPANY, True),
    "owner client": (OwnRoom.CLIENT, False),  # the quotation is the agency's
    "other agency": (OwnRoom.COMPANY, False),
    "other client": (OwnRoom.CLIENT, False),
    "invited hotel A": (OwnRoom.COMPANY, True),
    "invited hotel B": (OwnRoom.COMPANY, True),
    "uninvited hotel": (OwnRoom.COMPANY, False),
    "removed hotel": (OwnRoom.COMPANY, False),  # the room closes once the invitation goes
    "agency without company": (OwnRoom.CLIENT, False),
}


@pytest.mark.parametrize("kind", sorted(ROOMS))
def test_rooms(kind: str) -> None:
    viewer = VIEWERS[kind]
    entered = enters_quotation_room(relation_to(viewer, BY_AGENCY, INVITED))
    assert (own_room(viewer), entered) == ROOMS[kind]


# viewer kind → the hotel companies whose hotel room it may watch
HOTEL_ROOMS = {
    "admin": {HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO},
    "invited hotel A": {HOTEL_A_CO},
    "invited hotel B": {HOTEL_B_CO},
    "owner agency": set(),
    "owner client": set(),
    "guide": set(),
    "hotel without company": set(),
}


@pytest.mark.parametrize("kind", sorted(HOTEL_ROOMS))
def test_hotel_rooms(kind: str) -> None:
    companies = {HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO}
    watched = {company for company in companies if watches_hotel(VIEWERS[kind], company)}
    assert watched == HOTEL_ROOMS[kind]


OWN = offer(HOTEL_A_CO, "900")
COMPETITOR = offer(HOTEL_B_CO, "800")
WITHDRAWN = offer(HOTEL_B_CO, "800", OfferStatus.WITHDRAWN)
KINDS = ("offer.submitted", "offer.revised", "offer.withdrawn")

# viewer kind, mode, offer → what each of submitted / revised / withdrawn tells them:
# F the offer in full (as its scope shows it), C "competition.changed", R C if the rank moved
N, C, R, F = (OfferNews.NOTHING, OfferNews.COMPETITION, OfferNews.COMPETITION_IF_RANK_MOVES,
              OfferNews.OFFER)  # fmt: skip
OFFER_NEWS = [
    ("admin", HIDDEN, COMPETITOR, (F, F, F)),
    ("admin", OPEN, WITHDRAWN, (F, F, F)),
    ("owner agency", HIDDEN, COMPETITOR, (F, F, F)),
    ("owner agency", RANK_ONLY, WITHDRAWN, (F, F, F)),
    ("invited hotel A", HIDDEN, OWN, (F, F, F)),
    ("invited hotel A", RANK_ONLY, OWN, (F, F, F)),
    ("invited hotel A", HIDDEN, COMPETITOR, (N, N, N)),
    ("invited hotel A", RANK_ONLY, COMPETITOR, (C, R, C)),
    ("invited hotel A", RANK_ONLY, WITHDRAWN, (C, R, C)),
    ("invited hotel A", OPEN, COMPETITOR, (F, F, F)),
    ("invited hotel A", OPEN, WITHDRAWN, (C, R, C)),  # gone from the list: the count moved
    ("uninvited hotel", OPEN, COMPETITOR, (N, N, N)),
    ("removed hotel", RANK_ONLY, COMPETITOR, (N, N, N)),
    ("other agency", OPEN, COMPETITOR, (N, N, N)),
    ("guide", OPEN, COMPETITOR, (N, N, N)),
]


@pytest.mark.parametrize(("kind", "mode", "row", "expected"), OFFER_NEWS)
def test_offer_news(
    kind: str, mode: CompetitorPrices, row: OfferValue, expected: tuple[OfferNews, ...]
) -> None:
    scope = _scope(VIEWERS[kind], mode)
    assert tuple(offer_news(scope, row, event) for event in KINDS) == expected


REVISIONS = [
    # own active offers, competitor's previous → current price, reaches a RANK_ONLY hotel?
    (["500"], "600", "400", True),
    (["500"], "600", "700", False),
    (["500", "300"], "400", "200", True),  # moves the rank of the second
    ([], "600", "400", False),  # no active offer: no rank to move
    (["500"], None, "400", True),  # stored before revisions carried prices: counts
    (["500"], "600", None, True),
]


@pytest.mark.parametrize(("mine", "previous", "current", "reaches"), REVISIONS)
def test_revision_reaches_rank_only_hotel(
    mine: list[str], previous: str | None, current: str | None, reaches: bool
) -> None:
    offers = [offer(HOTEL_A_CO, price) for price in mine]
    before = Decimal(previous) if previous else None
    after = Decimal(current) if current else None
    assert revision_changes_rank(offers, before, after) is reaches


# viewer kind → reaches it: an event naming hotel A, hotel B, the removed hotel, none, a gone one
HOTEL_EVENTS = {
    "admin": (True, True, True, True, False),
    "owner agency": (True, True, True, True, False),
    "invited hotel A": (True, False, False, True, False),
    "invited hotel B": (False, True, False, True, False),
    "removed hotel": (False, False, False, True, False),  # its room is closed before this
    "uninvited hotel": (False, False, False, True, False),
}


@pytest.mark.parametrize("mode", [HIDDEN, RANK_ONLY, OPEN])
@pytest.mark.parametrize("kind", sorted(HOTEL_EVENTS))
def test_events_naming_hotels(kind: str, mode: CompetitorPrices) -> None:
    scope = _scope(VIEWERS[kind], mode)
    named: list[list[uuid.UUID | None]] = [[HOTEL_A_CO], [HOTEL_B_CO], [HOTEL_R_CO], [], [None]]
    assert tuple(sees_event_about_hotels(scope, ids) for ids in named) == HOTEL_EVENTS[kind]


def test_an_event_naming_two_hotels_reaches_each_of_them() -> None:
    both: list[uuid.UUID | None] = [HOTEL_A_CO, HOTEL_B_CO]
    assert sees_event_about_hotels(_scope(VIEWERS["invited hotel A"], HIDDEN), both)
    assert sees_event_about_hotels(_scope(VIEWERS["invited hotel B"], HIDDEN), both)


# subscriber's relation → sees someone of each role come and go (ADMIN, AGENCY, HOTEL, GUIDE)
PRESENCE = {
    Relation.ADMIN: (True, True, True, True),
    Relation.OWNER: (True, False, False, False),
    Relation.INVITED_HOTEL: (True, False, False, False),
}


@pytest.mark.parametrize("relation", sorted(PRESENCE, key=str))
def test_presence(relation: Relation) -> None:
    roles = (Role.ADMIN, Role.AGENCY, Role.HOTEL, Role.GUIDE)
    assert tuple(sees_presence(relation, role.value) for role in roles) == PRESENCE[relation]
    assert not sees_presence(relation, None) or relation == Relation.ADMIN


OWNER_THREAD = Thread(OWNER)
HOTEL_A_THREAD = Thread(HOTEL, HOTEL_A_CO)
HOTEL_B_THREAD = Thread(HOTEL, HOTEL_B_CO)

# viewer kind → reads the owner's thread, hotel A's, hotel B's (messages, typing, inbox)
THREADS = {
    "admin": (True, True, True),
    "owner agency": (True, False, False),
    "owner agency colleague": (True, False, False),
    "invited hotel A": (False, True, False),
    "invited hotel B": (False, False, True),
    "uninvited hotel": (False, False, False),
    "removed hotel": (False, False, False),
    "other agency": (False, False, False),
    "guide": (False, False, False),
}


@pytest.mark.parametrize("kind", sorted(THREADS))
def test_chat_threads(kind: str) -> None:
    viewer = VIEWERS[kind]
    relation = relation_to(viewer, BY_AGENCY, INVITED)
    threads = (OWNER_THREAD, HOTEL_A_THREAD, HOTEL_B_THREAD)
    seen = tuple(thread_includes(thread, relation, viewer.company_id) for thread in threads)
    assert seen == THREADS[kind]


# relation, names a hotel → the thread addressed (None: the operator's named one; FORBIDDEN)
PARTY_THREADS = [
    (Relation.OWNER, False, OWNER_THREAD),
    (Relation.OWNER, True, "FORBIDDEN"),  # the owner talks with the operator only
    (Relation.INVITED_HOTEL, False, HOTEL_A_THREAD),
    (Relation.INVITED_HOTEL, True, HOTEL_A_THREAD),  # naming a competitor still gets its own
    (Relation.ADMIN, False, OWNER_THREAD),
    (Relation.ADMIN, True, None),
]


@pytest.mark.parametrize(("relation", "names_hotel", "expected"), PARTY_THREADS)
def test_the_thread_a_party_addresses(
    relation: Relation, names_hotel: bool, expected: Thread | str | None
) -> None:
    if expected == "FORBIDDEN":
        with pytest.raises(DomainError) as refused:
            party_thread(relation, HOTEL_A_CO, names_hotel=names_hotel)
        assert refused.value.code == ErrorCode.FORBIDDEN
    else:
        assert party_thread(relation, HOTEL_A_CO, names_hotel=names_hotel) == expected


INBOX = {
    "quotation.hotels_invited": Audience.INVITED_HOTELS,
    "offer.submitted": Audience.OPERATOR,  # never the owner, never a competitor
    "quotation.proposed": Audience.OWNER,
    "booking.confirmed": Audience.OWNER,
    "booking.cancelled": Audience.OWNER,
    "booking.guide_assigned": Audience.GUIDE,
    "booking.payment_reminder_due": Audience.OWNER,
    "payment.succeeded": Audience.PAYER,
    "message.posted": Audience.THREAD,
}


def test_inbox_audiences() -> None:
    """Every notifying event, and no other, with its audience: a new kind must be placed."""
    assert {kind: audience for kind, (_, audience) in NOTIFICATIONS.items()} == INBOX
