"""Sign-in over HTTP: login, viewer, token expiry and tampering, rotation, logout, throttling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from spirit_tours.auth.tokens import TokenService
from spirit_tours.core.enums import Role
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import RefreshToken
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import PASSWORD, TEST_JWT_SECRET, UserFactory
from tests.graphql_client import LOGIN, GraphQLClient

VIEWER = "{ viewer { id email role locale company { name kind hotels { name city } } } }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(input: {refreshToken: $token}) { accessToken refreshToken user { email } }
}"""
LOGOUT = """
mutation Logout($token: String!, $everywhere: Boolean!) {
  logout(input: {refreshToken: $token, everywhere: $everywhere}) { revokedSessions }
}"""


async def _refresh_tokens(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(RefreshToken)) or 0)


async def test_login_then_viewer_returns_the_user(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("rosa@hotel.example", Role.HOTEL, company="Inti Hotels", hotel="Inti Palace")
    payload = await gql.login("Rosa@Hotel.example", PASSWORD)  # e-mail is case-insensitive
    assert payload["user"]["role"] == "HOTEL"

    viewer = (await gql.execute(VIEWER, token=payload["accessToken"])).ok()["viewer"]

    assert viewer["email"] == "rosa@hotel.example"
    assert viewer["company"] == {
        "name": "Inti Hotels",
        "kind": "HOTEL",
        "hotels": [{"name": "Inti Palace", "city": "Cusco"}],
    }


async def test_client_has_no_company(gql: GraphQLClient, make_user: UserFactory) -> None:
    await make_user("emma@example.com", Role.CLIENT)
    token = await gql.token_for("emma@example.com", PASSWORD)
    assert (await gql.execute(VIEWER, token=token)).ok()["viewer"]["company"] is None


async def test_wrong_password_is_refused_and_opens_no_session(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    await make_user("ana@op.example")
    for email in ("ana@op.example", "nobody@op.example"):
        result = await gql.execute(LOGIN, {"input": {"email": email, "password": "wrong-pass"}})
        assert result.data is None
        assert result.codes == ["UNAUTHENTICATED"]
        assert result.errors[0]["extensions"]["reason"] == "INVALID_CREDENTIALS"
        # The same answer for an unknown account: no account enumeration.
        assert result.errors[0]["message"] == "The e-mail or the password is wrong."
    assert await _refresh_tokens(sessions) == 0


async def test_viewer_without_token_is_unauthenticated(gql: GraphQLClient) -> None:
    result = await gql.execute(VIEWER)
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None


async def test_expired_token_is_refused_with_reason(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    user = await make_user("ana@op.example")
    tokens = TokenService(TEST_JWT_SECRET, ttl_seconds=60)
    expired = tokens.issue(
        Viewer(user.id, user.role, user.company_id), now=datetime.now(UTC) - timedelta(hours=1)
    )
    result = await gql.execute(VIEWER, token=expired.token)
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.errors[0]["extensions"]["reason"] == "TOKEN_EXPIRED"


def _tamper(token: str, **claims: str) -> str:
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def test_tampered_or_foreign_tokens_are_refused(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("maria@agency.example", Role.AGENCY, company="Andes Travel")
    token = await gql.token_for("maria@agency.example", PASSWORD)
    user = await make_user("other@op.example")
    foreign = (
        TokenService("another-secret-of-a-reasonable-length!", 60)
        .issue(Viewer(user.id, Role.ADMIN, None))
        .token
    )

    for bad in (_tamper(token, role="ADMIN"), foreign, "not-a-jwt", token[:-4] + "AAAA"):
        result = await gql.execute(VIEWER, token=bad)
        assert result.codes == ["UNAUTHENTICATED"], bad
        assert result.errors[0]["extensions"]["reason"] == "INVALID_TOKEN"


async def test_refresh_rotates_and_a_replayed_token_revokes_the_family(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    first = (await gql.login("ana@op.example", PASSWORD))["refreshToken"]

    rotated = (await gql.execute(REFRESH, {"token": first})).ok()["refreshToken"]["refreshToken"]
    assert rotated != first

    replay = await gql.execute(REFRESH, {"token": first})
    assert replay.codes == ["UNAUTHENTICATED"]
    assert replay.errors[0]["extensions"]["reason"] == "TOKEN_REUSED"
    # The thief's replay also killed the rotated token of the same family.
    assert (await gql.execute(REFRESH, {"token": rotated})).codes == ["UNAUTHENTICATED"]


async def test_logout_revokes_this_device_or_everywhere(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    laptop = (await gql.login("ana@op.example", PASSWORD))["refreshToken"]
    phone = (await gql.login("ana@op.example", PASSWORD))["refreshToken"]

    revoked = (await gql.execute(LOGOUT, {"token": laptop, "everywhere": False})).ok()
    assert revoked["logout"]["revokedSessions"] == 1
    assert (await gql.execute(REFRESH, {"token": laptop})).codes == ["UNAUTHENTICATED"]
    phone = (await gql.execute(REFRESH, {"token": phone})).ok()["refreshToken"]["refreshToken"]

    await gql.execute(LOGOUT, {"token": phone, "everywhere": True})
    assert (await gql.execute(REFRESH, {"token": phone})).codes == ["UNAUTHENTICATED"]


async def test_unknown_refresh_token_is_refused(gql: GraphQLClient) -> None:
    result = await gql.execute(REFRESH, {"token": "made-up"})
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.errors[0]["extensions"]["reason"] == "INVALID_TOKEN"


async def test_account_is_locked_after_repeated_failures(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    wrong = {"input": {"email": "ana@op.example", "password": "wrong-pass"}}
    for _ in range(5):
        assert (await gql.execute(LOGIN, wrong)).codes == ["UNAUTHENTICATED"]

    # Even the right password is refused until the window passes.
    right = {"input": {"email": "ana@op.example", "password": PASSWORD}}
    blocked = await gql.execute(LOGIN, right)
    assert blocked.codes == ["TOO_MANY_ATTEMPTS"]
    assert 0 < blocked.errors[0]["extensions"]["retryAfterSeconds"] <= 15 * 60
    # Another account from the same address is unaffected.
    await make_user("luis@op.example")
    assert (await gql.login("luis@op.example", PASSWORD))["user"]["email"] == "luis@op.example"


async def test_address_is_blocked_after_failures_across_accounts(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(30):
        wrong = {"input": {"email": f"victim{n}@op.example", "password": "guess-123"}}
        result = await gql.execute(LOGIN, wrong, headers=attacker)
        assert result.codes == ["UNAUTHENTICATED"]

    right = {"input": {"email": "ana@op.example", "password": PASSWORD}}
    assert (await gql.execute(LOGIN, right, headers=attacker)).codes == ["TOO_MANY_ATTEMPTS"]
    # The account itself is fine from another address.
    other = {"X-Forwarded-For": "198.51.100.2"}
    assert (await gql.execute(LOGIN, right, headers=other)).ok()["login"]["accessToken"]


async def test_successful_login_resets_the_account_counter(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    wrong = {"input": {"email": "ana@op.example", "password": "wrong-pass"}}
    for _ in range(4):
        await gql.execute(LOGIN, wrong)
    await gql.login("ana@op.example", PASSWORD)
    for _ in range(4):
        await gql.execute(LOGIN, wrong)
    assert (await gql.login("ana@op.example", PASSWORD))["accessToken"]
