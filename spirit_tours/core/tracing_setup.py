"""Switch OpenTelemetry tracing on for this process, when the standard ``OTEL_*`` variables ask
for it: the SDK with its exporters, and the instrumentations of Redis, httpx and our engines.

Off by default and free when off: nothing here is imported, installed or wrapped unless
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set or
``OTEL_TRACES_EXPORTER`` names an exporter, and ``OTEL_SDK_DISABLED`` is not ``true``. Each
process configures itself (the app factory in every ``serve`` worker process, the ``worker``
command), after fork or spawn: a span processor's thread does not survive a fork.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from spirit_tours.core.tracing import enabled, mark_enabled

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# The server span of these paths (probes every few seconds, Prometheus scrapes) is not taken.
# A regular expression searched in scheme://host/path, whose host is the client's Host header:
# anchored, so that a Host naming one of them ("x/healthz") does not hide a request.
UNTRACED_PATHS = r"^[a-z]+://[^/]*/(?:healthz|readyz|metrics)$"
# What a path no route knows is recorded as (a scanner's paths can hold anything).
UNMATCHED = "/{unmatched}"


def exporters_wanted(environ: Mapping[str, str]) -> list[str]:
    """The span exporters the environment names; empty: tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    if named:
        return [name for name in named if name != "none"]
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        return ["otlp"]
    return []


def configure_tracing(
    default_service_name: str,
    *,
    exporters: Sequence[SpanExporter] = (),
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Install tracing once per process if the environment asks for it (or ``exporters`` are
    given: the tests' in-memory one); whether this process traces. ``OTEL_SERVICE_NAME`` and
    ``OTEL_RESOURCE_ATTRIBUTES`` name the service, else ``default_service_name``;
    ``OTEL_TRACES_SAMPLER`` (and ``_ARG``) samples. ``environ`` is what decides whether to
    trace (tests pass their own); the SDK reads the rest from the process's environment.

    The sampler is read with the SDK's own (private, pinned) reader, so that every value
    ``OTEL_TRACES_SAMPLER`` takes means what the SDK documents."""
    if enabled():
        return True
    environ = os.environ if environ is None else environ
    wanted = exporters_wanted(environ)
    if not wanted and not exporters:
        return False

    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import _get_from_env_or_default

    resource = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service_name}))
    provider = TracerProvider(resource=resource, sampler=_within_work(_get_from_env_or_default()))
    for exporter in [*_build_exporters(wanted, environ), *exporters]:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    mark_enabled()
    log.info("tracing on: %s", resource.attributes.get(SERVICE_NAME))
    return True


def flush_tracing(timeout_millis: int = 5000) -> None:
    """Export every finished span now (at shutdown, and before a test reads its exporter)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if enabled() and force_flush is not None:
        force_flush(timeout_millis)


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace the statements of ``engine`` (their text only: SQLAlchemy's instrumentation never
    records the parameters). The engine is instrumented itself, not ``create_async_engine``:
    our modules imported that name before any setup could wrap it."""
    if not enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    unused_counter = NoOpMeter("spirit_tours").create_up_down_counter("unused")
    EngineTracer(tracer, engine.sync_engine, unused_counter)  # type: ignore[no-untyped-call]


def traced_asgi(app: Any, route_of: Callable[[dict[str, Any]], str | None]) -> Any:
    """``app`` inside OpenTelemetry's ASGI middleware: one server span per request (none per
    ASGI message), continuing the caller's ``traceparent``, named by its route (``route_of``:
    the path template, or None for an unknown path). A path's parameters (an e-mail link's
    signature), an unknown path and the query string (a GET query's variables) are not
    recorded."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    def details(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        method = str(scope.get("method") or "HTTP")
        route = route_of(scope)
        return (f"{method} {route}", {"http.route": route}) if route else (method, {})

    def redact(span: Any, scope: dict[str, Any]) -> None:
        if not span.is_recording():
            return
        attributes = getattr(span, "attributes", None) or {}
        route = route_of(scope)
        path = UNMATCHED if route is None else route if "{" in route else None
        for key in ("http.url", "url.full"):
            url = attributes.get(key)
            if isinstance(url, str):
                url = url.split("?", 1)[0]
                if path is not None:
                    url = url[: len(url) - len(str(scope.get("path", "")))] + path
                span.set_attribute(key, url)
        for key in ("http.target", "url.path"):
            if path is not None and key in attributes:
                span.set_attribute(key, path)
        if "url.query" in attributes:
            span.set_attribute("url.query", "")

    return OpenTelemetryMiddleware(
        app,
        excluded_urls=UNTRACED_PATHS,
        default_span_details=details,
        server_request_hook=redact,
        exclude_spans=["receive", "send"],  # a span per ASGI message: noise and cost
    )


def _build_exporters(names: list[str], environ: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
            )
            if protocol != "http/protobuf":
                log.warning("OTLP protocol %s is not installed: using http/protobuf", protocol)
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint, headers, timeout from OTEL_*
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        else:
            log.warning("OTEL_TRACES_EXPORTER names %r, which is not installed: ignored", name)
    return exporters


def _within_work(sampler: Sampler) -> Sampler:
    """``sampler``, except that a client span with no parent is dropped: the statements and
    Redis commands of the background loops (the outbox relay, the live hub, presence, the
    workers polling their queues) that run several times a second and belong to no request
    or job. The same calls made inside a request, an operation or a job are traced."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind

    class WithinWork(Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if kind in (SpanKind.CLIENT, SpanKind.PRODUCER):
                parent = trace.get_current_span(parent_context).get_span_context()
                if not parent.is_valid:
                    return SamplingResult(Decision.DROP)
            return sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"WithinWork{{{sampler.get_description()}}}"

    return WithinWork()
