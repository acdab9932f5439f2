"""The ``worker`` command's own /metrics, on ``SPIRIT_WORKER_METRICS_PORT``: what its jobs
count (job durations, e-mail outcomes, payment outcomes of the refund and hold jobs) and its
process metrics. The worker runs apart from the API (its own pod in Kubernetes), so the API's
/metrics cannot report it; the shared state (queue depths, undelivered mail) stays there.

Prometheus sends ``Authorization: Bearer $SPIRIT_METRICS_TOKEN``; in development a client on
this machine needs none. Nothing else is served.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spirit_tours.config import Settings
from spirit_tours.core.metrics import exposition
from spirit_tours.graphql_app import bearer_token
from spirit_tours.metrics import loopback


def metrics_app(settings: Settings) -> Starlette:
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""

    async def metrics(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if token is None and not (settings.is_development and loopback(request)):
            return PlainTextResponse(
                "Send the metrics token as a bearer token.", 401,
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )  # fmt: skip
        if token is not None and not (
            expected and hmac.compare_digest(token.encode(), expected.encode())
        ):
            return PlainTextResponse("Invalid token.", 401)
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics)])


class _QuietServer(uvicorn.Server):
    """uvicorn's server inside the worker's loop: the worker owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def metrics_server(settings: Settings) -> uvicorn.Server | None:
    """The server to run beside the jobs (``await server.serve()``; ``should_exit`` stops it),
    or None when no port is set."""
    if settings.worker_metrics_port is None:
        return None
    config = uvicorn.Config(
        metrics_app(settings),
        host=settings.worker_metrics_host,
        port=settings.worker_metrics_port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        # Not uvicorn's own logging configuration, which building the Config would apply:
        # its plain-text handlers on the uvicorn loggers would replace the worker's JSON
        # lines and their scrubbing (logs.setup) for the rest of the process.
        log_config=None,
    )
    return _QuietServer(config)
