"""Live updates across processes and through failures: another server process, a Redis
restart, a client that vanishes without closing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis

from spirit_tours.config import Settings
from spirit_tours.persistence.database import SessionFactory
from tests.cli import SCRIPT, clean_env
from tests.conftest import (
    TEST_EMAIL_SECRET,
    TEST_ENCRYPTION_KEYS,
    TEST_JWT_SECRET,
    LiveServer,
    UserFactory,
    serving,
)
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, live, present, relayed, room_of
from tests.quotation_flows import UPDATE, make_world, open_quotation
from tests.redis_process import redis_process

pytestmark = pytest.mark.slow  # a second server process, Redis restarts

ROOM = """
subscription($q: ID!) { quotationEvents(quotationId: $q) {
  __typename ... on QuotationChanged { cursor kind }
  ... on PresenceChanged { participant { role } online } } }"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _touch(gql: GraphQLClient, token: str, quotation: str, n: int) -> None:
    """One domain event: the operator edits the quotation's notes."""
    change = {"input": {"quotationId": quotation, "notes": f"change {n}"}}
    (await gql.execute(UPDATE.replace("competitorPrices", "notes"), change, token=token)).ok()


@asynccontextmanager
async def _server_process(database_url: str, redis_url: str) -> AsyncIterator[str]:
    """``spirit-tours serve`` in a process of its own, on the same database and Redis."""
    port = _free_port()
    env = clean_env(SPIRIT_DATABASE_URL=database_url, SPIRIT_REDIS_URL=redis_url,
                    SPIRIT_JWT_SECRET=TEST_JWT_SECRET, SPIRIT_EMAIL_SECRET=TEST_EMAIL_SECRET,
                    SPIRIT_ENV="test", SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
                    SPIRIT_SEED_DEMO="false", SPIRIT_LOG_LEVEL="warning")  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--port", str(port), "--workers", "1", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(300):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


async def test_a_mutation_on_one_process_reaches_a_subscriber_on_another(
    gql: GraphQLClient,
    make_user: UserFactory,
    settings: Settings,
    sessions: SessionFactory,
    redis: Redis,
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    assert settings.database_url
    assert settings.redis_url
    async with (
        _server_process(settings.database_url, settings.redis_url) as other,
        live(other, world.agency.token) as owner,
    ):
        await owner.subscribe("s", ROOM, {"q": quotation})
        # Present in the room (Redis): the other process listens a moment later, and a
        # subscription without a cursor hears only what happens once it listens. Nothing tells
        # the test when that is, so a change that went by too early is made again.
        await present(redis, room_of(quotation))
        for n in range(1, 6):
            started = time.monotonic()
            await _touch(gql, world.admin.token, quotation, n)  # on the in-process server
            try:
                event = await owner.event("s", "quotationEvents", wait=3.0)
            except TimeoutError:
                continue
            break
        else:
            pytest.fail("no change made on this process reached the other process's subscriber")
        assert event["kind"] == "QUOTATION_UPDATED"
        assert time.monotonic() - started < 3


async def test_subscribers_lose_nothing_while_redis_restarts(
    gql: GraphQLClient, make_user: UserFactory, settings: Settings, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    port = _free_port()
    own_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    received: list[str] = []
    async with redis_process(port) as first_redis, serving(own_redis) as server:
        hub = server.app.state.services.hub
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            local = GraphQLClient(http)
            async with live(server.url, world.admin.token) as admin:
                await admin.subscribe("s", ROOM, {"q": quotation})
                await asyncio.wait_for(hub.connected.wait(), 10)
                await listening(server, {room_of(quotation): 1})
                for n in range(3):
                    await _touch(local, world.admin.token, quotation, n)
                received += [(await admin.event("s", "quotationEvents"))["cursor"]
                             for _ in range(3)]  # fmt: skip
                first_redis.terminate()
                await first_redis.wait()
                for n in range(3, 6):  # Redis is down: the events wait in PostgreSQL
                    await _touch(local, world.admin.token, quotation, n)
                received += [(await admin.event("s", "quotationEvents"))["cursor"]
                             for _ in range(3)]  # fmt: skip
                async with redis_process(port):
                    await asyncio.wait_for(hub.connected.wait(), 30)  # reconnected
                    for n in range(6, 9):
                        await _touch(local, world.admin.token, quotation, n)
                    received += [(await admin.event("s", "quotationEvents"))["cursor"]
                                 for _ in range(3)]  # fmt: skip
                    await admin.nothing("s", 1.5)
    positions = [int(cursor[1:]) for cursor in received]
    assert len(positions) == 9
    assert positions == sorted(set(positions))  # in order, none twice
    assert positions[-1] - positions[0] == 8  # none missing


VANISHING_CLIENT = """
import asyncio, json, sys
import websockets

async def main(url, token, quotation):
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"],
                                  ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        await ws.recv()
        query = "subscription($q: ID!) { quotationEvents(quotationId: $q) { __typename } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "variables": {"q": quotation}}}))
        print("subscribed", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_presence_turns_offline_within_a_minute_when_a_client_vanishes(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    await make_user("second.admin@op.example")
    other_admin = await gql.token_for("second.admin@op.example", "correct horse battery")
    ws_url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with live(live_server.url, world.hotels[0].token) as hotel:
        await hotel.subscribe("s", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-c", VANISHING_CLIENT, ws_url, other_admin, quotation,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert client.stdout is not None
            assert (await asyncio.wait_for(client.stdout.readline(), 20)).strip() == b"subscribed"
            joined = await hotel.data("s", 10)
            assert joined["quotationEvents"]["online"] is True
            os.kill(client.pid, signal.SIGSTOP)  # alive to the kernel, silent to the server
            vanished = time.monotonic()
            left = await hotel.data("s", 65)
            assert left["quotationEvents"] == {
                "__typename": "PresenceChanged", "participant": {"role": "ADMIN"}, "online": False
            }  # fmt: skip
            assert time.monotonic() - vanished < 60
        finally:
            client.kill()
            await client.wait()
