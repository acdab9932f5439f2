"""docs/privacy.md §1 and §2.1, quotations and offers: each row one viewer kind x one object
state → what the rule says. Pure functions, no database; the end-to-end proofs are
test_quotation_privacy.py and test_privacy_property.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spirit_tours.core.enums import CompetitorPrices, OfferStatus
from spirit_tours.permissions.quotations import (
    ALLOWED,
    Action,
    OfferScope,
    QuotationScope,
    Relation,
    acts_on_offer,
    asks_for_quotations,
    may,
    rank_of,
    relation_to,
    revision_moves_rank,
    visible_quotations,
)
from spirit_tours.permissions.viewer import Viewer
from tests.permission_cases import (  # noqa: F401 - clean_state replaces the suite's fixture
    BY_AGENCY,
    BY_CLIENT,
    HOTEL_A,
    HOTEL_A_CO,
    HOTEL_B_CO,
    HOTEL_C_CO,
    INVITED,
    OWNER_AGENCY_CO,
    VIEWERS,
    OfferValue,
    Owner,
    clean_state,
    offer,
    sql,
)

HIDDEN, RANK_ONLY, OPEN = CompetitorPrices.HIDDEN, CompetitorPrices.RANK_ONLY, CompetitorPrices.OPEN

# viewer kind → relation to a quotation owned by the agency, then by the client
RELATIONS = {
    "admin": (Relation.ADMIN, Relation.ADMIN),
    "owner agency": (Relation.OWNER, Relation.NONE),
    "owner agency colleague": (Relation.OWNER, Relation.NONE),
    "owner client": (Relation.NONE, Relation.OWNER),
    "other agency": (Relation.NONE, Relation.NONE),
    "other client": (Relation.NONE, Relation.NONE),
    "invited hotel A": (Relation.INVITED_HOTEL, Relation.INVITED_HOTEL),
    "invited hotel B": (Relation.INVITED_HOTEL, Relation.INVITED_HOTEL),
    "uninvited hotel": (Relation.NONE, Relation.NONE),
    "removed hotel": (Relation.NONE, Relation.NONE),
    "guide": (Relation.NONE, Relation.NONE),
    "agency without company": (Relation.NONE, Relation.NONE),
    "hotel without company": (Relation.NONE, Relation.NONE),
}


@pytest.mark.parametrize("kind", sorted(RELATIONS))
@pytest.mark.parametrize("owner", [BY_AGENCY, BY_CLIENT], ids=["agency-owned", "client-owned"])
def test_relation_to_a_quotation(kind: str, owner: Owner) -> None:
    expected = RELATIONS[kind][0 if owner is BY_AGENCY else 1]
    assert relation_to(VIEWERS[kind], owner, INVITED) == expected


def test_a_client_never_owns_an_agency_quotation_it_created_for_nobody() -> None:
    """A CLIENT's quotation has no company; the same user id under a company is not theirs."""
    same_user_in_company = Owner(OWNER_AGENCY_CO, VIEWERS["owner client"].user_id)
    assert relation_to(VIEWERS["owner client"], same_user_in_company, INVITED) == Relation.NONE


# relation x mode → (owner, markup, selling price, offer count, own rank, all invitations,
#                     model insights: the hotel ranking and the net price estimate)
QUOTATION_FIELDS = {
    (Relation.ADMIN, HIDDEN): (True, True, True, True, False, True, True),
    (Relation.ADMIN, RANK_ONLY): (True, True, True, True, False, True, True),
    (Relation.ADMIN, OPEN): (True, True, True, True, False, True, True),
    (Relation.OWNER, HIDDEN): (True, False, True, True, False, True, False),
    (Relation.OWNER, RANK_ONLY): (True, False, True, True, False, True, False),
    (Relation.OWNER, OPEN): (True, False, True, True, False, True, False),
    (Relation.INVITED_HOTEL, HIDDEN): (False, False, False, False, False, False, False),
    (Relation.INVITED_HOTEL, RANK_ONLY): (False, False, False, True, True, False, False),
    (Relation.INVITED_HOTEL, OPEN): (False, False, False, True, True, False, False),
    (Relation.NONE, HIDDEN): (False, False, False, False, False, False, False),
    (Relation.NONE, OPEN): (False, False, False, False, False, False, False),
}


@pytest.mark.parametrize(("relation", "mode"), sorted(QUOTATION_FIELDS, key=str))
def test_quotation_fields(relation: Relation, mode: CompetitorPrices) -> None:
    scope = QuotationScope(relation, mode, HOTEL_A_CO)
    seen = (scope.sees_owner, scope.sees_markup, scope.sees_selling_price,
            scope.sees_offer_count, scope.sees_own_rank, scope.sees_all_invitations,
            scope.sees_model_insights)  # fmt: skip
    assert seen == QUOTATION_FIELDS[(relation, mode)]


def _scope(viewer: Viewer, mode: CompetitorPrices) -> QuotationScope:
    return QuotationScope(relation_to(viewer, BY_AGENCY, INVITED), mode, viewer.company_id)


OWN = offer(HOTEL_A_CO, "900")
COMPETITOR = offer(HOTEL_B_CO, "800")
WITHDRAWN_COMPETITOR = offer(HOTEL_B_CO, "700", OfferStatus.WITHDRAWN)

# viewer kind x mode x offer → (listed, net price, hotel identity, alias, notes, history)
OFFER_FIELDS = [
    ("admin", HIDDEN, COMPETITOR, (True, True, True, True, True, True)),
    ("admin", OPEN, WITHDRAWN_COMPETITOR, (True, True, True, True, True, True)),
    ("owner agency", HIDDEN, COMPETITOR, (True, False, True, True, True, False)),
    ("owner agency", OPEN, OWN, (True, False, True, True, True, False)),
    ("owner agency", RANK_ONLY, WITHDRAWN_COMPETITOR, (True, False, True, True, True, False)),
    # the offering hotel: its own offer in full whatever the mode, its alias only in OPEN
    ("invited hotel A", HIDDEN, OWN, (True, True, True, False, True, True)),
    ("invited hotel A", RANK_ONLY, OWN, (True, True, True, False, True, True)),
    ("invited hotel A", OPEN, OWN, (True, True, True, True, True, True)),
    # a competitor: HIDDEN nothing, RANK_ONLY nothing listed, OPEN the price under an alias
    ("invited hotel A", HIDDEN, COMPETITOR, (False, False, False, False, False, False)),
    ("invited hotel A", RANK_ONLY, COMPETITOR, (False, False, False, False, False, False)),
    ("invited hotel A", OPEN, COMPETITOR, (True, True, False, True, False, False)),
    ("invited hotel A", OPEN, WITHDRAWN_COMPETITOR, (False, True, False, True, False, False)),
    ("invited hotel B", OPEN, OWN, (True, True, False, True, False, False)),
    ("invited hotel B", RANK_ONLY, OWN, (False, False, False, False, False, False)),
    # whoever has no relation sees nothing (they get NOT_FOUND before any field)
    ("uninvited hotel", OPEN, COMPETITOR, (False, False, False, False, False, False)),
    ("removed hotel", OPEN, COMPETITOR, (False, False, False, False, False, False)),
    ("other agency", OPEN, COMPETITOR, (False, False, False, False, False, False)),
    ("guide", OPEN, COMPETITOR, (False, False, False, False, False, False)),
]


@pytest.mark.parametrize(("kind", "mode", "row", "expected"), OFFER_FIELDS)
def test_offer_fields(
    kind: str, mode: CompetitorPrices, row: OfferValue, expected: tuple[bool, ...]
) -> None:
    scope = _scope(VIEWERS[kind], mode)
    seen: OfferScope = scope.offer_scope(row)
    assert (scope.lists_offer(row), seen.sees_net_price, seen.sees_hotel, seen.sees_alias,
            seen.sees_notes, seen.sees_history) == expected  # fmt: skip


# viewer kind → the invitations of which hotel companies it may learn of
INVITATIONS = {
    "admin": {HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO},
    "owner agency": {HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO},
    "invited hotel A": {HOTEL_A_CO},
    "invited hotel B": {HOTEL_B_CO},
    "uninvited hotel": set(),
    "removed hotel": set(),
    "other agency": set(),
    "guide": set(),
}


@pytest.mark.parametrize("mode", [HIDDEN, RANK_ONLY, OPEN])
@pytest.mark.parametrize("kind", sorted(INVITATIONS))
def test_who_learns_of_an_invitation(kind: str, mode: CompetitorPrices) -> None:
    """Whatever the mode: a hotel never learns that another hotel was invited."""
    scope = _scope(VIEWERS[kind], mode)
    seen = {c for c in (HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO) if scope.sees_invitation(c)}
    assert seen == INVITATIONS[kind]
    own = {c for c in (HOTEL_A_CO, HOTEL_B_CO, HOTEL_C_CO) if scope.invitation_scope(c).own}
    assert own == ({VIEWERS[kind].company_id} if kind.startswith("invited") else set())


RANKS = [
    # own offer, the others → its rank (None: not active)
    (offer(HOTEL_A_CO, "100"), [offer(HOTEL_B_CO, "200")], 1),
    (offer(HOTEL_A_CO, "300"), [offer(HOTEL_B_CO, "200")], 2),
    (offer(HOTEL_A_CO, "200"), [offer(HOTEL_B_CO, "200")], 1),  # ties share a rank
    (offer(HOTEL_A_CO, "300"), [offer(HOTEL_B_CO, "200", OfferStatus.WITHDRAWN)], 1),
    (offer(HOTEL_A_CO, "300", OfferStatus.WITHDRAWN), [offer(HOTEL_B_CO, "200")], None),
    (offer(HOTEL_A_CO, "300"), [offer(HOTEL_B_CO, "100"), offer(HOTEL_C_CO, "200")], 3),
]


@pytest.mark.parametrize(("own", "others", "expected"), RANKS)
def test_rank_of(own: OfferValue, others: list[OfferValue], expected: int | None) -> None:
    assert rank_of(own, [own, *others]) == expected


REVISIONS = [
    # own offer's price, a competitor going from → to, moves the own rank?
    ("500", "600", "400", True),  # passes below
    ("500", "400", "600", True),  # passes above
    ("500", "600", "700", False),  # stays above
    ("500", "400", "300", False),  # stays below
    ("500", "600", "500", False),  # a tie is not cheaper
    ("500", "500", "400", True),  # from a tie to cheaper
    ("500", "400", "500", True),  # from cheaper to a tie
]


@pytest.mark.parametrize(("own", "previous", "current", "moves"), REVISIONS)
def test_revision_moves_rank(own: str, previous: str, current: str, moves: bool) -> None:
    mine = [offer(HOTEL_A_CO, own)]
    assert revision_moves_rank(mine, Decimal(previous), Decimal(current)) is moves
    withdrawn = [offer(HOTEL_A_CO, own, OfferStatus.WITHDRAWN)]
    assert revision_moves_rank(withdrawn, Decimal(previous), Decimal(current)) is False


A, U = "'00000000-0000-0000-0000-0000000000a1'", "'00000000-0000-0000-0000-000000000004'"
# viewer kind → the SQL condition of the quotations it may list (the twin of relation_to)
VISIBLE_SQL = {
    "admin": "true",
    "owner agency": f"quotations.owner_company_id = {A}",
    "owner client": f"quotations.owner_company_id IS NULL AND quotations.owner_user_id = {U}",
    "invited hotel A": "EXISTS (SELECT * FROM hotel_invitations, quotations WHERE "
    "hotel_invitations.quotation_id = quotations.id AND hotel_invitations.hotel_company_id = "
    "'00000000-0000-0000-0000-0000000000b1')",
    "guide": "false",
    "agency without company": "false",
    "hotel without company": "false",
}


@pytest.mark.parametrize("kind", sorted(VISIBLE_SQL))
def test_visible_quotations_sql(kind: str) -> None:
    assert sql(visible_quotations(VIEWERS[kind])) == VISIBLE_SQL[kind]


ADM, OWN_, HOT = Relation.ADMIN, Relation.OWNER, Relation.INVITED_HOTEL
# action → the relations that may perform it (anyone else related: FORBIDDEN; unrelated: NOT_FOUND)
ACTIONS = {
    Action.UPDATE: {ADM, OWN_},
    Action.SET_COMPETITOR_PRICES: {ADM},  # the operator decides what competitors see
    Action.INVITE_HOTELS: {ADM},
    Action.REMOVE_INVITATION: {ADM},
    Action.DECLINE_INVITATION: {HOT},
    Action.SUBMIT_OFFER: {HOT},
    Action.CHANGE_OWN_OFFER: {HOT},
    Action.CLOSE: {ADM},
    Action.PROPOSE: {ADM},
    Action.DECIDE_PROPOSAL: {OWN_},  # the operator never approves for the customer
    Action.CANCEL: {ADM, OWN_},
    Action.BOOK: {ADM, OWN_},
    Action.SET_BOOKING_TERMS: {ADM},
}


@pytest.mark.parametrize("action", list(Action))
def test_who_may_act_on_a_quotation(action: Action) -> None:
    assert {relation for relation in Relation if may(action, relation)} == ACTIONS[action]
    assert set(ALLOWED[action]) == ACTIONS[action]
    assert not may(action, Relation.NONE)


# viewer kind → may ask for a quotation; may revise or withdraw hotel A's offer
ASKING = {
    "admin": (False, False),
    "owner agency": (True, False),
    "owner client": (True, False),
    "other agency": (True, False),
    "invited hotel A": (False, True),
    "invited hotel B": (False, False),  # a competitor's offer does not exist for it
    "guide": (False, False),
    "hotel without company": (False, False),
}


@pytest.mark.parametrize("kind", sorted(ASKING))
def test_who_asks_for_quotations_and_changes_an_offer(kind: str) -> None:
    viewer = VIEWERS[kind]
    assert (asks_for_quotations(viewer), acts_on_offer(viewer, HOTEL_A_CO)) == ASKING[kind]
