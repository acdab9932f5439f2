"""What the layers need of tracing while it runs: whether it is on, the current trace, and its
W3C ``traceparent`` carried where a request's work continues elsewhere (a saq job).

Only the OpenTelemetry API is used here: with tracing off it has no SDK behind it, every span
is the invalid one and each helper returns at once. ``core.tracing_setup`` switches it on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode

_on = False


def enabled() -> bool:
    """Whether this process traces (``core.tracing_setup.configure_tracing`` said so)."""
    return _on


def mark_enabled() -> None:
    """Called once by the setup, after the SDK and the instrumentations are installed."""
    global _on
    _on = True


def current_trace_id() -> str | None:
    """The current trace's id as 32 hex digits (what tracing back ends search by), or None
    outside a trace: for the log lines of a request or a job."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def in_sampled_trace() -> bool:
    """Whether the current span belongs to a trace being recorded: one of this process, or
    a remote parent put back by :func:`attached`."""
    context = trace.get_current_span().get_span_context()
    return context.is_valid and context.trace_flags.sampled


def current_carrier() -> dict[str, str]:
    """The current span as W3C trace-context headers (``traceparent``, ``tracestate``), empty
    outside a recorded trace."""
    if not in_sampled_trace():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The current span's ``traceparent``, kept with work done later elsewhere (an outbox
    event), or None outside a recorded trace (always, while tracing is off)."""
    return current_carrier().get("traceparent") if _on else None


def context_from(carrier: Mapping[str, str]) -> Context | None:
    """The remote parent a carrier names, or None when it names none (a hostile or broken
    ``traceparent`` names none)."""
    if "traceparent" not in carrier:
        return None
    context = propagate.extract(dict(carrier))
    return context if trace.get_current_span(context).get_span_context().is_valid else None


@contextmanager
def attached(traceparent: str | None) -> Iterator[None]:
    """Run the block as part of the trace ``traceparent`` names (the spans it starts are its
    children); as it is, when it names none."""
    parent = context_from({"traceparent": traceparent}) if _on and traceparent else None
    if parent is None:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def continued(traceparent: str | None, name: str) -> Iterator[None]:
    """A span ``name`` continuing the trace ``traceparent`` names (work that a request left
    behind, done here later); no span when it names none."""
    parent = context_from({"traceparent": traceparent}) if _on and traceparent else None
    if parent is None:
        yield
        return
    with _tracer().start_as_current_span(name, context=parent):
        yield


@contextmanager
def linked(name: str, traceparents: Iterable[str | None]) -> Iterator[None]:
    """A span ``name`` of its own, linked to each trace ``traceparents`` names: work done for
    several requests at once (a batch of outbox events). Nothing while tracing is off."""
    if not _on:
        yield
        return
    links = []
    for traceparent in traceparents:
        parent = context_from({"traceparent": traceparent}) if traceparent else None
        if parent is not None:
            links.append(Link(trace.get_current_span(parent).get_span_context()))
    with _tracer().start_as_current_span(name, links=links):
        yield


def mark_failed(span: trace.Span, error: BaseException) -> None:
    """``span`` failed, described by the error's class only: an error's text can quote what a
    trace must not hold (a relay's answer naming its recipient, a value PostgreSQL refused),
    and nothing scrubs a span as the logs are scrubbed. For spans started with
    ``record_exception=False, set_status_on_exception=False``."""
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))


def _tracer() -> trace.Tracer:
    return trace.get_tracer("spirit_tours")
