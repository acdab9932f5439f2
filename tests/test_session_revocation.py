"""Signing out ends the access tokens too (issue 12, finding 7): logout, logout everywhere, a
password reset and a replayed refresh token each refuse the access tokens of the sessions they
end, over HTTP, on /ops/queues and /metrics, and close their open WebSockets with 4401."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from spirit_tours.auth.revocation import SessionRevocations
from spirit_tours.config import Settings
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.resolvers.password_reset import reset_token
from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient, Result
from tests.live_client import live

VIEWER = "{ viewer { email } }"
REFRESH = """
mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }"""
LOGOUT = """
mutation($t: String!, $e: Boolean!) { logout(input: {refreshToken: $t, everywhere: $e}) {
  revokedSessions } }"""
RESET = """
mutation($t: String!, $p: String!) { resetPassword(input: {token: $t, newPassword: $p}) }"""


def _revoked(result: Result) -> bool:
    return (
        result.codes == ["UNAUTHENTICATED"]
        and result.errors[0]["extensions"].get("reason") == "TOKEN_REVOKED"
    )


async def test_logout_ends_this_devices_access_token_and_everywhere_ends_all(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    laptop = await gql.login("ana@op.example", PASSWORD)
    phone = await gql.login("ana@op.example", PASSWORD)
    tablet = await gql.login("ana@op.example", PASSWORD)

    (await gql.execute(LOGOUT, {"t": laptop["refreshToken"], "e": False})).ok()

    assert _revoked(await gql.execute(VIEWER, token=laptop["accessToken"]))
    assert (await gql.execute(VIEWER, token=phone["accessToken"])).ok()  # another device
    # A token issued by a refresh belongs to the same session as the refresh token.
    rotated = (await gql.execute(REFRESH, {"t": phone["refreshToken"]})).ok()["refreshToken"]
    assert (await gql.execute(VIEWER, token=rotated["accessToken"])).ok()

    everywhere = await gql.execute(LOGOUT, {"t": rotated["refreshToken"], "e": True})
    assert everywhere.ok()["logout"]["revokedSessions"] == 2  # the phone and the tablet
    for token in (phone["accessToken"], rotated["accessToken"], tablet["accessToken"]):
        assert _revoked(await gql.execute(VIEWER, token=token))
    fresh = await gql.login("ana@op.example", PASSWORD)  # signing in again works
    assert (await gql.execute(VIEWER, token=fresh["accessToken"])).ok()


async def test_a_replayed_refresh_token_ends_the_access_tokens_of_its_family(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    first = await gql.login("ana@op.example", PASSWORD)
    rotated = (await gql.execute(REFRESH, {"t": first["refreshToken"]})).ok()["refreshToken"]
    other = await gql.login("ana@op.example", PASSWORD)

    replay = await gql.execute(REFRESH, {"t": first["refreshToken"]})  # the thief's copy

    assert replay.errors[0]["extensions"]["reason"] == "TOKEN_REUSED"
    assert _revoked(await gql.execute(VIEWER, token=first["accessToken"]))
    assert _revoked(await gql.execute(VIEWER, token=rotated["accessToken"]))
    assert (await gql.execute(VIEWER, token=other["accessToken"])).ok()  # another session


async def test_a_password_reset_ends_every_access_token(
    settings: Settings, gql: GraphQLClient, make_user: UserFactory
) -> None:
    user = await make_user("ana@example.com")
    before = await gql.login("ana@example.com", PASSWORD)
    secret = settings.jwt_secret.get_secret_value().encode()
    token = reset_token(secret, user, datetime.now(UTC) + timedelta(minutes=5))

    assert (await gql.execute(RESET, {"t": token, "p": "a brand new secret"})).ok()

    assert _revoked(await gql.execute(VIEWER, token=before["accessToken"]))
    after = await gql.login("ana@example.com", "a brand new secret")
    assert (await gql.execute(VIEWER, token=after["accessToken"])).ok()


async def test_other_endpoints_refuse_a_signed_out_token(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example")
    session = await gql.login("admin@op.example", PASSWORD)
    bearer = {"Authorization": f"Bearer {session['accessToken']}"}
    assert (await http.get("/ops/queues/", headers=bearer)).status_code == 200
    assert (await http.get("/metrics", headers=bearer)).status_code == 200

    (await gql.execute(LOGOUT, {"t": session["refreshToken"], "e": False})).ok()

    assert (await http.get("/ops/queues/", headers=bearer)).status_code == 401
    assert (await http.get("/metrics", headers=bearer)).status_code == 401


async def test_a_signed_out_sessions_websocket_is_closed_with_4401(
    live_server: LiveServer, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    laptop = await gql.login("ana@op.example", PASSWORD)
    phone = await gql.login("ana@op.example", PASSWORD)
    async with (
        live(live_server.url, laptop["accessToken"]) as signed_out,
        live(live_server.url, phone["accessToken"]) as still_in,
    ):
        (await gql.execute(LOGOUT, {"t": laptop["refreshToken"], "e": False})).ok()

        await asyncio.wait_for(signed_out.ws.wait_closed(), 10)
        with pytest.raises(ConnectionClosed) as closed:
            await signed_out.ws.recv()
        # The sweep that closed it checked every session of this process: the other stayed.
        assert still_in.ws.close_code is None
        await asyncio.wait_for(await still_in.ws.ping(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_without_redis_tokens_are_accepted_but_signing_out_is_refused() -> None:
    """The check fails open (like every bearer-token use during an outage); revoking fails
    closed, so a sign-out is never reported done when it was not recorded."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redis = Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    revocations = SessionRevocations(redis, 900)
    try:
        await revocations.check(uuid.uuid4())  # accepted: signature and expiry still hold
        with pytest.raises(DomainError) as refused:
            await revocations.revoke([uuid.uuid4()])
        await revocations.revoke([uuid.uuid4()], best_effort=True)  # logged only
    finally:
        await redis.aclose()
    assert refused.value.code == ErrorCode.SERVICE_UNAVAILABLE
    assert refused.value.details["retryAfterSeconds"] > 0
