"""GraphiQL in a real browser with no internet: Debian's Chromium (installed by `make install`)
driven by tests/js/graphiql.mjs (puppeteer-core) against the live server. The page loads every
file from this server (a request anywhere else is refused and fails the test), with no console
error; the login mutation runs in it, and a subscription started with the token in its headers
editor receives an announcement the test posts. Screenshots are kept in tests/artifacts/graphiql
(or $SPIRIT_TEST_ARTIFACTS/graphiql)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.live_client import listening

pytestmark = pytest.mark.slow

JS = Path(__file__).parent / "js"
ARTIFACTS = Path(os.environ.get("SPIRIT_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
STEP_SECONDS = 150.0  # the script's own waits are 120 s a step: it reports first
ANNOUNCE = """
mutation($t: String!) { postAnnouncement(input: {title: $t, body: "From the test"}) { title } }"""


def chromium() -> str:
    found = os.environ.get("SPIRIT_TEST_CHROMIUM") or shutil.which("chromium")
    assert found, (
        "Chromium is needed: `make install` installs Debian's package `chromium` when run as "
        "root; otherwise `sudo apt-get install chromium`, or set SPIRIT_TEST_CHROMIUM"
    )
    return found


class Lines:
    """The JSON lines the script prints, read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[dict[str, Any]] = []

    async def until(self, event: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(STEP_SECONDS):
                while True:
                    raw = await self.process.stdout.readline()
                    assert raw, f"the browser script ended before {event!r}: {self.seen}"
                    line: dict[str, Any] = json.loads(raw)
                    self.seen.append(line)
                    assert line["event"] != "failed", line
                    if line["event"] == event:
                        return line
        except TimeoutError:
            raise AssertionError(f"no {event!r} in {STEP_SECONDS} s: {self.seen}") from None


async def test_graphiql_works_offline_with_login_and_a_subscription(
    live_server: LiveServer, gql: GraphQLClient, make_user: UserFactory
) -> None:
    node = shutil.which("node")
    assert node, "node (>= 20) is needed: install Node.js, then `make install`"
    assert (JS / "node_modules" / "puppeteer-core").is_dir(), "run `make install` (npm ci)"
    await make_user("admin@op.example")
    title = "GraphiQL offline check"
    artifacts = ARTIFACTS / "graphiql"
    process = await asyncio.create_subprocess_exec(
        node, str(JS / "graphiql.mjs"), chromium(), live_server.url, "admin@op.example",
        PASSWORD, title, str(artifacts),
        stdout=asyncio.subprocess.PIPE, cwd=JS,
    )  # fmt: skip
    script = Lines(process)
    try:
        loaded = await script.until("loaded")
        assert loaded["status"] == 200
        assert loaded["schemaStatus"] == 200
        await script.until("signedIn")
        await script.until("subscribing")
        # The subscription listens (through the WebSocket GraphiQL opened with the headers'
        # token: announcements are for signed-in users only); then the event happens.
        await listening(live_server, {"announcements": 1}, seconds=STEP_SECONDS)
        admin = await gql.token_for("admin@op.example", PASSWORD)
        (await gql.execute(ANNOUNCE, {"t": title}, token=admin)).ok()

        received = await script.until("received")
        assert received["result"]["data"]["announcements"] == {
            "title": title,
            "body": "From the test",
        }
        done = await script.until("done")
    finally:
        if process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), STEP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
    assert done["refused"] == []  # nothing but this server was asked for anything
    assert done["consoleErrors"] == []
    assert done["pageErrors"] == []
    assert done["failed"] == []
    assert done["httpErrors"] == []
    ws = live_server.url.replace("http://", "ws://") + "/graphql"
    assert set(done["sockets"]) == {ws}  # the subscription's WebSocket, to this server
    # The login mutation's password is in the query and the token in the headers: neither
    # outlives the tab in the browser's lasting storage (GraphiQL's tabs and history).
    kept = done["localStorage"]
    assert PASSWORD not in kept
    assert "Bearer" not in kept
    for name in ("1-graphiql-loaded.png", "2-login-mutation.png", "3-subscription-event.png"):
        assert (artifacts / name).stat().st_size > 0
