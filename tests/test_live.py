"""Subscriptions on the live server over graphql-transport-ws: privacy of every event, resume,
the inbox, chat, presence."""

from __future__ import annotations

import asyncio

from spirit_tours.persistence.database import SessionFactory
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.live_client import live, relayed
from tests.quotation_flows import CLOSE, make_world, open_quotation, submit

ROOM = """
subscription($q: ID!, $after: String) {
  quotationEvents(quotationId: $q, after: $after) {
    __typename
    ... on QuotationChanged { cursor kind quotation { status offerCount myRank } }
    ... on OfferChanged { cursor kind offer { hotelAlias netPrice { amount } hotel { name } }
                          quotation { offerCount } }
    ... on MessagePosted { cursor message { body author { fullName } } }
    ... on TypingChanged { participant { role } typing }
    ... on PresenceChanged { participant { role } online }
  }
}"""


async def test_each_viewer_receives_offer_events_as_spec_3_allows(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    hidden = await open_quotation(gql, world, mode="HIDDEN")
    await relayed(sessions)
    viewers = {"admin": world.admin.token, "owner": world.agency.token,
               "own": world.hotels[0].token, "rival": world.hotels[1].token}  # fmt: skip
    async with (
        live(live_server.url, viewers["admin"]) as admin,
        live(live_server.url, viewers["owner"]) as owner,
        live(live_server.url, viewers["own"]) as own,
        live(live_server.url, viewers["rival"]) as rival,
    ):
        for client in (admin, owner, own, rival):
            await client.subscribe("open", ROOM, {"q": quotation})
            await client.subscribe("hidden", ROOM, {"q": hidden})
        await asyncio.sleep(0.3)  # subscriptions registered
        await submit(gql, world.hotels[0], quotation, "900.00")
        await submit(gql, world.hotels[0], hidden, "800.00")
        events = {name: await client.event("open", "quotationEvents")
                  for name, client in (("admin", admin), ("owner", owner), ("own", own),
                                       ("rival", rival))}  # fmt: skip
        assert events["admin"]["offer"]["netPrice"] == {"amount": "900.00"}
        assert events["admin"]["offer"]["hotel"] == {"name": "Inti Palace"}
        assert events["owner"]["offer"]["netPrice"] is None
        assert events["owner"]["offer"]["hotel"] == {"name": "Inti Palace"}
        assert events["own"]["offer"]["netPrice"] == {"amount": "900.00"}
        # OPEN mode: the rival sees the price under an alias, never the hotel.
        assert events["rival"]["offer"]["hotel"] is None
        assert events["rival"]["offer"]["hotelAlias"].startswith("Hotel ")
        assert events["rival"]["offer"]["netPrice"] == {"amount": "900.00"}
        # HIDDEN mode: the rival hears nothing at all of the competitor's bid.
        assert (await admin.event("hidden", "quotationEvents"))["offer"]["netPrice"]
        await rival.nothing("hidden", 1.5)
        hidden_own = await own.event("hidden", "quotationEvents")
        assert hidden_own["offer"]["netPrice"] == {"amount": "800.00"}


async def test_resume_with_a_cursor_replays_exactly_the_missed_events(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("s", ROOM, {"q": quotation})
        await asyncio.sleep(0.3)
        await submit(gql, world.hotels[0], quotation, "900.00")
        first = await admin.event("s", "quotationEvents")
    # Disconnected: three things happen.
    await submit(gql, world.hotels[1], quotation, "950.00")
    await submit(gql, world.hotels[2], quotation, "990.00")
    (await gql.execute(CLOSE, {"q": quotation}, token=world.admin.token)).ok()
    await asyncio.sleep(0.5)
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("s", ROOM, {"q": quotation, "after": first["cursor"]})
        missed = [await admin.event("s", "quotationEvents") for _ in range(3)]
        assert [e["__typename"] for e in missed] == ["OfferChanged", "OfferChanged",
                                                    "QuotationChanged"]  # fmt: skip
        assert [e["offer"]["netPrice"]["amount"] for e in missed[:2]] == ["950.00", "990.00"]
        assert missed[2]["kind"] == "quotation.closed"
        await admin.nothing("s", 1.0)  # exactly once
        await admin.subscribe("bad", ROOM, {"q": quotation, "after": "p999999"})
        refused = await admin.next("bad")
        assert refused["type"] in ("next", "error")
        assert "BAD_USER_INPUT" in str(refused)
