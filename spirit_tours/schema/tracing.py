"""The GraphQL operation's spans: strawberry's OpenTelemetry extension, made safe and cheap.

strawberry's extension records the document (inline literals included: a password written
into a ``login`` call) and every resolver's arguments, and wraps every resolver that is not a
plain attribute. This one records neither the document nor any argument or variable, only
the operation's type and name, and traces the root fields only (the mutation, the query's
entry points): below them the work is the DataLoaders' batched statements, which the SQL
instrumentation already shows under the operation. The operation's span is the current one
while it runs, so those statements are its children; from a WebSocket message (which no
HTTP server span wraps) it is the trace's root, a server span.

Added to the schema only when tracing is on (``schema.build``): off, it costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing import OpenTelemetryExtensionSync

from spirit_tours.core.tracing import mark_failed


class OperationTracing(OpenTelemetryExtensionSync):
    def on_operation(self) -> Generator[None, None, None]:
        parent = trace.get_current_span().get_span_context()
        kind = SpanKind.INTERNAL if parent.is_valid else SpanKind.SERVER
        span = self._tracer.start_span("GraphQL operation", kind=kind)
        self._span_holder[LifecycleStep.OPERATION] = span
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            otel_context.detach(token)
            self._name(span)
            span.end()

    def _name(self, span: Span) -> None:
        """``mutation login``, as the semantic conventions name it, once the document is
        parsed (a refused document keeps the generic name)."""
        execution = self.execution_context
        name = execution.operation_name
        try:
            kind = execution.operation_type.value
        except Exception:  # not parsed, or no such operation in it
            return
        span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        span.update_name(f"{kind} {name}" if name else kind)

    def filter_resolver_args(
        self, args: dict[str, Any], info: GraphQLResolveInfo[Any]
    ) -> dict[str, Any]:
        """No argument is recorded, whatever the field."""
        return {}

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: str,
        **kwargs: Any,
    ) -> Any:
        if info.path.prev is not None:  # below the root: not a span of its own
            return _next(root, info, *args, **kwargs)
        span = self._tracer.start_span(
            f"GraphQL field {info.field_name}",
            attributes={
                "graphql.field.name": info.field_name,
                "graphql.field.parent_type": info.parent_type.name,
            },
        )
        # No exception recorded, only its class: a message can quote an argument, and a
        # traceback the SQL error it was raised from.
        with trace.use_span(
            span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            try:
                result = _next(root, info, *args, **kwargs)
            except BaseException as error:
                mark_failed(span, error)
                span.end()
                raise
        if not isawaitable(result):
            span.end()
            return result

        async def finish() -> Any:
            with trace.use_span(
                span, end_on_exit=True, record_exception=False, set_status_on_exception=False
            ):
                try:
                    return await result
                except BaseException as error:
                    mark_failed(span, error)
                    raise

        return finish()
