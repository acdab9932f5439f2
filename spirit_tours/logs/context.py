"""The ids every log line carries: the request's (bound per request, per WebSocket connection,
per job) and the trace's (read from OpenTelemetry's current span when it is installed)."""

from __future__ import annotations

from typing import Any

import structlog
from structlog.typing import EventDict

REQUEST_ID = "request_id"

try:
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - opentelemetry-api is a dependency; kept optional here
    _trace = None  # type: ignore[assignment]


def bind_request_id(request_id: str) -> None:
    """Every log line written from here on by this task (and the tasks it starts) carries it."""
    structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})


def current_request_id() -> str | None:
    """The request id bound in this task, if any (to pass on to the jobs it enqueues)."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else None


def trace_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the active span (W3C hex), or nothing without one."""
    if _trace is None:
        return {}
    context = _trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def add_trace_ids(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog processor: the active span's ids, unless the event names its own."""
    for key, value in trace_ids().items():
        event.setdefault(key, value)
    return event
