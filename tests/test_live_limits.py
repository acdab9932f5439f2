"""Live caps and pool exhaustion (issue 12, subscription flood): WebSockets per user and per
anonymous address, subscriptions per user across connections, a bounded wait for the
subscriptions' database turn, and a pool timeout answered as SERVICE_UNAVAILABLE.

Each runs against a server of its own with small limits, so the numbers stay small.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from spirit_tours.config import Settings
from spirit_tours.services import Services
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.live_client import PROTOCOL, LiveClient, live

ANNOUNCEMENTS = "subscription { announcements { title } }"


@pytest.fixture(scope="module")
async def capped_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """Two WebSockets per user or anonymous address, three subscriptions per user, one
    subscription database task at a time, which a start waits for at most half a second."""
    update = {
        "max_websockets_per_user": 2,
        "max_websockets_per_address": 2,
        "max_subscriptions_per_user": 3,
        "live_database_concurrency": 1,
        "database_pool_timeout_seconds": 0.5,
    }
    async with serving(settings.model_copy(update=update)) as server:
        yield server


@pytest.fixture(scope="module")
async def tiny_pool_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A pool of two connections (`database_pool_size` 1), waited for at most 0.3 s."""
    update = {"database_pool_size": 1, "database_pool_timeout_seconds": 0.3}
    async with serving(settings.model_copy(update=update)) as server:
        yield server


def _services(server: LiveServer) -> Services:
    services: Services = server.app.state.services
    return services


def links_base(server: LiveServer) -> str:
    """The scheme and host of the server's signed links (its public URL), to strip them."""
    url = urlsplit(_services(server).links.click_url(uuid.uuid4(), "x"))
    return f"{url.scheme}://{url.netloc}"


async def _token(server: LiveServer, email: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await GraphQLClient(http).token_for(email, PASSWORD)


async def _refused(server: LiveServer, token: str | None) -> tuple[int, str]:
    """Open a connection expected to be refused: its close code and reason."""
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        payload = {"token": token} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def _admitted_again(server: LiveServer, token: str | None) -> None:
    """Once a connection has ended, the next one is admitted (polled: its release runs when
    the server has seen the close)."""
    for _ in range(100):
        with contextlib.suppress(AssertionError, ConnectionClosed):
            async with live(server.url, token):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no connection admitted after one ended")


async def test_websockets_per_user_are_capped(
    capped_server: LiveServer, make_user: UserFactory
) -> None:
    await make_user("cap-ws@op.example")
    token = await _token(capped_server, "cap-ws@op.example")
    async with live(capped_server.url, token), live(capped_server.url, token):
        code, reason = await _refused(capped_server, token)
        assert code == 4429
        assert reason == "Too many connections: at most 2 per user"
    await _admitted_again(capped_server, token)


async def test_anonymous_websockets_per_address_are_capped(capped_server: LiveServer) -> None:
    async with live(capped_server.url, None), live(capped_server.url, None):
        code, reason = await _refused(capped_server, None)
        assert code == 4429
        assert reason == "Too many connections: at most 2 per address"
    await _admitted_again(capped_server, None)


async def _subscribe_refused(client: LiveClient, key: str) -> dict[str, Any] | None:
    """Subscribe; the refusal if one comes at once (an accepted subscription is silent)."""
    await client.subscribe(key, ANNOUNCEMENTS)
    try:
        message = await client.next(key, wait=1.0)
    except TimeoutError:
        return None
    assert message["type"] == "error", message
    error: dict[str, Any] = message["payload"][0]
    return error


async def test_subscriptions_per_user_are_capped_across_connections(
    capped_server: LiveServer, make_user: UserFactory
) -> None:
    await make_user("cap-subs@op.example")
    token = await _token(capped_server, "cap-subs@op.example")
    async with live(capped_server.url, token) as one, live(capped_server.url, token) as two:
        assert await _subscribe_refused(one, "a") is None
        assert await _subscribe_refused(one, "b") is None
        assert await _subscribe_refused(two, "c") is None
        refusal = await _subscribe_refused(two, "d")
        assert refusal is not None
        assert refusal["extensions"]["code"] == "RATE_LIMITED"
        assert refusal["extensions"]["limit"] == "subscriptionsPerUser"
        assert refusal["extensions"]["max"] == 3
        # Completing one frees its place (its task ends soon after the message).
        await one.stop("a")
        for attempt in range(50):
            if await _subscribe_refused(two, f"e{attempt}") is None:
                break
        else:
            raise AssertionError("the completed subscription's place was not freed")
    # Ending the connections frees their subscriptions: a fresh connection gets all three.
    for _ in range(100):
        async with live(capped_server.url, token) as three:
            if all([await _subscribe_refused(three, key) is None for key in "xyz"]):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the closed connections' subscriptions were never released")


async def test_subscription_start_waits_a_bounded_time_for_the_database(
    capped_server: LiveServer, make_user: UserFactory
) -> None:
    """While the subscriptions' database turn is taken (by a flood of starts or a fan-out),
    a new start gives up after the pool timeout with SERVICE_UNAVAILABLE, not queueing."""
    admin = await make_user("cap-admin@op.example")
    token = await _token(capped_server, "cap-admin@op.example")
    limits = _services(capped_server).live_limits
    query = "subscription($h: ID!) { hotelEvents(hotelId: $h) { __typename } }"
    async with live(capped_server.url, token) as client:
        async with limits.delivery():  # the one turn is busy
            await client.subscribe("h", query, {"h": str(admin.id)})
            message = await client.next("h", wait=5.0)
        errors = message["payload"].get("errors") or message["payload"]
        assert errors[0]["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfterSeconds": 5}
        # Once the turn is free again, a start proceeds (to its own answer: no such hotel).
        await client.subscribe("again", query, {"h": str(admin.id)})
        again = await client.next("again", wait=5.0)
        codes = [e["extensions"]["code"] for e in again["payload"].get("errors", [])]
        assert codes == ["NOT_FOUND"], again


async def test_pool_timeout_is_service_unavailable(
    tiny_pool_server: LiveServer, make_user: UserFactory
) -> None:
    """Every pool connection is taken: a query waits 0.3 s, then SERVICE_UNAVAILABLE with
    retryAfterSeconds, never INTERNAL_SERVER_ERROR nor the pool's internals."""
    await make_user("pool-admin@op.example")
    token = await _token(tiny_pool_server, "pool-admin@op.example")
    engine = _services(tiny_pool_server).engine
    async with (
        httpx.AsyncClient(base_url=tiny_pool_server.url, timeout=30) as http,
        engine.connect(),
        engine.connect(),
    ):
        result = await GraphQLClient(http).execute("{ viewer { email } }", token=token)
        assert result.codes == ["SERVICE_UNAVAILABLE"]
        error = result.errors[0]
        assert error["extensions"]["retryAfterSeconds"] == 5
        assert "QueuePool" not in json.dumps(result.errors)
        # The same for a subscription's start.
        async with live(tiny_pool_server.url, token) as client:
            await client.subscribe("n", "subscription { notifications { id } }")
            message = await client.next("n", wait=5.0)
            errors = message["payload"].get("errors") or message["payload"]
            assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"]
        # And for a plain HTTP route (here a signed e-mail click link).
        links = _services(tiny_pool_server).links
        click = links.click_url(uuid.uuid4(), "https://example.com/")
        response = await http.get(click.removeprefix(links_base(tiny_pool_server)))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    # With connections free again the query answers.
    async with httpx.AsyncClient(base_url=tiny_pool_server.url, timeout=30) as http:
        viewer = (await GraphQLClient(http).execute("{ viewer { email } }", token=token)).ok()
        assert viewer == {"viewer": {"email": "pool-admin@op.example"}}
