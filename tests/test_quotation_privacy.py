"""docs/privacy.md §1, cell by cell, for quotations and offers: every role, every
competitorPrices mode, through queries and mutation payloads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CLOSE, PROPOSE, World, make_world, open_quotation, submit

VIEW = """
query($id: ID!) {
  quotation(id: $id) {
    destination travellers competitorPrices
    owner { fullName email company { name } }
    offers { hotelAlias isMine netPrice { amount } hotel { name } notes revisions { revision } }
    myOffer { hotelAlias netPrice { amount } hotel { name } }
    offerCount myRank markupPercent
    sellingPrice { amount currency } margin { amount }
    selectedOffer { hotelAlias netPrice { amount } hotel { name } }
    invitations { hotelAlias hotel { name } }
  }
}"""

PRICES = ["1000.00", "900.00", "1100.00"]  # hotel 0, 1, 2: hotel 1 is cheapest
NAMES = ["Inti Palace", "Qorikancha Suites", "Andean Lodge"]


async def _scenario(gql: GraphQLClient, world: World, mode: str) -> str:
    quotation_id = await open_quotation(gql, world, mode=mode)
    offers = [
        await submit(gql, hotel, quotation_id, price)
        for hotel, price in zip(world.hotels, PRICES, strict=True)
    ]
    (await gql.execute(CLOSE, {"q": quotation_id}, token=world.admin.token)).ok()
    proposal = {"q": quotation_id, "o": offers[1], "m": "20"}
    (await gql.execute(PROPOSE, proposal, token=world.admin.token)).ok()
    return quotation_id


async def _view(gql: GraphQLClient, token: str, quotation_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await gql.execute(VIEW, {"id": quotation_id}, token=token)).ok()
    quotation: dict[str, Any] = data["quotation"]
    return quotation


@pytest.mark.parametrize("mode", ["HIDDEN", "RANK_ONLY", "OPEN"])
async def test_admin_sees_everything(gql: GraphQLClient, make_user: UserFactory, mode: str) -> None:
    world = await make_world(gql, make_user)
    quotation = await _view(gql, world.admin.token, await _scenario(gql, world, mode))

    assert quotation["owner"]["email"] == "maria@andes.example"
    assert [o["netPrice"]["amount"] for o in quotation["offers"]] == PRICES
    assert [o["hotel"]["name"] for o in quotation["offers"]] == NAMES
    assert quotation["offerCount"] == 3
    assert quotation["markupPercent"] == "20.00"
    assert quotation["sellingPrice"] == {"amount": "1080.00", "currency": "USD"}
    assert quotation["margin"] == {"amount": "180.00"}
    assert quotation["selectedOffer"]["netPrice"] == {"amount": "900.00"}
    assert quotation["myRank"] is None
    assert [o["hotelAlias"] for o in quotation["offers"]] == ["Hotel A", "Hotel B", "Hotel C"]


@pytest.mark.parametrize("mode", ["HIDDEN", "RANK_ONLY", "OPEN"])
async def test_owner_sees_hotels_and_selling_price_never_net_or_markup(
    gql: GraphQLClient, make_user: UserFactory, mode: str
) -> None:
    world = await make_world(gql, make_user)
    quotation = await _view(gql, world.agency.token, await _scenario(gql, world, mode))

    assert quotation["owner"]["company"]["name"] == "Andes Travel"
    assert [o["hotel"]["name"] for o in quotation["offers"]] == NAMES  # to choose
    assert all(o["netPrice"] is None for o in quotation["offers"])
    assert all(o["revisions"] == [] for o in quotation["offers"])
    assert quotation["markupPercent"] is None
    assert quotation["margin"] is None
    assert quotation["sellingPrice"] == {"amount": "1080.00", "currency": "USD"}
    assert quotation["selectedOffer"] == {
        "hotelAlias": "Hotel B", "netPrice": None, "hotel": {"name": "Qorikancha Suites"},
    }  # fmt: skip
    assert quotation["offerCount"] == 3


@pytest.mark.parametrize(
    ("mode", "listed", "count", "rank"),
    [("HIDDEN", 1, None, None), ("RANK_ONLY", 1, 3, 2), ("OPEN", 3, 3, 2)],
)
async def test_competing_hotel_sees_only_what_the_mode_allows(
    gql: GraphQLClient,
    make_user: UserFactory,
    mode: str,
    listed: int,
    count: int | None,
    rank: int | None,
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await _scenario(gql, world, mode)
    inti = await _view(gql, world.hotels[0].token, quotation_id)

    assert inti["destination"] == "Cusco"  # the request itself is visible
    assert inti["owner"] is None
    assert inti["markupPercent"] is None
    assert inti["sellingPrice"] is None
    assert inti["margin"] is None
    assert inti["selectedOffer"] is None
    # Aliases anonymise OPEN-mode competitors; elsewhere a hotel's own alias ("Hotel C") would
    # tell it how many hotels were invited before it, so it gets none.
    alias = "Hotel A" if mode == "OPEN" else None
    assert inti["myOffer"] == {
        "hotelAlias": alias, "netPrice": {"amount": "1000.00"}, "hotel": {"name": "Inti Palace"},
    }  # fmt: skip
    assert [i["hotelAlias"] for i in inti["invitations"]] == [alias]
    assert inti["offerCount"] == count
    assert inti["myRank"] == rank
    assert [i["hotel"]["name"] for i in inti["invitations"]] == ["Inti Palace"]
    assert len(inti["offers"]) == listed
    for offer in inti["offers"]:
        if offer["isMine"]:
            assert offer["hotel"] == {"name": "Inti Palace"}
            assert offer["hotelAlias"] == alias
            assert offer["revisions"] == [{"revision": 1}]
            continue
        # OPEN: competitors' prices, anonymised; never their identity, notes or history.
        assert offer["hotel"] is None
        assert offer["notes"] is None
        assert offer["revisions"] == []
        assert offer["hotelAlias"] in ("Hotel B", "Hotel C")
        assert offer["netPrice"]["amount"] in ("900.00", "1100.00")
    text = str(inti)
    for name in NAMES[1:]:
        assert name not in text
    if mode != "OPEN":
        assert "900.00" not in text
        assert "1100.00" not in text


async def test_aliases_are_stable_across_viewers_and_requests(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await _scenario(gql, world, "OPEN")
    seen = []
    for hotel in world.hotels:
        for _ in range(2):
            quotation = await _view(gql, hotel.token, quotation_id)
            seen.append(
                sorted((o["hotelAlias"], o["netPrice"]["amount"]) for o in quotation["offers"])
            )
    assert all(view == seen[0] for view in seen)
    assert seen[0] == [("Hotel A", "1000.00"), ("Hotel B", "900.00"), ("Hotel C", "1100.00")]


async def test_uninvited_viewers_get_not_found(gql: GraphQLClient, make_user: UserFactory) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await _scenario(gql, world, "OPEN")
    for outsider in (world.other_agency, world.outsider_hotel, world.client):
        result = await gql.execute(VIEW, {"id": quotation_id}, token=outsider.token)
        assert result.codes == ["NOT_FOUND"], outsider.email
        assert result.data == {"quotation": None}  # as for an unknown id
        listed = await gql.execute("{ quotations { totalCount edges { node { id } } } }",
                                   token=outsider.token)  # fmt: skip
        assert listed.ok()["quotations"] == {"totalCount": 0, "edges": []}


async def test_mutation_payloads_follow_the_same_rules(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world, mode="RANK_ONLY")
    await submit(gql, world.hotels[1], quotation_id, "900.00")
    payload = """
    mutation($input: SubmitOfferInput!) {
      submitOffer(input: $input) {
        offer { hotelAlias netPrice { amount } hotel { name } }
        quotation {
          offerCount myRank owner { email } offers { netPrice { amount } hotel { name } }
        }
      }
    }"""
    offer = {
        "quotationId": quotation_id, "netPrice": "1000.00", "currency": "USD",
        "validUntil": "2099-01-01",
    }  # fmt: skip
    data = (await gql.execute(payload, {"input": offer}, token=world.hotels[0].token)).ok()
    submitted = data["submitOffer"]
    assert submitted["offer"] == {
        "hotelAlias": None,
        "netPrice": {"amount": "1000.00"},
        "hotel": {"name": "Inti Palace"},
    }
    assert submitted["quotation"]["offerCount"] == 2
    assert submitted["quotation"]["myRank"] == 2
    assert submitted["quotation"]["owner"] is None
    assert submitted["quotation"]["offers"] == [
        {"netPrice": {"amount": "1000.00"}, "hotel": {"name": "Inti Palace"}}
    ]
    assert "900.00" not in str(data)


async def test_client_owner_sees_own_quotation_and_agency_staff_share_theirs(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    client_quotation = await open_quotation(gql, world, owner=world.client)
    mine = await _view(gql, world.client.token, client_quotation)
    assert mine["owner"] == {"fullName": "emma", "email": "emma@example.com", "company": None}

    agency_quotation = await open_quotation(gql, world)
    from spirit_tours.core.enums import Role
    from tests.conftest import PASSWORD

    await make_user("colleague@andes.example", Role.AGENCY, company="Andes Travel")
    colleague = await gql.token_for("colleague@andes.example", PASSWORD)
    assert (await _view(gql, colleague, agency_quotation))["owner"][
        "email"
    ] == "maria@andes.example"
    # A client never sees an agency's quotation, nor an agency a client's.
    for token, other in ((world.client.token, agency_quotation), (colleague, client_quotation)):
        assert (await gql.execute(VIEW, {"id": other}, token=token)).codes == ["NOT_FOUND"]
