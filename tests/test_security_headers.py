"""Security headers on every HTTP response (issue 12, finding 7): nosniff, no referrer, no
framing, a Content Security Policy suited to each page (JSON, GraphiQL and its own files, the
queue monitor, the e-mail preference page), and HSTS behind an https public URL."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid

import httpx
from starlette.requests import Request
from starlette.responses import Response

from spirit_tours.app import create_app
from spirit_tours.config import Settings
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.queueing import queue_email
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import PASSWORD, TEST_EMAIL_SECRET, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = [part.split() for part in response.headers["content-security-policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


def _assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = _policy(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "strict-transport-security" not in response.headers  # http public URL


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


async def test_json_and_plain_answers_may_load_nothing(http: httpx.AsyncClient) -> None:
    responses = [
        await http.post("/graphql", json={"query": "{ __typename }"}),
        await http.get("/healthz"),
        await http.get("/metrics"),  # 401
        await http.get("/no-such-page"),  # 404
        await http.post("/webhooks/offline", content=b"{}"),  # 404 outside development
        await http.get(f"/e/c/{uuid.uuid4()}?u=https://x.example&s=nope"),  # 400 HTML
    ]
    for response in responses:
        _assert_common(response)
        policy = _policy(response)
        assert policy["form-action"] == ["'none'"], response.url
        assert "script-src" not in policy


async def test_graphiql_may_load_exactly_its_own_scripts_and_styles(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    _assert_common(page)
    policy = _policy(page)

    sources = re.findall(r'<script\s[^>]*src="([^"]+)"', page.text)
    styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', page.text, re.DOTALL)
    assert sources
    assert styles
    assert not re.findall(r"<script>", page.text)  # no inline script to allow
    for url in sources + styles:
        assert url.startswith("/graphiql/"), url  # this server's: 'self'
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # GraphiQL's dialogs
    # Queries over HTTP and subscriptions over WebSocket to this very server.
    assert "'self'" in policy["connect-src"]
    assert live_server.url.replace("http://", "ws://") in policy["connect-src"]
    for directive, sources in policy.items():
        for source in sources:
            assert not source.startswith("https:"), (directive, source)  # no CDN, no font host


async def test_the_queue_monitor_runs_only_its_own_scripts(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example")
    token = await gql.token_for("admin@op.example", PASSWORD)
    page = await http.get("/ops/queues/", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    _assert_common(page)
    policy = _policy(page)
    (inline,) = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
    assert policy["script-src"] == ["'self'", _hash(inline)]
    assert policy["connect-src"] == ["'self'"]


async def test_the_email_preference_page_may_post_its_form_to_this_server_only(
    http: httpx.AsyncClient, sessions: SessionFactory, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        queued = await queue_email(
            session, template="newsletter", to="ana@example.com", locale="en",
            context={"name": "Ana", "headline": "News", "body": "Hello", "article_url": "https://a.example/n"},
            message_id_domain="spirit-tours.example",
        )  # fmt: skip
    assert queued is not None
    signer = LinkSigner(TEST_EMAIL_SECRET.encode(), "http://x")
    path = signer.unsubscribe_url(queued.id).removeprefix("http://x")
    page = await http.get(path)
    assert page.status_code == 200
    assert "<form" in page.text
    _assert_common(page)
    policy = _policy(page)
    assert policy["form-action"] == ["'self'"]
    assert "script-src" not in policy  # falls back to default-src 'none'


async def test_behind_an_https_public_url_browsers_are_told_to_stay_on_https(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"public_url": "https://api.spirit-tours.example"}))

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app.add_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        for response in (await client.get("/healthz"), await client.get("/broken")):
            assert response.headers["strict-transport-security"] == "max-age=31536000"
            assert response.headers["x-content-type-options"] == "nosniff"
        assert response.status_code == 500  # even Starlette's own error page has them
