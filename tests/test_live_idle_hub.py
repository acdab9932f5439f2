"""A server process with nobody listening live only moves its position on as events are
published (it reads none of them); whoever subscribes afterwards hears what happens from then
on, never the events that went by before."""

from __future__ import annotations

from spirit_tours.persistence.database import SessionFactory
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, live, relayed, room_of
from tests.quotation_flows import UPDATE, make_world, open_quotation

ROOM = """
subscription($q: ID!) { quotationEvents(quotationId: $q) {
  __typename ... on QuotationChanged { cursor kind } } }"""
NOTES = UPDATE.replace("competitorPrices", "notes")


async def _note(gql: GraphQLClient, token: str, quotation: str, text: str) -> None:
    change = {"input": {"quotationId": quotation, "notes": text}}
    (await gql.execute(NOTES, change, token=token)).ok()


async def test_a_subscriber_after_a_quiet_spell_hears_only_what_happens_next(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    hub = live_server.app.state.services.hub
    assert hub.subscribers(room_of(quotation)) == 0
    for n in range(3):  # nobody listens: published, and this process's position moves past them
        await _note(gql, world.admin.token, quotation, f"unheard {n}")
    await relayed(sessions)  # every event published, and every hub's position is the last one
    async with live(live_server.url, world.agency.token) as owner:
        await owner.subscribe("s", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        await _note(gql, world.admin.token, quotation, "heard")
        event = await owner.event("s", "quotationEvents")
        assert event["kind"] == "QUOTATION_UPDATED"
        await owner.nothing("s", wait=1.0)  # none of the three that went by before
