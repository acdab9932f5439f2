"""Helpers that drive the quotation workflow over real HTTP, for tests and demo checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from spirit_tours.core.enums import Role
from tests.conftest import PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient

CREATE = """
mutation($input: CreateQuotationInput!) {
  createQuotation(input: $input) { quotation { id status } }
}"""
INVITE = """
mutation($q: ID!, $hotels: [ID!]!) {
  inviteHotels(input: {quotationId: $q, hotelIds: $hotels}) { quotation { id status } }
}"""
SUBMIT = """
mutation($input: SubmitOfferInput!) {
  submitOffer(input: $input) { offer { id netPrice { amount currency } } quotation { id } }
}"""
UPDATE = """
mutation($input: UpdateQuotationInput!) {
  updateQuotation(input: $input) { quotation { id competitorPrices } }
}"""
CLOSE = "mutation($q: ID!) { closeQuotation(input: {quotationId: $q}) { quotation { status } } }"
PROPOSE = """
mutation($q: ID!, $o: ID!, $m: Decimal!) {
  proposeOffer(input: {quotationId: $q, offerId: $o, markupPercent: $m}) {
    quotation { status sellingPrice { amount currency } markupPercent }
  }
}"""
HOTELS = "{ viewer { company { hotels { id name } } } }"


def quotation_input(**overrides: Any) -> dict[str, Any]:
    start = date.today() + timedelta(days=60)
    values: dict[str, Any] = {
        "destination": "Cusco",
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=4)).isoformat(),
        "travellers": 12,
        "rooms": [{"type": "DOUBLE", "count": 6}],
        "extraServices": ["GUIDE", "TRANSPORT"],
        "notes": "School trip",
        "currency": "USD",
        "offerDeadline": (datetime.now(UTC) + timedelta(days=10)).isoformat(),
    }
    values.update(overrides)
    return values


@dataclass
class Party:
    email: str
    token: str
    hotel_id: str | None = None


@dataclass
class World:
    """An operator, two agencies, a client and three competing hotels, signed in."""

    admin: Party
    agency: Party
    other_agency: Party
    client: Party
    hotels: list[Party]
    outsider_hotel: Party


async def _party(gql: GraphQLClient, email: str) -> Party:
    token = await gql.token_for(email, PASSWORD)
    hotels = (await gql.execute(HOTELS, token=token)).ok()["viewer"]["company"]
    hotel_id = hotels["hotels"][0]["id"] if hotels and hotels["hotels"] else None
    return Party(email, token, hotel_id)


async def make_world(gql: GraphQLClient, make_user: UserFactory) -> World:
    await make_user("admin@op.example", Role.ADMIN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("joao@rio.example", Role.AGENCY, company="Rio Viagens")
    await make_user("emma@example.com", Role.CLIENT)
    for n, name in enumerate(("Inti Palace", "Qorikancha Suites", "Andean Lodge", "Far Away Inn")):
        await make_user(f"hotel{n}@hotels.example", Role.HOTEL, company=f"{name} Co", hotel=name)
    return World(
        admin=await _party(gql, "admin@op.example"),
        agency=await _party(gql, "maria@andes.example"),
        other_agency=await _party(gql, "joao@rio.example"),
        client=await _party(gql, "emma@example.com"),
        hotels=[await _party(gql, f"hotel{n}@hotels.example") for n in range(3)],
        outsider_hotel=await _party(gql, "hotel3@hotels.example"),
    )


async def open_quotation(
    gql: GraphQLClient, world: World, *, owner: Party | None = None, mode: str = "HIDDEN"
) -> str:
    """A quotation by ``owner`` (the agency by default), all three hotels invited."""
    owner = owner or world.agency
    created = await gql.execute(CREATE, {"input": quotation_input()}, token=owner.token)
    quotation_id: str = created.ok()["createQuotation"]["quotation"]["id"]
    if mode != "HIDDEN":
        update = {"input": {"quotationId": quotation_id, "competitorPrices": mode}}
        (await gql.execute(UPDATE, update, token=world.admin.token)).ok()
    hotels = [hotel.hotel_id for hotel in world.hotels]
    (await gql.execute(INVITE, {"q": quotation_id, "hotels": hotels}, token=world.admin.token)).ok()
    return quotation_id


async def submit(
    gql: GraphQLClient, hotel: Party, quotation_id: str, price: str, **extra: Any
) -> str:
    offer = {
        "quotationId": quotation_id,
        "netPrice": price,
        "currency": "USD",
        "validUntil": (date.today() + timedelta(days=30)).isoformat(),
        "notes": f"Offer from {hotel.email}",
        **extra,
    }
    result = await gql.execute(SUBMIT, {"input": offer}, token=hotel.token)
    offer_id: str = result.ok()["submitOffer"]["offer"]["id"]
    return offer_id
