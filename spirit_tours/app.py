"""The ASGI application: /graphql, health, provider webhooks, e-mail links, analytics exports,
queue monitor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from spirit_tours.config import Settings, get_settings
from spirit_tours.core.heap import settle_heap
from spirit_tours.core.metrics import mark_serving
from spirit_tours.core.tracing import enabled as tracing_enabled
from spirit_tours.core.tracing_setup import configure_tracing, flush_tracing, traced_asgi
from spirit_tours.cross_origin import CrossOrigin
from spirit_tours.dev.embedded import start_embedded
from spirit_tours.documents.persisted import PersistedDocuments
from spirit_tours.edge.body import BodyLimit
from spirit_tours.endpoints.analytics import export_report
from spirit_tours.endpoints.mail import click, open_pixel, unsubscribe
from spirit_tours.endpoints.payments import offline_checkout, webhook
from spirit_tours.graphiql.assets import ROUTE as GRAPHIQL_ROUTE
from spirit_tours.graphiql.assets import bundle, serve_asset
from spirit_tours.graphql_app import GraphQLApp
from spirit_tours.http_auth import RequireRole
from spirit_tours.jobs.monitor import MOUNT, queue_monitor, show_queues
from spirit_tours.logs.request_id import RequestIds, bind_scope
from spirit_tours.metrics import HttpMetrics, metrics
from spirit_tours.overload import pool_exhausted
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.resolvers.payments.webhooks import MAX_BODY_BYTES as WEBHOOK_MAX_BODY_BYTES
from spirit_tours.schema.build import build_schema
from spirit_tours.schema.live_render import LiveRenderer
from spirit_tours.security_headers import SecurityHeaders, serves_https
from spirit_tours.services import Services

log = logging.getLogger(__name__)
_READY_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when both PostgreSQL and Redis answer."""
    services: Services = request.app.state.services
    checks: dict[str, str] = {}

    async def database() -> None:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await services.redis.ping()  # type: ignore[misc]  # redis-py types sync and async alike

    for name, probe in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), _READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as error:
            checks[name] = f"unavailable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


class _App(Starlette):
    """Starlette with the security headers outermost, CORS next: even its own error page (a
    500) and the refusals of the middleware (a 413 from ``BodyLimit``) carry both, so a page
    of an allowed origin can read them; a preflight is answered before anything counts it."""

    def __init__(
        self, *args: Any, https: bool, live: ASGIApp, cors: dict[str, Any], **kwargs: Any
    ) -> None:
        self._https = https
        self._live = live
        self._cors = cors
        super().__init__(*args, **kwargs)
        self._with_request_ids = RequestIds(super().__call__)

    def build_middleware_stack(self) -> ASGIApp:
        stack = SecurityHeaders(
            CrossOrigin(super().build_middleware_stack(), **self._cors),
            https=self._https,
            monitor_mount=MOUNT,
        )
        # Outermost when tracing is on: the server span covers every answer, a refusal too.
        return traced_asgi(stack, self._route_of) if tracing_enabled() else stack

    def _route_of(self, scope: Scope) -> str | None:
        """The path template a request goes to (``/e/u/{message_id}/{signature}``), or None:
        what its span is named by, never the path itself."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                return str(getattr(route, "path", "")) or None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The GraphQL WebSocket goes straight to its endpoint: every middleware passes a
        WebSocket through untouched, but each would hold a suspended frame (and closures) for
        the connection's lifetime — kilobytes per idle subscriber. Its log lines carry the
        connection's request id all the same (bound here, in the connection's own task)."""
        if scope["type"] == "websocket":
            bind_scope(scope)
            if scope["path"] == "/graphql":
                scope["app"] = self
                await self._live(scope, receive, send)
                return
            await super().__call__(scope, receive, send)
            return
        await self._with_request_ids(scope, receive, send)


def body_limits(settings: Settings) -> dict[str, Any]:
    """The largest body per route: providers' webhooks, the HTML forms, then everything else."""
    return {
        "default": settings.max_body_bytes,
        "routes": [
            ("/webhooks/", WEBHOOK_MAX_BODY_BYTES),
            ("/payments/offline/", settings.max_form_bytes),
            ("/e/u/", settings.max_form_bytes),
        ],
    }


def create_serving_app() -> Starlette:
    """The factory ``spirit-tours serve`` gives uvicorn: the app of one serving process, which
    settles its heap once ready (:mod:`spirit_tours.core.heap`); tests and tools that build
    apps inside a process of their own call :func:`create_app`."""
    return create_app(settle=True)


def create_app(settings: Settings | None = None, *, settle: bool = False) -> Starlette:
    settings = (settings or get_settings()).secured()
    # Here, in each server process (uvicorn calls this factory after spawning it), before the
    # schema and the engines that tracing instruments are made. Off unless OTEL_* asks.
    configure_tracing("spirit-tours-api")
    schema = build_schema(settings)
    graphql = GraphQLApp(
        schema,
        graphiql=settings.serves_graphiql,
        persisted_documents=PersistedDocuments(
            max_documents=settings.persisted_queries_max_documents,
            max_bytes=settings.persisted_queries_max_bytes,
            max_document_bytes=settings.persisted_queries_max_document_bytes,
        ),
        allowed_origins=settings.allowed_origins,
    )

    # GraphiQL's files (its page is GET /graphql), read and checked against their manifest
    # now: a vendored file changed by hand stops the start instead of a blank page.
    graphiql_routes = []
    if settings.serves_graphiql:
        bundle()
        graphiql_routes.append(Route(GRAPHIQL_ROUTE, serve_asset, methods=["GET", "HEAD"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        urls = start_embedded(settings.data_dir, settings.database_url, settings.redis_url)
        services = Services.create(settings, urls.database_url, urls.redis_url)
        app.state.services = services
        services.fanout.renderer = LiveRenderer(schema, services)
        show_queues(services.queues.values())
        await services.start()
        mark_serving()
        if settle:
            settle_heap()
        runner = None
        if settings.run_workers or (settings.run_workers is None and settings.redis_url is None):
            from spirit_tours.jobs.worker import JobRunner

            runner = JobRunner(settings, urls.database_url, urls.redis_url)
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            await services.close()
            flush_tracing()

    return _App(
        routes=[
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/webhooks/{provider}", webhook, methods=["POST"]),
            Route("/payments/offline/{payment_id}", offline_checkout, methods=["GET", "POST"]),
            Route("/e/o/{message_id}/{signature}", open_pixel),
            Route("/e/c/{message_id}", click),
            Route("/e/u/{message_id}/{signature}", unsubscribe, methods=["GET", "POST"]),
            Route("/analytics/{report}.csv", export_report, methods=["GET", "HEAD"]),
            Mount(MOUNT, RequireRole(queue_monitor(), IsAdmin, "Spirit Tours ops")),
            *graphiql_routes,
        ],
        lifespan=lifespan,
        exception_handlers={PoolTimeout: pool_exhausted},
        middleware=[Middleware(HttpMetrics), Middleware(BodyLimit, **body_limits(settings))],
        https=serves_https(settings.public_url),
        live=graphql,
        cors={"origins": settings.allowed_origins, "max_age": settings.cors_max_age_seconds},
    )
