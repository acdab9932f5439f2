"""The HTTP edge against a real uvicorn: bodies bounded in size while they stream, request heads
bounded in size, and clients that send slowly cut off, as `spirit-tours serve` runs it.

Raw sockets (asyncio streams) speak HTTP/1.1 by hand: an HTTP client library would refuse to
send what an attacker sends, or would wait politely.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import websockets
from websockets.typing import Subprotocol

from spirit_tours.config import Settings
from spirit_tours.edge.protocol import EdgeConfig, EdgeHttpToolsProtocol
from spirit_tours.edge.server import server_config
from spirit_tours.resolvers.payments.webhooks import MAX_BODY_BYTES as WEBHOOK_MAX_BODY_BYTES
from spirit_tours.security_headers import API_POLICY, HSTS, baseline_headers
from tests.conftest import LiveServer, serving

# Longer than any limit under test: a server that waits for the client fails the test instead.
ANSWER_WITHIN = 10.0
QUICK = {"request_head_timeout_seconds": 0.5, "request_body_timeout_seconds": 1.0}


@pytest.fixture(scope="module")
async def quick_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The same server with short head and body timeouts, so slow clients are cut off fast."""
    async with serving(settings.model_copy(update=QUICK)) as server:
        yield server


@contextlib.asynccontextmanager
async def connection(
    server: LiveServer,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    address = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One response (status, headers, body by Content-Length), failing if it takes too long."""

    async def read() -> tuple[int, dict[str, str], bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body

    return await asyncio.wait_for(read(), ANSWER_WITHIN)


async def closed(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (EOF, or reset while we were still sending)."""
    try:
        return await asyncio.wait_for(reader.read(), ANSWER_WITHIN) == b""
    except ConnectionResetError:
        return True


def error_of(body: bytes) -> dict[str, Any]:
    errors: list[dict[str, Any]] = json.loads(body)["errors"]
    assert len(errors) == 1
    return errors[0]["extensions"]  # type: ignore[no-any-return]


def assert_security_headers(headers: dict[str, str]) -> None:
    """The edge's own refusals carry the headers of every other response (README)."""
    expected = {name.lower(): value for name, value in baseline_headers(API_POLICY, https=False)}
    assert {name: headers.get(name) for name in expected} == expected


def request_head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: spirit.test", *headers, "", ""]
    return "\r\n".join(lines).encode()


# --- Body size ---------------------------------------------------------------------------------


async def test_a_declared_100_mb_body_is_refused_before_it_is_read(
    live_server: LiveServer, settings: Settings
) -> None:
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("POST", "/graphql", "Content-Type: application/json",
                                  f"Content-Length: {100 * 1024 * 1024}"))  # fmt: skip
        writer.write(b'{"query": "')  # and nothing more: the answer must not wait for the rest
        await writer.drain()
        status, headers, body = await read_response(reader)
        assert status == 413
        assert headers["connection"] == "close"
        assert error_of(body) == {
            "code": "BAD_REQUEST",
            "reason": "PAYLOAD_TOO_LARGE",
            "maxBytes": settings.max_body_bytes,
        }
        assert await closed(reader)


async def test_a_streamed_body_is_cut_off_at_the_limit(
    live_server: LiveServer, settings: Settings
) -> None:
    """Chunked, no Content-Length: counted as it streams, answered 413 long before its end."""
    chunk = b"x" * 64 * 1024
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("POST", "/graphql", "Content-Type: application/json",
                                  "Transfer-Encoding: chunked"))  # fmt: skip
        answer = asyncio.create_task(read_response(reader))
        sent = 0
        with contextlib.suppress(ConnectionError):
            while not answer.done() and sent < 100 * settings.max_body_bytes:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                await asyncio.sleep(0)  # let the answer in, if any
                sent += len(chunk)
        status, _, body = await answer
        assert status == 413
        assert error_of(body)["reason"] == "PAYLOAD_TOO_LARGE"
        assert sent < 100 * settings.max_body_bytes  # answered before the client gave up


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        (f"/payments/offline/{uuid.uuid4()}", "max_form_bytes"),
        (f"/e/u/{uuid.uuid4()}/signature", "max_form_bytes"),
        ("/webhooks/stripe", "webhook"),
    ],
    ids=[
        "offline-payment-form",
        "unsubscribe-form",
        "stripe-webhook",
    ],  # the same in every xdist worker
)
async def test_forms_and_webhooks_have_their_own_smaller_limits(
    live_server: LiveServer, settings: Settings, path: str, limit: str
) -> None:
    size = WEBHOOK_MAX_BODY_BYTES if limit == "webhook" else settings.max_form_bytes
    assert size < settings.max_body_bytes
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("POST", path, f"Content-Length: {size + 1}"))
        await writer.drain()
        status, _, body = await read_response(reader)
    assert status == 413
    assert error_of(body)["maxBytes"] == size


async def test_a_body_within_the_limit_is_served(live_server: LiveServer) -> None:
    query = json.dumps({"query": "{ __typename }", "padding": "x" * 200_000}).encode()
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("POST", "/graphql", "Content-Type: application/json",
                                  f"Content-Length: {len(query)}"))  # fmt: skip
        writer.write(query)
        await writer.drain()
        status, _, body = await read_response(reader)
    assert status == 200
    assert json.loads(body) == {"data": {"__typename": "Query"}}


# --- Request head size -------------------------------------------------------------------------


async def test_an_endless_header_line_is_refused(
    live_server: LiveServer, settings: Settings
) -> None:
    async with connection(live_server) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: spirit.test\r\nX-Long: ")
        answer = asyncio.create_task(read_response(reader))
        sent = 0
        with contextlib.suppress(ConnectionError):
            while not answer.done() and sent < 10 * 1024 * 1024:
                writer.write(b"a" * 8192)
                await writer.drain()
                await asyncio.sleep(0)  # let the answer in, if any
                sent += 8192
        status, headers, body = await answer
    assert status == 431
    assert error_of(body)["reason"] == "HEADERS_TOO_LARGE"
    assert_security_headers(headers)
    assert sent < 10 * 1024 * 1024  # answered (and closed) before the client gave up


async def test_too_many_headers_are_refused(live_server: LiveServer, settings: Settings) -> None:
    headers = [f"X-Filler-{n}: {'v' * 200}" for n in range(settings.max_header_bytes // 200)]
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("GET", "/healthz", *headers))
        await writer.drain()
        status, answered, body = await read_response(reader)
        assert status == 431
        assert error_of(body)["reason"] == "HEADERS_TOO_LARGE"
        assert_security_headers(answered)
        assert await closed(reader)


async def test_a_long_url_is_refused(live_server: LiveServer, settings: Settings) -> None:
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("GET", "/healthz?" + "q" * settings.max_header_bytes))
        await writer.drain()
        status, _, _ = await read_response(reader)
    assert status == 431


async def test_ordinary_headers_are_served(live_server: LiveServer) -> None:
    headers = [f"X-Filler-{n}: {'v' * 100}" for n in range(20)]
    async with connection(live_server) as (reader, writer):
        writer.write(request_head("GET", "/healthz", *headers))
        await writer.drain()
        status, _, body = await read_response(reader)
    assert (status, json.loads(body)) == (200, {"status": "ok"})


# --- Slow clients ------------------------------------------------------------------------------


async def test_a_connection_that_sends_nothing_is_closed(quick_server: LiveServer) -> None:
    """Closed without an answer (as nginx does): a client whose request crosses the close
    retries it, rather than reading a 408 it did not ask for."""
    async with connection(quick_server) as (reader, _):
        started = time.monotonic()
        assert await closed(reader)
    assert time.monotonic() - started < QUICK["request_head_timeout_seconds"] + 2


async def test_headers_sent_slowly_are_cut_off(quick_server: LiveServer) -> None:
    """Slowloris: a header byte now and then never completes the request; the deadline counts
    from the request's first byte, not from the last one."""
    async with connection(quick_server) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: spirit.test\r\n")
        answer = asyncio.create_task(read_response(reader))
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):
            while not answer.done() and time.monotonic() - started < ANSWER_WITHIN:
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.1)  # the attacker's pace, not a wait for a condition
        status, headers, body = await answer
    assert status == 408
    assert error_of(body)["reason"] == "REQUEST_TIMEOUT"
    assert_security_headers(headers)
    assert time.monotonic() - started < QUICK["request_head_timeout_seconds"] + 2


async def test_a_body_sent_slowly_is_cut_off(quick_server: LiveServer) -> None:
    async with connection(quick_server) as (reader, writer):
        writer.write(request_head("POST", "/graphql", "Content-Type: application/json",
                                  "Content-Length: 1000"))  # fmt: skip
        answer = asyncio.create_task(read_response(reader))
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):
            while not answer.done() and time.monotonic() - started < ANSWER_WITHIN:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)  # the attacker's pace
        status, headers, body = await answer
        assert await closed(reader)
    assert status == 408
    assert error_of(body)["reason"] == "REQUEST_TIMEOUT"
    assert_security_headers(headers)
    assert time.monotonic() - started < QUICK["request_body_timeout_seconds"] + 2


async def test_a_kept_alive_connection_is_not_a_slow_client(quick_server: LiveServer) -> None:
    """The deadlines count one request's sending only: a whole request, a pause longer than
    both deadlines (shorter than keep-alive), then another one on the same connection."""
    pause = max(QUICK.values()) + 0.5
    assert pause < quick_server.server.config.timeout_keep_alive
    async with connection(quick_server) as (reader, writer):
        for attempt in range(2):
            if attempt:
                await asyncio.sleep(pause)  # the client's own pace, part of the scenario
            writer.write(request_head("GET", "/healthz"))
            await writer.drain()
            status, _, _ = await read_response(reader)
            assert status == 200


async def test_the_test_server_runs_with_the_serve_configuration(
    live_server: LiveServer, settings: Settings
) -> None:
    config = live_server.server.config
    assert isinstance(config, EdgeConfig)
    assert config.http_protocol_class is EdgeHttpToolsProtocol
    assert config.max_header_bytes == settings.max_header_bytes
    assert config.h11_max_incomplete_event_size == settings.max_header_bytes


async def test_a_websocket_without_connection_init_is_closed(live_server: LiveServer) -> None:
    """graphql-transport-ws: no ``connection_init`` within 10 s closes the socket with 4408."""
    url = live_server.url.replace("http", "ws", 1) + "/graphql"
    protocol = Subprotocol("graphql-transport-ws")
    async with websockets.connect(url, subprotocols=[protocol]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed_with:
            await asyncio.wait_for(ws.recv(), 15)
    assert closed_with.value.rcvd is not None
    assert closed_with.value.rcvd.code == 4408


def test_websocket_compression_is_a_setting_that_reaches_uvicorn(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.model_fields["websocket_compression"].default is False
    assert server_config("spirit_tours.app:create_app", settings).ws_per_message_deflate is False
    monkeypatch.setenv("SPIRIT_WEBSOCKET_COMPRESSION", "true")
    configured = Settings(_env_file=None)
    assert configured.websocket_compression is True
    config = server_config("spirit_tours.app:create_app", configured, factory=True)
    assert config.ws_per_message_deflate is True


async def _negotiated_extensions(server: LiveServer) -> str | None:
    """What the server answers a client that offers permessage-deflate (as browsers do), once a
    graphql-transport-ws exchange went through on that connection."""
    url = server.url.replace("http", "ws", 1) + "/graphql"
    protocol = Subprotocol("graphql-transport-ws")
    async with websockets.connect(url, subprotocols=[protocol], compression="deflate") as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_WITHIN))
        assert ack["type"] == "connection_ack"
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


async def test_permessage_deflate_is_declined_by_default(live_server: LiveServer) -> None:
    assert live_server.server.config.ws_per_message_deflate is False
    assert await _negotiated_extensions(live_server) is None


async def test_permessage_deflate_is_negotiated_when_turned_on(settings: Settings) -> None:
    async with serving(settings.model_copy(update={"websocket_compression": True})) as server:
        assert server.server.config.ws_per_message_deflate is True
        extensions = await _negotiated_extensions(server)
    assert extensions is not None
    assert extensions.startswith("permessage-deflate")


def test_behind_https_the_edge_refusals_also_send_hsts(settings: Settings) -> None:
    https = settings.model_copy(update={"public_url": "https://api.spirit-tours.example"})
    refusal = server_config("spirit_tours.app:create_app", https, factory=True).refusal_headers
    assert f"Strict-Transport-Security: {HSTS}\r\n".encode() in refusal
    plain = server_config("spirit_tours.app:create_app", settings, factory=True).refusal_headers
    assert b"Strict-Transport-Security" not in plain
