"""Property: the price-privacy promise (docs/privacy.md) holds over the whole quotation schema.

Hypothesis draws whole bidding scenarios (competitor-price mode, owner kind, which hotels are
invited, who bids, revises, withdraws or declines, at which prices, whether the operator closes and
proposes with which markup, whether the owner approves or rejects). Each scenario is played through
the real GraphQL mutations over HTTP; then every kind of viewer reads the quotation with a random
selection of its fields, by ``quotation(id)`` and by ``quotations``, and the mutation payloads the
actors receive along the way are read too. On the raw response text and on the parsed data:

* a HOTEL never receives a competitor's identity (hotel id, name, e-mail) nor the owner's;
  it receives a competitor's net price only in OPEN mode, and only the current price of an
  active offer (never a revision history), and never a selling price, markup or margin;
* the owner (AGENCY or CLIENT) never receives a net price (current or past), the markup or the
  margin; it does receive the selling price;
* anyone else (another agency, a client, a hotel not invited) gets NOT_FOUND and an empty list;
* nobody but the operator reads the audit log, which records net prices and markups.

The operator's view is the positive control: it must contain every net price, which proves the
detector finds amounts where they are.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import (
    CLOSE,
    INVITE,
    PROPOSE,
    UPDATE,
    Party,
    World,
    make_world,
    quotation_input,
)

MODES = ("HIDDEN", "RANK_ONLY", "OPEN")
# As make_world names them: world.hotels[0..2], then world.outsider_hotel.
HOTEL_NAMES = ("Inti Palace", "Qorikancha Suites", "Andean Lodge", "Far Away Inn")
HOTEL_EMAILS = tuple(f"hotel{n}@hotels.example" for n in range(4))

OFFER = (
    "id hotelAlias isMine netPrice { amount } hotel { id name } notes "
    "revisions { netPrice { amount } }"
)
FIELDS: dict[str, str] = {
    "owner": "owner { fullName email company { name } }",
    "offers": f"offers {{ {OFFER} }}",
    "myOffer": f"myOffer {{ {OFFER} }}",
    "offerCount": "offerCount",
    "myRank": "myRank",
    "markupPercent": "markupPercent",
    "sellingPrice": "sellingPrice { amount }",
    "margin": "margin { amount }",
    "selectedOffer": f"selectedOffer {{ {OFFER} }}",
    "invitations": "invitations { hotelAlias hotel { id name } }",
}
ALL_FIELDS = frozenset(FIELDS)
OFFERS_ONLY = frozenset({"offers"})
VIEWERS = (
    "admin",
    "owner",
    "hotel0",
    "hotel1",
    "hotel2",
    "non_owner",  # the client when an agency owns the quotation, the agency otherwise
    "other_agency",
    "outsider_hotel",
)


def selection(fields: frozenset[str]) -> str:
    return " ".join(["id status competitorPrices", *(FIELDS[name] for name in sorted(fields))])


def quotation_query(fields: frozenset[str]) -> str:
    return f"query($id: ID!) {{ quotation(id: $id) {{ {selection(fields)} }} }}"


def node_query(fields: frozenset[str]) -> str:
    return f"query($id: ID!) {{ node(id: $id) {{ ... on Quotation {{ {selection(fields)} }} }} }}"


# Every offer by id (``nodes``), beside the offers the viewer's quotation(id) lists.
OFFER_NODES = f"""
query($id: ID!, $ids: [ID!]!) {{
  quotation(id: $id) {{ offers {{ {OFFER} }} }}
  nodes(ids: $ids) {{ ... on Offer {{ {OFFER} }} }}
}}"""


def quotations_query(fields: frozenset[str]) -> str:
    return (
        "query($d: String!) { quotations(first: 50, filter: {destination: $d}) "
        f"{{ totalCount edges {{ node {{ {selection(fields)} }} }} }} }}"
    )


FULL = selection(ALL_FIELDS)
CREATE = f"""
mutation($input: CreateQuotationInput!) {{
  createQuotation(input: $input) {{ quotation {{ {FULL} }} }}
}}"""
SUBMIT = f"""
mutation($input: SubmitOfferInput!) {{
  submitOffer(input: $input) {{ offer {{ {OFFER} }} quotation {{ {FULL} }} }}
}}"""
REVISE = f"""
mutation($input: ReviseOfferInput!) {{
  reviseOffer(input: $input) {{ offer {{ {OFFER} }} quotation {{ {FULL} }} }}
}}"""
WITHDRAW = f"""
mutation($o: ID!) {{
  withdrawOffer(input: {{offerId: $o}}) {{ offer {{ {OFFER} }} quotation {{ {FULL} }} }}
}}"""
DECLINE = f"""
mutation($q: ID!, $r: String!) {{
  declineInvitation(input: {{quotationId: $q, reason: $r}}) {{ quotation {{ {FULL} }} }}
}}"""
APPROVE = f"""
mutation($q: ID!) {{ approveQuotation(input: {{quotationId: $q}}) {{ quotation {{ {FULL} }} }} }}"""
REJECT = f"""
mutation($q: ID!) {{ rejectQuotation(input: {{quotationId: $q}}) {{ quotation {{ {FULL} }} }} }}"""

AUDIT = """
query($o: ID) {
  auditLog(first: 100, filter: {objectId: $o}) { edges { node { action objectId details } } }
}"""


# --- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferPlan:
    price: Decimal
    revised: Decimal | None
    withdraw: bool


@dataclass(frozen=True)
class HotelPlan:
    invited: bool
    offer: OfferPlan | None
    decline: bool


@dataclass(frozen=True)
class Scenario:
    owner: str  # "agency" or "client"
    order: tuple[int, ...]  # the order in which hotels act
    hotels: tuple[HotelPlan, ...]
    stage: str  # "open", "closed" or "proposed"
    chosen: int  # which active offer the operator proposes (modulo their number)
    markup: Decimal
    decision: str | None  # None, "approve" or "reject"
    fields: tuple[frozenset[str], ...]  # one selection per entry of VIEWERS


def prices() -> st.SearchStrategy[Decimal]:
    """1.01 to 99999.99 with a non-zero last digit, so the API's text ("1234.57") is canonical."""
    cents = st.sampled_from([c for c in range(1, 100) if c % 10 != 0])
    return st.builds(lambda units, c: Decimal(f"{units}.{c:02d}"), st.integers(1, 99_999), cents)


def often(chance_in_4: int) -> st.SearchStrategy[bool]:
    """True ``chance_in_4`` times out of 4, to steer scenarios to competition and proposals."""
    return st.sampled_from([True] * chance_in_4 + [False] * (4 - chance_in_4))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    everyone = frozenset({0, 1, 2})
    invited = draw(st.one_of(st.just(everyone), st.frozensets(st.integers(0, 2), min_size=1)))
    # Every amount a hotel ever quotes is distinct from every other, so "this amount appeared"
    # always tells whose it was.
    amounts = draw(st.lists(prices(), min_size=6, max_size=6, unique=True))
    plans = []
    for hotel in range(3):
        offer = None
        if hotel in invited and draw(often(3)):
            revised = amounts[2 * hotel + 1] if draw(often(2)) else None
            offer = OfferPlan(amounts[2 * hotel], revised, withdraw=draw(often(1)))
        decline = hotel in invited and offer is None and draw(often(2))
        plans.append(HotelPlan(hotel in invited, offer, decline))
    field_sets = st.one_of(
        st.just(ALL_FIELDS), st.frozensets(st.sampled_from(sorted(FIELDS)), min_size=1)
    )
    return Scenario(
        owner=draw(st.sampled_from(("agency", "client"))),
        order=tuple(draw(st.permutations([0, 1, 2]))),
        hotels=tuple(plans),
        stage=draw(st.sampled_from(("open", "closed", "proposed", "proposed"))),
        chosen=draw(st.integers(0, 2)),
        markup=Decimal(draw(st.integers(0, 30_000))).scaleb(-2),
        decision=draw(st.sampled_from((None, "approve", "reject"))),
        fields=tuple(draw(field_sets) for _ in VIEWERS),
    )


# Always played, whatever Hypothesis draws: the richest scenario, and a zero markup (the selling
# price then equals the net price, which the owner may therefore see) that the owner rejects.
FULL_APPROVED = Scenario(
    owner="agency",
    order=(2, 0, 1),
    hotels=(
        HotelPlan(True, OfferPlan(Decimal("1234.57"), Decimal("1111.11"), False), False),
        HotelPlan(True, OfferPlan(Decimal("987.65"), None, False), False),
        HotelPlan(True, OfferPlan(Decimal("2345.67"), None, True), False),
    ),
    stage="proposed",
    chosen=1,
    markup=Decimal("12.50"),
    decision="approve",
    fields=(ALL_FIELDS,) * len(VIEWERS),
)
ZERO_MARKUP_REJECTED = Scenario(
    owner="client",
    order=(0, 1, 2),
    hotels=(
        HotelPlan(True, OfferPlan(Decimal("501.01"), None, False), False),
        HotelPlan(True, OfferPlan(Decimal("499.99"), Decimal("450.45"), False), False),
        HotelPlan(True, None, True),
    ),
    stage="proposed",
    chosen=0,
    markup=Decimal("0.00"),
    decision="reject",
    fields=(ALL_FIELDS,) * len(VIEWERS),
)


# --- what happened, as the test knows it ----------------------------------------------------


@dataclass
class OfferState:
    offer_id: str
    prices: list[Decimal]  # every revision's net price; the last one is current
    active: bool = True

    @property
    def current(self) -> Decimal:
        return self.prices[-1]


@dataclass
class State:
    mode: str
    owner: Party
    offers: dict[int, OfferState] = field(default_factory=dict)
    selling: Decimal | None = None  # the selling price now proposed
    selling_seen: set[Decimal] = field(default_factory=set)  # every one ever proposed
    markups: set[Decimal] = field(default_factory=set)
    margins: set[Decimal] = field(default_factory=set)


# --- HTTP and leak detection ----------------------------------------------------------------


async def post(
    gql: GraphQLClient, query: str, variables: dict[str, Any], party: Party
) -> tuple[str, dict[str, Any]]:
    """The raw response text and the parsed body."""
    response = await gql.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {party.token}"},
    )
    body: dict[str, Any] = response.json()
    return response.text, body


def data_of(body: dict[str, Any], where: str) -> Any:
    assert not body.get("errors"), f"{where}: {body.get('errors')}"
    return body["data"]


def shows_amount(raw: str, amount: Decimal) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(str(amount))}(?!\d)", raw) is not None


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def quotations_in(data: Any) -> list[dict[str, Any]]:
    return [node for node in walk(data) if "competitorPrices" in node]


def offers_in(data: Any) -> list[dict[str, Any]]:
    return [node for node in walk(data) if "isMine" in node]


def assert_hidden(
    raw: str, amounts: dict[Decimal, str], words: dict[str, str], allowed: set[Decimal], where: str
) -> None:
    for amount, what in amounts.items():
        if amount in allowed or amount == 0:
            continue  # a coincidence with an amount this viewer may see carries no secret
        assert not shows_amount(raw, amount), f"LEAK {where}: {what} ({amount}) in {raw}"
    lowered = raw.lower()
    for word, what in words.items():
        assert word.lower() not in lowered, f"LEAK {where}: {what} ({word!r}) in {raw}"


def hotel_identity(world: World, hotel: int) -> dict[str, str]:
    party = [*world.hotels, world.outsider_hotel][hotel]
    assert party.hotel_id is not None
    return {
        party.hotel_id: f"hotel id of {HOTEL_NAMES[hotel]}",
        HOTEL_NAMES[hotel]: f"name of {HOTEL_NAMES[hotel]}",
        HOTEL_EMAILS[hotel]: f"e-mail of {HOTEL_NAMES[hotel]}",
    }


def owner_identity(state: State) -> dict[str, str]:
    words = {state.owner.email: "owner's e-mail"}
    if state.owner.email.endswith("@andes.example"):
        words["Andes Travel"] = "owner's agency"
    return words


def secret_amounts(state: State, *, exclude: int | None = None) -> dict[Decimal, str]:
    """Every net price ever quoted (but ``exclude``'s), the markups and the margins."""
    amounts: dict[Decimal, str] = {}
    for hotel, offer in state.offers.items():
        if hotel != exclude:
            for revision, price in enumerate(offer.prices, start=1):
                amounts[price] = f"net price of {HOTEL_NAMES[hotel]} (revision {revision})"
    amounts.update(dict.fromkeys(state.markups, "markup percent"))
    amounts.update(dict.fromkeys(state.margins, "margin"))
    return amounts


def check_hotel(raw: str, data: Any, world: World, state: State, hotel: int, where: str) -> None:
    where = f"{HOTEL_NAMES[hotel]} ({state.mode}) via {where}"
    own = state.offers.get(hotel)
    allowed = set(own.prices) if own else set()
    if state.mode == "OPEN":  # competitors' current prices, of active offers only
        allowed |= {offer.current for offer in state.offers.values() if offer.active}
    amounts = secret_amounts(state, exclude=hotel)
    amounts.update(dict.fromkeys(state.selling_seen, "selling price"))
    words = owner_identity(state)
    for other in range(4):
        if other != hotel:
            words.update(hotel_identity(world, other))
    assert_hidden(raw, amounts, words, allowed, where)

    own_id = world.hotels[hotel].hotel_id
    for quotation in quotations_in(data):
        for name in ("owner", "markupPercent", "sellingPrice", "margin", "selectedOffer"):
            assert quotation.get(name) is None, f"{where}: {name} = {quotation[name]}"
        if state.mode == "HIDDEN":
            assert quotation.get("offerCount") is None, f"{where}: offerCount in HIDDEN mode"
            assert quotation.get("myRank") is None, f"{where}: myRank in HIDDEN mode"
        for invitation in quotation.get("invitations") or []:
            assert invitation["hotel"]["id"] == own_id, f"{where}: a competitor's invitation"
            if state.mode != "OPEN":  # its alias's letter would tell how many came before
                assert invitation["hotelAlias"] is None, f"{where}: own alias outside OPEN"
    for offer in offers_in(data):
        if state.mode != "OPEN" and "hotelAlias" in offer:
            assert offer["hotelAlias"] is None, f"{where}: own alias outside OPEN: {offer}"
        if offer["isMine"]:
            if offer.get("hotel") is not None:
                assert offer["hotel"]["id"] == own_id, f"{where}: isMine on a competitor"
            continue
        assert state.mode == "OPEN", f"{where}: a competitor's offer listed: {offer}"
        assert offer["hotel"] is None, f"{where}: competitor identity {offer['hotel']}"
        assert offer["notes"] is None, f"{where}: competitor notes {offer['notes']}"
        assert offer["revisions"] == [], f"{where}: competitor history {offer['revisions']}"
        assert offer["netPrice"] is not None, f"{where}: OPEN mode hides a competitor price"


def check_owner(raw: str, data: Any, state: State, where: str) -> None:
    where = f"owner {state.owner.email} via {where}"
    assert_hidden(raw, secret_amounts(state), {}, state.selling_seen, where)
    for quotation in quotations_in(data):
        assert quotation.get("markupPercent") is None, f"{where}: markup {quotation}"
        assert quotation.get("margin") is None, f"{where}: margin {quotation}"
        if "sellingPrice" in quotation:
            selling = None if state.selling is None else {"amount": str(state.selling)}
            assert quotation["sellingPrice"] == selling, f"{where}: {quotation['sellingPrice']}"
    for offer in offers_in(data):
        assert offer["netPrice"] is None, f"{where}: net price {offer}"
        assert offer["revisions"] == [], f"{where}: offer history {offer}"


def check_admin(raw: str, data: Any, state: State, fields: frozenset[str]) -> None:
    """The positive control: the operator sees every price, so the detector must find it."""
    if "offers" in fields:
        for hotel, offer in state.offers.items():
            assert shows_amount(raw, offer.current), f"{HOTEL_NAMES[hotel]}'s price not found"
    if "margin" in fields and state.selling is not None:
        assert quotations_in(data)[0]["margin"] is not None


async def check_outsider(
    gql: GraphQLClient, world: World, state: State, party: Party, name: str, q: str, dest: str
) -> None:
    fields = ALL_FIELDS
    raw, body = await post(gql, quotation_query(fields), {"id": q}, party)
    codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]
    assert codes == ["NOT_FOUND"], f"{name} reads quotation(id): {raw}"
    assert body.get("data") == {"quotation": None}, f"{name} reads quotation(id): {raw}"
    # node(id:) answers exactly as for an id that does not exist.
    node_raw, node_body = await post(gql, node_query(fields), {"id": q}, party)
    unknown_raw, unknown = await post(gql, node_query(fields), {"id": str(uuid.uuid4())}, party)
    assert node_body == unknown, f"{name} reads node(id): {node_raw} vs {unknown_raw}"
    assert node_body["data"] == {"node": None}, f"{name} reads node(id): {node_raw}"
    offer_ids = [offer.offer_id for offer in state.offers.values()]
    nodes_raw, nodes_body = await post(gql, OFFER_NODES, {"id": q, "ids": offer_ids}, party)
    assert nodes_body["data"] == {"quotation": None, "nodes": [None] * len(offer_ids)}, nodes_raw
    list_raw, list_body = await post(gql, quotations_query(fields), {"d": dest}, party)
    listed = data_of(list_body, f"{name} lists quotations")["quotations"]
    assert listed == {"totalCount": 0, "edges": []}, f"{name} lists it: {list_raw}"
    words = owner_identity(state)
    for hotel in range(3):
        words.update(hotel_identity(world, hotel))
    for text in (raw, list_raw, node_raw, nodes_raw):
        assert_hidden(text, secret_amounts(state), words, set(), f"{name} (outsider)")


async def check_audit_log(gql: GraphQLClient, world: World, state: State) -> None:
    """The audit log records net prices and markups: the operator's alone (positive control)."""
    for hotel, offer in state.offers.items():
        raw, body = await post(gql, AUDIT, {"o": offer.offer_id}, world.admin)
        data_of(body, "admin reads the audit log")
        assert shows_amount(raw, offer.prices[0]), f"{HOTEL_NAMES[hotel]}'s price not audited"
    others = [world.agency, world.client, world.other_agency, *world.hotels, world.outsider_hotel]
    for party in others:
        raw, body = await post(gql, AUDIT, {"o": None}, party)
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
        assert codes == ["FORBIDDEN"], f"{party.email} reads the audit log: {raw}"
        assert body.get("data") is None, f"{party.email} reads the audit log: {raw}"
        assert_hidden(raw, secret_amounts(state), {}, set(), f"{party.email} via auditLog")


# --- the property ---------------------------------------------------------------------------


@pytest.fixture
async def world(gql: GraphQLClient, make_user: UserFactory) -> World:
    """Built once per test: the database is cleaned per test function, not per example."""
    return await make_world(gql, make_user)


async def play(
    gql: GraphQLClient, world: World, mode: str, scenario: Scenario
) -> tuple[str, str, State]:
    """Run the scenario's mutations, checking every payload an owner or hotel receives."""
    owner = world.agency if scenario.owner == "agency" else world.client
    state = State(mode=mode, owner=owner)
    destination = f"Cusco {uuid.uuid4().hex}"  # lets ``quotations`` find this one only
    variables = {"input": quotation_input(destination=destination)}
    raw, body = await post(gql, CREATE, variables, owner)
    q = data_of(body, "createQuotation")["createQuotation"]["quotation"]["id"]
    check_owner(raw, body["data"], state, "createQuotation payload")

    admin = world.admin.token
    if mode != "HIDDEN":
        update = {"input": {"quotationId": q, "competitorPrices": mode}}
        (await gql.execute(UPDATE, update, token=admin)).ok()
    invited = [world.hotels[h].hotel_id for h in scenario.order if scenario.hotels[h].invited]
    (await gql.execute(INVITE, {"q": q, "hotels": invited}, token=admin)).ok()

    for hotel in scenario.order:
        plan, party = scenario.hotels[hotel], world.hotels[hotel]
        if plan.offer is not None:
            offer = {
                "quotationId": q,
                "netPrice": str(plan.offer.price),
                "currency": "USD",
                "validUntil": quotation_input()["endDate"],
                "notes": f"{HOTEL_NAMES[hotel]}: breakfast included, ask {party.email}",
            }
            raw, body = await post(gql, SUBMIT, {"input": offer}, party)
            offer_id = data_of(body, "submitOffer")["submitOffer"]["offer"]["id"]
            state.offers[hotel] = OfferState(offer_id, [plan.offer.price])
            check_hotel(raw, body["data"], world, state, hotel, "submitOffer payload")
        elif plan.decline:
            reason = f"{HOTEL_NAMES[hotel]} is full that week"
            raw, body = await post(gql, DECLINE, {"q": q, "r": reason}, party)
            data_of(body, "declineInvitation")
            check_hotel(raw, body["data"], world, state, hotel, "declineInvitation payload")
    for hotel in scenario.order:
        plan, party = scenario.hotels[hotel], world.hotels[hotel]
        if plan.offer is not None and plan.offer.revised is not None:
            own = state.offers[hotel]
            revise = {
                "offerId": own.offer_id,
                "netPrice": str(plan.offer.revised),
                "notes": f"{HOTEL_NAMES[hotel]} lowers its rate",
            }
            raw, body = await post(gql, REVISE, {"input": revise}, party)
            data_of(body, "reviseOffer")
            own.prices.append(plan.offer.revised)
            check_hotel(raw, body["data"], world, state, hotel, "reviseOffer payload")
    for hotel in scenario.order:
        plan, party = scenario.hotels[hotel], world.hotels[hotel]
        if plan.offer is not None and plan.offer.withdraw:
            own = state.offers[hotel]
            raw, body = await post(gql, WITHDRAW, {"o": own.offer_id}, party)
            data_of(body, "withdrawOffer")
            own.active = False
            check_hotel(raw, body["data"], world, state, hotel, "withdrawOffer payload")

    if scenario.stage != "open":
        (await gql.execute(CLOSE, {"q": q}, token=admin)).ok()
    active = [h for h in scenario.order if h in state.offers and state.offers[h].active]
    if scenario.stage == "proposed" and active:
        chosen = state.offers[active[scenario.chosen % len(active)]]
        propose = {"q": q, "o": chosen.offer_id, "m": str(scenario.markup)}
        proposed = (await gql.execute(PROPOSE, propose, token=admin)).ok()["proposeOffer"]
        state.selling = Decimal(proposed["quotation"]["sellingPrice"]["amount"])
        assert Decimal(proposed["quotation"]["markupPercent"]) == scenario.markup
        state.selling_seen.add(state.selling)
        state.markups.add(scenario.markup)
        state.margins.add(state.selling - chosen.current)
        if scenario.decision is not None:
            mutation = APPROVE if scenario.decision == "approve" else REJECT
            if scenario.decision == "reject":
                state.selling = None
            raw, body = await post(gql, mutation, {"q": q}, owner)
            data_of(body, f"{scenario.decision} by the owner")
            check_owner(raw, body["data"], state, f"{scenario.decision}Quotation payload")
    return q, destination, state


@settings(
    max_examples=10,  # per mode
    deadline=None,
    database=None,  # no .hypothesis/ directory in the project
    derandomize=True,  # the same scenarios on every run and machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
@example(scenario=FULL_APPROVED)
@example(scenario=ZERO_MARKUP_REJECTED)
@pytest.mark.parametrize("mode", MODES)
async def test_no_viewer_ever_receives_a_price_or_identity_it_may_not_see(
    gql: GraphQLClient, world: World, mode: str, scenario: Scenario
) -> None:
    q, destination, state = await play(gql, world, mode, scenario)
    bidders = len(state.offers)
    event(f"{bidders} bidder(s), {scenario.stage}, proposed={bool(state.markups)}")
    non_owner = world.client if scenario.owner == "agency" else world.agency
    parties: dict[str, Party] = {
        "admin": world.admin,
        "owner": state.owner,
        "hotel0": world.hotels[0],
        "hotel1": world.hotels[1],
        "hotel2": world.hotels[2],
        "non_owner": non_owner,
        "other_agency": world.other_agency,
        "outsider_hotel": world.outsider_hotel,
    }
    await check_audit_log(gql, world, state)
    for viewer, fields in zip(VIEWERS, scenario.fields, strict=True):
        party = parties[viewer]
        hotel = int(viewer[-1]) if viewer.startswith("hotel") else None
        if viewer in ("non_owner", "other_agency", "outsider_hotel") or (
            hotel is not None and not scenario.hotels[hotel].invited
        ):
            await check_outsider(gql, world, state, party, viewer, q, destination)
            continue
        one_raw, one = await post(gql, quotation_query(fields), {"id": q}, party)
        many_raw, many = await post(gql, quotations_query(fields), {"d": destination}, party)
        node_raw, node = await post(gql, node_query(fields), {"id": q}, party)
        one_data = data_of(one, f"{viewer} reads quotation(id)")
        many_data = data_of(many, f"{viewer} lists quotations")
        node_data = data_of(node, f"{viewer} reads node(id)")
        assert many_data["quotations"]["totalCount"] == 1, f"{viewer} cannot list it"
        assert many_data["quotations"]["edges"][0]["node"]["id"] == q
        # node(id:) is the typed lookup under another name: the same fields, the same nulls.
        assert node_data["node"] == one_data["quotation"], f"{viewer}: node(id) differs"
        offer_ids = [offer.offer_id for offer in state.offers.values()]
        nodes_raw, nodes = await post(gql, OFFER_NODES, {"id": q, "ids": offer_ids}, party)
        nodes_data = data_of(nodes, f"{viewer} reads nodes(ids)")
        listed = {offer["id"]: offer for offer in nodes_data["quotation"]["offers"]}
        # An offer by id is what the quotation lists of it, and null where it lists nothing.
        assert nodes_data["nodes"] == [listed.get(i) for i in offer_ids], f"{viewer}: {nodes_raw}"
        for raw, data, path in (
            (one_raw, one_data, "quotation(id)"),
            (many_raw, many_data, "quotations"),
            (node_raw, node_data, "node(id)"),
            (nodes_raw, nodes_data, "nodes(ids)"),
        ):
            where = f"{path} selecting {sorted(fields)}"
            if viewer == "admin":  # nodes(ids) selects the offers alone
                check_admin(raw, data, state, OFFERS_ONLY if path == "nodes(ids)" else fields)
            elif viewer == "owner":
                check_owner(raw, data, state, where)
            else:
                assert hotel is not None
                check_hotel(raw, data, world, state, hotel, where)
