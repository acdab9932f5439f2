"""CORS on /graphql, as a browser uses it: a React app served from another origin (a Vite dev
server, the production web app on its own domain) sends a preflight, then its request, and
may read the answer only when the server names its origin. The WebSocket's Origin check
follows the same list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from spirit_tours.config import (
    DEVELOPMENT_CORS_ORIGINS,
    Environment,
    InsecureSettingsError,
    Settings,
)
from tests.conftest import TEST_ENCRYPTION_KEYS, LiveServer, serving

APP = "https://app.spirit-tours.example"
VITE = "http://localhost:5173"
EVIL = "https://spirit-tours.example.evil.test"
MAX_AGE = 1200
PROTOCOL = Subprotocol("graphql-transport-ws")


def preflight(origin: str, headers: str = "authorization, content-type") -> dict[str, str]:
    """What a browser sends before a cross-origin POST of JSON with a bearer token."""
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


def listed(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


@pytest.fixture(scope="module")
async def app_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server whose web app lives at APP, with a rate limit small enough to notice a
    preflight that was charged."""
    update = {"cors_origins": (APP,), "cors_max_age_seconds": MAX_AGE, "rate_limit_points": 3}
    async with serving(settings.model_copy(update=update)) as server:
        yield server


@pytest.fixture
async def browser(app_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as client:
        yield client


async def test_preflight_from_an_allowed_origin_succeeds(browser: httpx.AsyncClient) -> None:
    response = await browser.options(
        "/graphql",
        headers=preflight(APP, "authorization, content-type, cache-control, traceparent"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == str(MAX_AGE)
    assert {"get", "post"} <= listed(response.headers["access-control-allow-methods"])
    allowed = listed(response.headers["access-control-allow-headers"])
    assert {"authorization", "content-type", "cache-control", "accept", "traceparent"} <= allowed
    assert "origin" in listed(response.headers["vary"])


async def test_preflight_from_another_origin_is_refused(browser: httpx.AsyncClient) -> None:
    for origin in (EVIL, VITE, "null", APP.replace("https", "http")):
        response = await browser.options("/graphql", headers=preflight(origin))
        assert response.status_code == 400, (origin, response.text)
        assert "access-control-allow-origin" not in response.headers, origin


async def test_preflight_from_a_page_with_sentry_tracing_succeeds(
    browser: httpx.AsyncClient,
) -> None:
    """Sentry's browser tracing adds sentry-trace and baggage to the API's requests."""
    headers = "authorization, baggage, content-type, sentry-trace"
    response = await browser.options("/graphql", headers=preflight(APP, headers))
    assert response.status_code == 200, response.text
    assert listed(headers) <= listed(response.headers["access-control-allow-headers"])


async def test_preflight_asking_for_an_unlisted_header_or_method_is_refused(
    browser: httpx.AsyncClient,
) -> None:
    header = await browser.options("/graphql", headers=preflight(APP, "x-forwarded-for"))
    assert header.status_code == 400
    method = {**preflight(APP), "Access-Control-Request-Method": "DELETE"}
    assert (await browser.options("/graphql", headers=method)).status_code == 400


async def test_requests_from_the_allowed_origin_can_read_the_answer(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP}
    )
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in listed(response.headers["vary"])
    exposed = listed(response.headers["access-control-expose-headers"])
    assert {"x-spirit-cache", "retry-after"} <= exposed
    # The security headers are still there.
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_requests_from_another_origin_get_no_permission(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": EVIL}
    )
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in listed(response.headers["vary"])


async def test_every_graphql_answer_varies_by_origin(browser: httpx.AsyncClient) -> None:
    """Without an Origin too: a shared cache must not hand that answer to a page."""
    response = await browser.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200
    assert "origin" in listed(response.headers["vary"])


async def test_refusals_carry_the_permission_so_the_app_can_read_them(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    """A 400 of the GraphQL endpoint and a 413 of the body limit (a middleware) alike."""
    bad = await browser.post(
        "/graphql",
        content=b"{not json",
        headers={"Origin": APP, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.headers["access-control-allow-origin"] == APP
    huge = {"query": "{ __typename }", "variables": {"x": "y" * settings.max_body_bytes}}
    too_large = await browser.post("/graphql", json=huge, headers={"Origin": APP})
    assert too_large.status_code == 413
    assert too_large.headers["access-control-allow-origin"] == APP


async def test_preflights_cost_no_rate_limit_points(browser: httpx.AsyncClient) -> None:
    """The server allows 3 points a minute: 50 preflights, then the query still runs."""
    for _ in range(50):
        assert (await browser.options("/graphql", headers=preflight(APP))).status_code == 200
    response = await browser.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_only_graphql_takes_part(browser: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/metrics", "/webhooks/stripe"):
        response = await browser.options(path, headers=preflight(APP))
        assert "access-control-allow-origin" not in response.headers, path
        answer = await browser.get(path, headers={"Origin": APP})
        assert "access-control-allow-origin" not in answer.headers, path


async def _handshake(server: LiveServer, origin: str) -> None:
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL], origin=Origin(origin)) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"


async def test_websocket_from_the_allowed_origin_is_accepted(app_server: LiveServer) -> None:
    await _handshake(app_server, APP)


async def test_websocket_from_another_origin_is_refused(app_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await _handshake(app_server, EVIL)
    assert refused.value.response.status_code == 403


# --- The defaults ----------------------------------------------------------------------------


async def test_no_origin_is_allowed_by_default_outside_development(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    """The tests' server runs with the defaults of a non-development environment."""
    for origin in (VITE, APP):
        response = await http.options("/graphql", headers=preflight(origin))
        assert response.status_code == 400, origin
        assert "access-control-allow-origin" not in response.headers
    with pytest.raises(InvalidStatus):
        await _handshake(live_server, VITE)
    assert Settings(env=Environment.PRODUCTION).allowed_origins == ()


async def test_development_allows_the_local_dev_servers(settings: Settings, tmp_path: Path) -> None:
    development = settings.model_copy(
        update={
            "env": Environment.DEVELOPMENT,
            "data_dir": tmp_path,  # where development keeps the secrets it generates
        }
    )
    async with serving(development) as server, httpx.AsyncClient(base_url=server.url) as http:
        for origin in (
            "http://localhost:5173",
            "http://127.0.0.1:5173",
            "http://localhost:3000",
            "http://127.0.0.1:3000",
        ):
            response = await http.options("/graphql", headers=preflight(origin))
            assert response.status_code == 200, (origin, response.text)
            assert response.headers["access-control-allow-origin"] == origin
        for origin in (APP, "http://localhost:8081", "http://192.168.1.20:5173"):
            response = await http.options("/graphql", headers=preflight(origin))
            assert response.status_code == 400, origin
        await _handshake(server, VITE)


# --- The setting -----------------------------------------------------------------------------


def test_origins_are_read_as_browsers_send_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SPIRIT_CORS_ORIGINS", " https://App.Spirit-Tours.example:443/ ,http://localhost:5173"
    )
    assert Settings().cors_origins == (APP, VITE)
    monkeypatch.setenv("SPIRIT_CORS_ORIGINS", json.dumps([APP, "http://[::1]:5173"]))
    assert Settings().cors_origins == (APP, "http://[::1]:5173")
    # An empty list turns even development's default off.
    monkeypatch.setenv("SPIRIT_CORS_ORIGINS", "[]")
    assert Settings(env=Environment.DEVELOPMENT).allowed_origins == ()
    monkeypatch.delenv("SPIRIT_CORS_ORIGINS")
    assert Settings(env=Environment.DEVELOPMENT).allowed_origins == DEVELOPMENT_CORS_ORIGINS


@pytest.mark.parametrize(
    "value",
    ["*", "https://app.example/graphql", "app.example", "ftp://app.example", "https://", "[1]"],
)
def test_what_is_no_origin_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SPIRIT_CORS_ORIGINS", value)
    with pytest.raises(ValueError, match="SPIRIT_CORS_ORIGINS"):
        Settings()


def test_production_refuses_plain_http_origins_but_this_machine() -> None:
    def production(*origins: str) -> Settings:
        keys = SecretStr(TEST_ENCRYPTION_KEYS)
        return Settings(env=Environment.PRODUCTION, encryption_keys=keys, cors_origins=origins)

    with pytest.raises(InsecureSettingsError, match=r"http://app\.example must be https"):
        production("http://app.example", APP).check_secrets(serving=False)
    production(APP, "http://localhost:5173", "http://127.0.0.1:3000").check_secrets(serving=False)
