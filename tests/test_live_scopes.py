"""One room, many subscribers of different privacy scopes: each receives exactly the fields its
scope allows, and each event is rendered once per scope, not once per subscriber (counted in
/metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spirit_tours.core.enums import Role
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import METRICS_TOKEN, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.live_client import LiveClient, listening, live, relayed, room_of
from tests.quotation_flows import INVITE, Party, _party, make_world, open_quotation, submit

ROOM = """
subscription($q: ID!) {
  quotationEvents(quotationId: $q) {
    __typename
    ... on QuotationChanged { kind quotation { offerCount myRank invitations { hotelAlias } } }
    ... on OfferChanged { kind offer { hotelAlias netPrice { amount } hotel { name } notes }
                          quotation { offerCount myRank } }
  }
}"""
REMOVE = """
mutation($q: ID!, $h: ID!) { removeInvitation(input: {quotationId: $q, hotelId: $h}) {
  quotation { id } } }"""


async def _counters(http: httpx.AsyncClient) -> dict[str, float]:
    """The live metrics: counters of stored events, the gauges by room kind."""
    body = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if not name.startswith("spirit_live_") or labels.get("delivery") == "signal":
                continue
            if "room_kind" in labels:
                name += ":" + labels["room_kind"]
            found[name] = sample.value
    return found


@asynccontextmanager
async def _clients(url: str, parties: dict[str, Party]) -> AsyncIterator[dict[str, LiveClient]]:
    async with AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(live(url, p.token))
               for name, p in parties.items()}  # fmt: skip


@pytest.mark.parametrize("mode", ["HIDDEN", "RANK_ONLY", "OPEN"])
async def test_each_scope_gets_its_own_fields_and_each_event_renders_once_per_scope(
    mode: str,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
) -> None:
    world = await make_world(gql, make_user)
    # A second user of the operator, of the owner agency and of the offering hotel.
    await make_user("admin2@op.example", Role.ADMIN)
    await make_user("maria2@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("hotel0b@hotels.example", Role.HOTEL, company="Inti Palace Co",
                    hotel="Inti Palace")  # fmt: skip
    await make_user("gone@hotels.example", Role.HOTEL, company="Gone Co", hotel="Gone Inn")
    gone = await _party(gql, "gone@hotels.example")
    quotation = await open_quotation(gql, world, mode=mode)
    invite = {"q": quotation, "hotels": [gone.hotel_id]}
    (await gql.execute(INVITE, invite, token=world.admin.token)).ok()
    await relayed(sessions)
    parties = {
        "admin": world.admin, "admin2": await _party(gql, "admin2@op.example"),
        "owner": world.agency, "owner2": await _party(gql, "maria2@andes.example"),
        "own": world.hotels[0], "own2": await _party(gql, "hotel0b@hotels.example"),
        "rival1": world.hotels[1], "rival2": world.hotels[2], "gone": gone,
    }  # fmt: skip
    async with _clients(live_server.url, parties) as clients:
        for client in clients.values():
            await client.subscribe("room", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): len(clients)})

        # The operator takes the last hotel's invitation back: its room closes (NOT_FOUND),
        # the operator and the owner hear of it, the other hotels do not.
        remove = {"q": quotation, "h": gone.hotel_id}
        (await gql.execute(REMOVE, remove, token=world.admin.token)).ok()
        closed = await clients["gone"].next("room")
        while "PresenceChanged" in str(closed):  # operator staff come and go
            closed = await clients["gone"].next("room")
        assert closed["type"] == "error", closed
        assert closed["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        for name in ("admin", "admin2", "owner", "owner2"):
            removal = await clients[name].event("room", "quotationEvents")
            assert removal["kind"] == "QUOTATION_HOTEL_REMOVED"
            assert len(removal["quotation"]["invitations"]) == 3
        for name in ("own", "own2", "rival1", "rival2"):
            await clients[name].nothing("room", 0.3)

        before = await _counters(http)
        # Other tests' subscriptions may be open on this server too: at least ours.
        assert before["spirit_live_websockets"] >= len(clients)
        assert before["spirit_live_subscriptions:quotation"] >= len(clients) - 1
        assert before["spirit_live_scope_groups"] >= 5
        await submit(gql, world.hotels[0], quotation, "900.00")
        got = {name: await clients[name].event("room", "quotationEvents")
               for name in ("admin", "admin2", "owner", "owner2", "own", "own2")}  # fmt: skip
        # Members of one scope receive the same event; the scopes differ as the table says.
        assert got["admin"] == got["admin2"]
        assert got["owner"] == got["owner2"]
        assert got["own"] == got["own2"]
        admin_offer, owner_offer, own_offer = (got[n]["offer"] for n in ("admin", "owner", "own"))
        assert admin_offer["netPrice"] == {"amount": "900.00"}
        assert admin_offer["hotel"] == {"name": "Inti Palace"}
        assert owner_offer["netPrice"] is None
        assert owner_offer["hotel"] == {"name": "Inti Palace"}
        assert own_offer["netPrice"] == {"amount": "900.00"}
        assert own_offer["notes"] == admin_offer["notes"] != None  # noqa: E711
        rivals: list[dict[str, Any]] = []
        if mode == "HIDDEN":
            for name in ("rival1", "rival2"):
                await clients[name].nothing("room", 1.0)  # not even that something happened
        else:
            rivals = [
                await clients[n].event("room", "quotationEvents") for n in ("rival1", "rival2")
            ]
        for rival in rivals:
            if mode == "OPEN":
                assert rival["__typename"] == "OfferChanged"
                assert rival["offer"]["netPrice"] == {"amount": "900.00"}
                assert rival["offer"]["hotel"] is None
                assert rival["offer"]["notes"] is None
                assert rival["offer"]["hotelAlias"].startswith("Hotel ")
            else:  # RANK_ONLY: only that the competition changed
                assert rival == {"__typename": "QuotationChanged", "kind": "COMPETITION_CHANGED",
                                 "quotation": {"offerCount": 1, "myRank": None,
                                               "invitations": [{"hotelAlias": None}]}}  # fmt: skip
        after = await _counters(http)
        # 5 scopes (operator, owner, offering hotel, two rivals) for 8 subscribers; the removed
        # hotel's subscription is gone.
        executions = "spirit_live_scope_executions_total"
        assert after[executions] - before[executions] == 5
        deliveries = after["spirit_live_deliveries_total"] - before["spirit_live_deliveries_total"]
        assert deliveries == 6 + len(rivals)
        await clients["gone"].nothing("room", 0.3)
