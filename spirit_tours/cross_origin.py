"""CORS for ``/graphql``: the web front end, served from its own origin (a Vite dev server on
:5173, the production web app on its domain), may call the API from the browser.

Only the configured origins (``Settings.allowed_origins``) are answered with
``Access-Control-Allow-Origin``; a preflight from any other is refused with 400, and its page
cannot read an answer. Only ``/graphql`` takes part: webhooks, e-mail links, health and the
queue monitor are no API for web pages. A preflight is answered here, before the application,
so it costs no GraphQL work and no rate-limit points. Every answer of ``/graphql`` says
``Vary: Origin`` — it differs per origin, so no shared cache may hand one origin's to another.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/graphql"
ALLOW_METHODS = ("GET", "POST")
ALLOW_HEADERS = (
    "Authorization",  # Bearer access token
    "Content-Type",  # application/json, not one of CORS's simple types
    "Accept",  # application/graphql-response+json (graphql_media)
    "Cache-Control",  # no-cache: skip the response cache, as a hard reload does
    # Sent by Apollo Client when given a `name` and `version`.
    "apollographql-client-name",
    "apollographql-client-version",
    # W3C Trace Context and baggage, which browser tracing (OpenTelemetry, Sentry) adds.
    "traceparent",
    "tracestate",
    "baggage",
    # Sentry's browser tracing sends its own trace header beside baggage (traceparent only
    # when asked to), to the API hosts named in its tracePropagationTargets.
    "sentry-trace",
)
EXPOSE_HEADERS = (
    "X-Spirit-Cache",  # graphql_app.CACHE_HEADER: hit, miss or bypass
    "Retry-After",  # on a 429 or 503 (application/graphql-response+json)
    "X-Request-ID",  # logs.request_id: the id to quote when reporting a problem
)


class CrossOrigin:
    """ASGI middleware: Starlette's ``CORSMiddleware`` on ``/graphql`` with credentials and
    a cached preflight, plus ``Vary: Origin`` on every answer there."""

    def __init__(self, app: ASGIApp, *, origins: Collection[str], max_age: int) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=tuple(origins),
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSE_HEADERS,
            max_age=max_age,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)  # it adds Vary: Origin itself
            return

        async def varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, varying)
