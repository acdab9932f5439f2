"""Password reset by e-mail: the HIGH-priority mail carries a link whose token works once,
expires, signs the user out everywhere, and reveals nothing about unknown addresses."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from spirit_tours.config import Settings
from spirit_tours.core.enums import Locale, Role
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import PASSWORD, UserFactory
from tests.email_flows import Inbox, parts, running_jobs, settled, smtp, until
from tests.graphql_client import LOGIN, GraphQLClient

__all__ = ["smtp"]

REQUEST = "mutation($e: String!) { requestPasswordReset(email: $e) }"
RESET = """
mutation($t: String!, $p: String!) { resetPassword(input: {token: $t, newPassword: $p}) }"""
REFRESH = """
mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken } }"""


def _token(inbox: Inbox, address: str) -> str:
    (message,) = inbox.to(address)
    link = re.search(r"https?://[^\s)]+reset-password\?token=[^\s)]+", parts(message)["text/plain"])
    assert link is not None
    return parse_qs(urlsplit(link.group(0)).query)["token"][0]


async def test_a_reset_link_works_once_and_signs_the_user_out_everywhere(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    await make_user("ana@example.com", Role.CLIENT, locale=Locale.PT)
    session = await gql.login("ana@example.com", PASSWORD)
    async with running_jobs(settings, port) as runner:
        assert (await gql.execute(REQUEST, {"e": " ANA@example.com "})).ok() == {
            "requestPasswordReset": True
        }
        assert (await gql.execute(REQUEST, {"e": "ana@example.com"})).ok()  # same minute
        assert (await gql.execute(REQUEST, {"e": "nobody@example.com"})).ok() == {
            "requestPasswordReset": True  # unknown addresses learn nothing
        }
        await until(lambda: inbox.to("ana@example.com"), 20, "the reset mail")
        await settled(runner, sessions)
    assert inbox.to("nobody@example.com") == []
    assert len([m for m in inbox.to("ana@example.com") if "reset-password" in str(m)]) == 1
    reset_mail = next(m for m in inbox.to("ana@example.com") if "reset-password" in str(m))
    assert reset_mail["Content-Language"] == "pt"
    assert "/e/c/" not in str(reset_mail)  # the token never travels through a tracked link
    assert "/e/o/" not in str(reset_mail)
    inbox.received = [reset_mail]
    token = _token(inbox, "ana@example.com")

    short = await gql.execute(RESET, {"t": token, "p": "short"})
    assert short.codes == ["BAD_USER_INPUT"]
    assert short.errors[0]["extensions"]["field"] == "newPassword"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (tampered, "garbage", f"{token}x"):
        refused = await gql.execute(RESET, {"t": bad, "p": "a brand new secret"})
        assert refused.codes == ["BAD_USER_INPUT"], bad
        assert refused.errors[0]["extensions"]["field"] == "token"
    assert (await gql.login("ana@example.com", PASSWORD))["accessToken"]  # nothing changed

    assert (await gql.execute(RESET, {"t": token, "p": "a brand new secret"})).ok() == {
        "resetPassword": True
    }
    again = await gql.execute(RESET, {"t": token, "p": "another new secret"})
    assert again.codes == ["BAD_USER_INPUT"]  # the token worked once
    old = await gql.execute(LOGIN, {"input": {"email": "ana@example.com", "password": PASSWORD}})
    assert old.codes == ["UNAUTHENTICATED"]
    assert (await gql.login("ana@example.com", "a brand new secret"))["accessToken"]
    revoked = await gql.execute(REFRESH, {"r": session["refreshToken"]})
    assert revoked.codes == ["UNAUTHENTICATED"]  # signed out everywhere


async def test_an_expired_reset_link_is_refused(
    settings: Settings, sessions: SessionFactory, gql: GraphQLClient, make_user: UserFactory
) -> None:
    from datetime import UTC, datetime, timedelta

    from spirit_tours.resolvers.password_reset import reset_token

    user = await make_user("ana@example.com", Role.CLIENT)
    secret = settings.jwt_secret.get_secret_value().encode()
    expired = reset_token(secret, user, datetime.now(UTC) - timedelta(seconds=1))
    refused = await gql.execute(RESET, {"t": expired, "p": "a brand new secret"})
    assert refused.codes == ["BAD_USER_INPUT"]
    assert (await gql.login("ana@example.com", PASSWORD))["accessToken"]
