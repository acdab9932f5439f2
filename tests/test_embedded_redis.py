"""The login throttle on the embedded server `make run` uses (Valkey, not the suite's Redis):
with the old embedded Redis 6.2 every failed login was an INTERNAL_SERVER_ERROR naming a Redis
key (``EXPIRE … NX`` needs 7), nothing was counted, and a wrong Basic password on /ops/queues/
was an HTTP 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spirit_tours.config import Settings
from spirit_tours.dev.embedded import EmbeddedRedis
from tests.conftest import PASSWORD, UserFactory, serving
from tests.graphql_client import LOGIN, GraphQLClient

pytestmark = pytest.mark.slow  # an embedded Valkey of its own


async def test_failed_logins_on_the_embedded_server_are_refused_and_counted(
    settings: Settings, make_user: UserFactory, tmp_path: Path
) -> None:
    await make_user("ana@op.example")
    embedded = EmbeddedRedis(tmp_path)
    redis_url = embedded.start()
    try:
        own = settings.model_copy(update={"redis_url": redis_url})
        async with (
            serving(own) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            gql = GraphQLClient(http)
            monitor = await http.get("/ops/queues/", auth=("ana@op.example", "wrong-pass"))
            assert monitor.status_code == 401
            wrong = {"input": {"email": "ana@op.example", "password": "wrong-pass"}}
            for _ in range(4):  # the fifth failure, with the monitor's, reaches the limit
                result = await gql.execute(LOGIN, wrong)
                assert result.codes == ["UNAUTHENTICATED"]
                assert result.errors[0]["extensions"]["reason"] == "INVALID_CREDENTIALS"
            right = {"input": {"email": "ana@op.example", "password": PASSWORD}}
            blocked = await gql.execute(LOGIN, right)
            assert blocked.codes == ["TOO_MANY_ATTEMPTS"]
            assert blocked.errors[0]["extensions"]["retryAfterSeconds"] > 0
    finally:
        embedded.stop()
    assert not embedded.responds()
