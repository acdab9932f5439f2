"""What the layers need of tracing while it runs: whether it is on, the current trace, and its
W3C ``traceparent`` carried where a request's work continues elsewhere (a saq job).

Only the OpenTelemetry API is used here: with tracing off it has no SDK behind it, every span
is the invalid one and each helper returns at once. ``core.tracing_setup`` switches it on.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context

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


def current_carrier() -> dict[str, str]:
    """The current span as W3C trace-context headers (``traceparent``, ``tracestate``), empty
    when no span is being recorded."""
    if not trace.get_current_span().is_recording():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str]) -> Context | None:
    """The remote parent a carrier names, or None when it names none (a hostile or broken
    ``traceparent`` names none)."""
    if "traceparent" not in carrier:
        return None
    context = propagate.extract(dict(carrier))
    return context if trace.get_current_span(context).get_span_context().is_valid else None
