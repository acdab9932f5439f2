"""The reference graphql-ws client (the one Apollo and urql use; tests/js, installed by `make
install`) against the live server, as an app configures it: default retry policy, and
``connectionParams`` that fetch a fresh access token. An expired token (close 4403) is retried
by the client itself and the subscription goes on; a signed-out session (close 4401) is not."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from spirit_tours.config import Settings
from spirit_tours.graphql_app import SESSION_ENDED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_CODE
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, relayed, room_of
from tests.quotation_flows import make_world, open_quotation, submit

pytestmark = pytest.mark.slow

JS = Path(__file__).parent / "js"
ACCESS_TOKEN_TTL = 5  # seconds: the first connection ends this soon after it signs in

ROOM = """
subscription($q: ID!) {
  quotationEvents(quotationId: $q) {
    __typename
    ... on OfferChanged { kind offer { netPrice { amount } hotel { name } } }
  }
}"""
INBOX = "subscription { notifications { id kind } }"
LOGOUT = """
mutation($t: String!) { logout(input: {refreshToken: $t, everywhere: true}) { revokedSessions } }"""

Line = dict[str, Any]


class NodeClient:
    """The JSON lines printed by tests/js/subscribe.mjs, read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[Line] = []

    async def until(self, wanted: str | Callable[[Line], bool], wait: float = 10.0) -> Line:
        """The next line (after the ones already returned) of event ``wanted``, or for which
        ``wanted`` is true."""
        matches = wanted if callable(wanted) else (lambda line: line["event"] == wanted)
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(wait):
                while True:
                    raw = await self.process.stdout.readline()
                    assert raw, f"the client exited first; it printed {self.lines}"
                    line: Line = json.loads(raw)
                    self.lines.append(line)
                    if matches(line):
                        return line
        except TimeoutError:
            failure = f"no {wanted} in {wait} s; the client printed {self.lines}"
            raise AssertionError(failure) from None

    def events(self, name: str) -> list[Line]:
        return [line for line in self.lines if line["event"] == name]


@contextlib.asynccontextmanager
async def graphql_ws(
    server: LiveServer, email: str, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[NodeClient]:
    node = shutil.which("node")
    assert node, "node (>= 20) is needed: install Node.js, then `make install`"
    assert (JS / "node_modules" / "graphql-ws").is_dir(), "run `make install` (npm ci in tests/js)"
    process = await asyncio.create_subprocess_exec(
        node, str(JS / "subscribe.mjs"), server.url, email, PASSWORD, query,
        json.dumps(variables or {}),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=JS,
    )  # fmt: skip
    client = NodeClient(process)
    try:
        yield client
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the script disposes of its client and exits
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


def is_offer(line: Line) -> bool:
    if line["event"] != "next":
        return False
    event: dict[str, Any] = line["result"]["data"]["quotationEvents"]
    return bool(event["__typename"] == "OfferChanged")


async def test_an_expired_token_is_retried_by_graphql_ws_with_a_fresh_one(
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    settings: Settings,
    sessions: SessionFactory,
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    # A second server sharing the database and Redis, whose access tokens last seconds (the
    # setting's floor, 30 s, is for operators; model_copy does not validate).
    short_lived = settings.model_copy(update={"access_token_ttl_seconds": ACCESS_TOKEN_TTL})
    async with (
        serving(short_lived) as server,
        graphql_ws(server, world.admin.email, ROOM, {"q": quotation}) as client,
    ):
        assert (await client.until("connected"))["retrying"] is False
        await listening(server, {room_of(quotation): 1})

        closed = await client.until("closed", wait=ACCESS_TOKEN_TTL + 5)
        assert closed["code"] == TOKEN_EXPIRED_CLOSE_CODE == 4403
        assert closed["reason"] == "Access token expired"
        # The default retry policy reconnects (after its backoff of 1.3 to 4 s, long after the
        # server dropped the old subscription) and asks connectionParams for a new token.
        assert (await client.until("connected", wait=10))["retrying"] is True
        await listening(server, {room_of(quotation): 1})

        await submit(gql, world.hotels[0], quotation, "900.00")
        offer = (await client.until(is_offer))["result"]["data"]["quotationEvents"]
        assert offer["offer"] == {
            "netPrice": {"amount": "900.00"},
            "hotel": {"name": "Inti Palace"},
        }

    print(*client.lines, sep="\n")  # shown when the test fails
    calls = client.events("connectionParams")
    assert [call["via"] for call in calls[:2]] == ["login", "refresh"]
    assert [line["retrying"] for line in client.events("connecting")][:2] == [False, True]
    assert not client.events("error"), "the subscription went on"


async def test_graphql_ws_reconnects_after_a_server_restart_and_receives_later_events(
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    settings: Settings,
    sessions: SessionFactory,
) -> None:
    """The server process goes away under a subscribed client (a deploy, a crash) and comes
    back on the same address: the client's retry policy (``retryAttempts``) reconnects, signs
    in again, subscribes again, and the events published after that reach it."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    first = serving(settings)
    server: LiveServer | None = await first.__aenter__()
    try:
        assert server is not None
        async with graphql_ws(server, world.admin.email, ROOM, {"q": quotation}) as client:
            assert (await client.until("connected"))["retrying"] is False
            await listening(server, {room_of(quotation): 1})
            await submit(gql, world.hotels[0], quotation, "900.00")
            before = (await client.until(is_offer))["result"]["data"]["quotationEvents"]
            assert before["offer"]["netPrice"] == {"amount": "900.00"}

            port = int(server.url.rsplit(":", 1)[1])
            server = None
            await first.__aexit__(None, None, None)  # the process is gone: sockets close
            closed = await client.until("closed")
            async with serving(settings, port=port) as again:
                assert (await client.until("connected", wait=20))["retrying"] is True
                await listening(again, {room_of(quotation): 1})
                await submit(gql, world.hotels[1], quotation, "850.00")
                after = (await client.until(is_offer))["result"]["data"]["quotationEvents"]
                assert after["offer"]["netPrice"] == {"amount": "850.00"}
    finally:
        if server is not None:
            await first.__aexit__(None, None, None)

    print(*client.lines, sep="\n")  # shown when the test fails
    assert closed["code"] == 1012  # uvicorn going away: "service restart", not a refusal
    assert [line["retrying"] for line in client.events("connecting")][:2] == [False, True]
    assert [call["via"] for call in client.events("connectionParams")][:2] == ["login", "refresh"]
    assert not client.events("error"), "the subscription went on"


async def test_a_signed_out_session_is_not_retried_by_graphql_ws(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    await make_user("ana@op.example")
    async with graphql_ws(live_server, "ana@op.example", INBOX) as client:
        await client.until("connected")
        # Signed out everywhere from another device: the client's session ends too.
        other_device = await gql.login("ana@op.example", PASSWORD)
        (await gql.execute(LOGOUT, {"t": other_device["refreshToken"]})).ok()

        closed = await client.until("closed")
        assert closed["code"] == SESSION_ENDED_CLOSE_CODE == 4401
        assert closed["reason"] == "Session ended"
        # graphql-ws hands the close event to the subscription only when it gives up on it.
        error = await client.until("error")
        assert error["code"] == 4401
        assert error["connectionParamsCalls"] == 1

    print(*client.lines, sep="\n")
    assert len(client.events("connecting")) == 1
    assert len(client.events("connectionParams")) == 1
