"""A Redis that stops answering (SIGSTOP: a stalled server or a black-holed network). Every
command gives up within SPIRIT_REDIS_SOCKET_TIMEOUT_SECONDS and each use fails the way README
"When Redis does not answer" states: sign-in closed, with a typed SERVICE_UNAVAILABLE; live
subscriptions open (presence skipped, events found in PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select

from spirit_tours.config import Settings
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving
from tests.graphql_client import LOGIN, GraphQLClient
from tests.live_client import live, relayed
from tests.quotation_flows import UPDATE, make_world, open_quotation
from tests.redis_process import free_port, redis_process

pytestmark = pytest.mark.slow  # a Redis server of its own, stalled

READ_TIMEOUT = 2.0  # the smallest SPIRIT_REDIS_SOCKET_TIMEOUT_SECONDS allowed


@asynccontextmanager
async def _on_own_redis(
    settings: Settings,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, LiveServer]]:
    port = free_port()
    own = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{port}/0",
            "redis_socket_timeout_seconds": READ_TIMEOUT,
            "redis_connect_timeout_seconds": 1.0,
        }
    )
    async with redis_process(port) as redis, serving(own) as server:
        try:
            yield redis, server
        finally:
            redis.send_signal(signal.SIGCONT)  # never leave it stopped: terminate must work


async def test_a_stalled_redis_refuses_sign_in_quickly_and_typed_then_recovers(
    settings: Settings, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    wrong = {"input": {"email": "ana@op.example", "password": "wrong-pass"}}
    right = {"input": {"email": "ana@op.example", "password": PASSWORD}}
    async with (
        _on_own_redis(settings) as (redis, server),
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        gql = GraphQLClient(http)
        failed = await gql.execute(LOGIN, wrong)
        assert failed.errors[0]["extensions"]["reason"] == "INVALID_CREDENTIALS"

        redis.send_signal(signal.SIGSTOP)
        for variables in (right, wrong):
            started = time.monotonic()
            async with asyncio.timeout(10):  # before the fix: no answer, ever
                refused = await gql.execute(LOGIN, variables)
            assert time.monotonic() - started < READ_TIMEOUT + 2
            assert refused.codes == ["SERVICE_UNAVAILABLE"]
            assert refused.errors[0]["extensions"]["retryAfterSeconds"] > 0
            assert "login-failures" not in str(refused.body)  # no Redis detail leaks
        async with asyncio.timeout(10):
            monitor = await http.get("/ops/queues/", auth=("ana@op.example", "wrong-pass"))
        assert monitor.status_code == 503
        assert int(monitor.headers["retry-after"]) > 0

        redis.send_signal(signal.SIGCONT)
        assert (await gql.login("ana@op.example", PASSWORD))["user"]["email"] == "ana@op.example"
        for _ in range(5):  # failures are counted again
            assert (await gql.execute(LOGIN, wrong)).codes == ["UNAUTHENTICATED"]
        assert (await gql.execute(LOGIN, right)).codes == ["TOO_MANY_ATTEMPTS"]


ROOM = """
subscription($q: ID!, $after: String) { quotationEvents(quotationId: $q, after: $after) {
  __typename ... on QuotationChanged { cursor kind } } }"""


async def test_live_updates_fail_open_while_redis_is_stalled(
    gql: GraphQLClient, make_user: UserFactory, settings: Settings, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    async with sessions() as session:
        # Presence times out before the subscription listens: it resumes from here, so the
        # change below is delivered whether it lands before or after that.
        cursor = f"p{await session.scalar(select(func.max(OutboxEvent.position)))}"
    async with (
        _on_own_redis(settings) as (redis, server),
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        local = GraphQLClient(http)
        redis.send_signal(signal.SIGSTOP)
        async with live(server.url, world.admin.token) as admin, asyncio.timeout(30):
            # Presence cannot be recorded: the subscription starts anyway...
            await admin.subscribe("s", ROOM, {"q": quotation, "after": cursor})
            change = {"input": {"quotationId": quotation, "notes": "while Redis sleeps"}}
            (await local.execute(UPDATE.replace("competitorPrices", "notes"), change,
                                 token=world.admin.token)).ok()  # fmt: skip
            # ...and the change arrives from PostgreSQL although Redis never announced it.
            event = await admin.event("s", "quotationEvents")
            assert event["kind"] == "QUOTATION_UPDATED"
