"""/metrics for Prometheus: this process's HTTP traffic, plus the shared state read at scrape
time (job queues from Redis, undelivered mail and unpublished events from PostgreSQL), so any
process answers the same for those.

With ``serve --workers N`` whichever process answers reports the sum over all of them
(prometheus_client's multiprocess mode, ``core.metrics``); the shared state is read once, by
that process.

Who may read it: Prometheus with ``Authorization: Bearer $SPIRIT_METRICS_TOKEN``, an ADMIN's
access token, and in development any client on this machine (loopback). Queue depths and mail
counts tell an outsider how busy the business is, so nobody else.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spirit_tours.core.enums import EmailStatus
from spirit_tours.core.errors import DomainError
from spirit_tours.core.metrics import PROCESS, exposition
from spirit_tours.graphql_app import bearer_token
from spirit_tours.persistence.emails import EmailMessage
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.services import Services

_ROUTES = ("/graphql", "/graphiql", "/webhooks", "/payments", "/e/", "/ops/queues", "/healthz",
           "/readyz", "/metrics")  # fmt: skip

REQUESTS = Counter(
    "spirit_http_requests", "HTTP requests answered", ["method", "route", "status"],
    registry=PROCESS,
)  # fmt: skip
LATENCY = Histogram(
    "spirit_http_request_duration_seconds", "Time to answer an HTTP request", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=PROCESS,
)  # fmt: skip


def route_of(path: str) -> str:
    """A bounded label: the route family, never the raw path (ids would explode it)."""
    return next((route.rstrip("/") for route in _ROUTES if path.startswith(route)), "other")


class HttpMetrics:
    """ASGI middleware counting HTTP requests (WebSockets are not requests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = route_of(scope["path"])
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


async def _shared_state(services: Services) -> CollectorRegistry:
    registry = CollectorRegistry()
    depth = Gauge("spirit_job_queue_jobs", "Jobs in a saq queue", ["queue", "state"],
                  registry=registry)  # fmt: skip
    for name, queue in services.queues.items():
        info = await queue.info()
        depth.labels(name, "queued").set(info["queued"])
        depth.labels(name, "active").set(info["active"])
        depth.labels(name, "scheduled").set(max(info["scheduled"], 0))
    mail = Gauge("spirit_email_messages", "E-mail not (yet) delivered, by status", ["status"],
                 registry=registry)  # fmt: skip
    async with services.sessions() as session:
        rows = await session.execute(
            select(EmailMessage.status, func.count())
            .where(EmailMessage.status.in_(PENDING))
            .group_by(EmailMessage.status)
        )
        counts = dict(rows.all())  # not dict(rows): a Result has keys()
        unpublished = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.position.is_(None))
        )
    for status in PENDING:
        mail.labels(status.value).set(counts.get(status, 0))
    Gauge("spirit_outbox_unpublished_events", "Domain events the relay has not published yet",
          registry=registry).set(unpublished or 0)  # fmt: skip
    return registry


# Cheap to count (partial indexes); SENT and SUPPRESSED grow for ever and are in emailStats.
PENDING = (EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.FAILED)


def loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def _refusal(request: Request, services: Services) -> Response | None:
    """None when the caller may read the metrics, else the 401/403 to answer."""
    settings = services.settings
    token = bearer_token(request.headers.get("authorization"))
    challenge = {"WWW-Authenticate": 'Bearer realm="metrics"'}
    if token is None:
        if settings.is_development and loopback(request):
            return None
        return PlainTextResponse("Send the metrics token as a bearer token.", 401, challenge)
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return None
    try:
        claims = await services.authenticate(token)
    except DomainError:
        return PlainTextResponse("Invalid token.", 401, challenge)
    return None if claims.viewer.is_admin else PlainTextResponse("Forbidden.", 403)


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    refusal = await _refusal(request, services)
    if refusal is not None:
        return refusal
    body = exposition() + generate_latest(await _shared_state(services))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
