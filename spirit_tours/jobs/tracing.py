"""A job continues the trace of whoever queued it: the enqueue writes the W3C trace context
into the saq job's ``meta`` (under a producer span), and the worker runs the job's function
under a consumer span whose parent is that context. A job queued outside any trace (a cron
run) starts a trace of its own. Nothing of this runs while tracing is off."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from spirit_tours.core.tracing import (
    context_from,
    current_carrier,
    in_sampled_trace,
    mark_failed,
)

TRACE_META = "trace"  # the job's meta key holding its trace context
_tracer = trace.get_tracer("spirit_tours.jobs")

JobFunction = Callable[..., Awaitable[Any]]


@contextmanager
def enqueue_span(function: str, queue: str) -> Iterator[dict[str, str]]:
    """Around an enqueue made inside a trace: the carrier to store in the job (empty outside
    one, so that polling loops leave no orphan spans)."""
    if not in_sampled_trace():
        yield {}
        return
    with _tracer.start_as_current_span(
        f"send {function}",
        kind=SpanKind.PRODUCER,
        attributes=_attributes(function, queue, "send"),
    ):
        yield current_carrier()


def traced(function: JobFunction) -> JobFunction:
    """``function`` (a saq job's entry point) run under the job's consumer span."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx["job"]
        carrier = (job.meta or {}).get(TRACE_META) or {}
        parent = context_from(carrier) if isinstance(carrier, dict) else None
        queue = job.queue.name if job.queue is not None else ""
        attributes = _attributes(job.function, queue, "process")
        attributes["messaging.message.id"] = job.key
        attributes["spirit.job.attempt"] = job.attempts
        with _tracer.start_as_current_span(
            f"process {job.function}", context=parent, kind=SpanKind.CONSUMER,
            attributes=attributes, record_exception=False, set_status_on_exception=False,
        ) as span:  # fmt: skip
            try:
                return await function(ctx, **kwargs)
            except BaseException as error:
                mark_failed(span, error)  # saq logs the error, scrubbed like every line
                raise

    return run


def _attributes(function: str, queue: str, operation: str) -> dict[str, Any]:
    return {
        "messaging.system": "saq",
        "messaging.destination.name": queue,
        "messaging.operation.type": operation,
        "spirit.job.function": function,
    }
