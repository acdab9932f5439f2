"""GraphQL over WebSocket (graphql-transport-ws) with the token in connection_init."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import UPDATE, make_world, open_quotation

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")


def _ws_url(live_server: LiveServer) -> str:
    return live_server.url.replace("http://", "ws://") + "/graphql"


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.recv(decode=True))
    return message


async def test_query_over_websocket_with_token(
    live_server: LiveServer, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    async with websockets.connect(_ws_url(live_server), subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { email } }"}}
            )
        )
        message = await _receive(ws)
        assert message == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"viewer": {"email": "ana@op.example"}}},
        }
        assert (await _receive(ws)) == {"id": "1", "type": "complete"}


async def test_anonymous_websocket_gets_unauthenticated_errors(live_server: LiveServer) -> None:
    async with websockets.connect(_ws_url(live_server), subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { email } }"}}
            )
        )
        message = await _receive(ws)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_websocket_with_bad_token_is_closed(live_server: LiveServer) -> None:
    async with websockets.connect(_ws_url(live_server), subprotocols=[PROTOCOL]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
        )
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_legacy_graphql_ws_protocol_is_not_offered(live_server: LiveServer) -> None:
    legacy = websockets.Subprotocol("graphql-ws")
    with pytest.raises((InvalidStatus, ConnectionClosed, websockets.InvalidHandshake)):
        async with websockets.connect(_ws_url(live_server), subprotocols=[legacy]) as ws:
            await ws.recv()


async def test_each_query_over_one_websocket_reads_current_data(
    live_server: LiveServer, gql: GraphQLClient, make_user: UserFactory
) -> None:
    """A socket lives for hours and its operations share its context: each query must read
    the data as it is now, not rows an earlier query on the same socket loaded."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    query = "query($q: ID!) { quotation(id: $q) { competitorPrices } }"
    token = world.admin.token
    async with websockets.connect(_ws_url(live_server), subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        seen = []
        for n, mode in enumerate(["OPEN", "RANK_ONLY"]):
            payload = {"query": query, "variables": {"q": quotation}}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            message = await _receive(ws)
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["quotation"]["competitorPrices"])
            assert (await _receive(ws))["type"] == "complete"
            update = {"input": {"quotationId": quotation, "competitorPrices": mode}}
            (await gql.execute(UPDATE, update, token=token)).ok()  # over HTTP, meanwhile
    assert seen == ["HIDDEN", "OPEN"]
