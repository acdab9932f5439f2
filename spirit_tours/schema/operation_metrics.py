"""GraphQL operations for Prometheus: how long each took and which error codes it ended with,
by operation name, over HTTP and WebSocket.

The operation name comes from the client, so it is a label only once the document passed
validation (the name then belongs to a valid operation of our schema), and only for the first
:data:`MAX_OPERATION_NAMES` names a process meets, each at most :data:`MAX_NAME_LENGTH`
characters; any other is ``other``. A client inventing names can so add at most that many
series per process. An operation without a name is ``anonymous``; a document that did not
parse or validate is ``invalid`` (its errors still count, under their code).

Answers the response cache serves are not operations here (they run nothing; see
``spirit_response_cache_lookups_total``). A subscription's duration is its whole life.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension

from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.core.metrics import PROCESS
from spirit_tours.schema.errors import REQUEST_REFUSALS, document_error_code

MAX_OPERATION_NAMES = 200
MAX_NAME_LENGTH = 100
ANONYMOUS = "anonymous"
INVALID = "invalid"
OTHER = "other"

DURATION = Histogram(
    "spirit_graphql_operation_duration_seconds",
    "GraphQL operations: time from parsing to the result, by operation name and type",
    ["operation", "type"], registry=PROCESS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
ERRORS = Counter(
    "spirit_graphql_operation_errors",
    "GraphQL operations that ended with an error, once per operation and error code",
    ["operation", "code"], registry=PROCESS,
)  # fmt: skip


_known: set[str] = set()


def operation_label(name: str | None, *, valid: bool) -> str:
    """The bounded label of an operation name (see the module's docstring)."""
    if not valid:
        return INVALID
    if name is None:
        return ANONYMOUS
    if name in _known:
        return name
    if len(_known) >= MAX_OPERATION_NAMES or len(name) > MAX_NAME_LENGTH:
        return OTHER
    _known.add(name)
    return name


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return str(code) if code in ErrorCode.__members__ else ErrorCode.INTERNAL_SERVER_ERROR.value


def _raised_code(error: BaseException) -> str:
    """The code of an error raised through the operation, which strawberry turns into the
    result's error afterwards (``schema.errors`` gives it its code then): a document that does
    not parse raises from the parsing hook."""
    if isinstance(error, DomainError):
        return error.code.value
    if isinstance(error, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return _code(error)
        if error.original_error is None:
            return document_error_code(error).value
    return ErrorCode.INTERNAL_SERVER_ERROR.value


class OperationMetrics(SchemaExtension):
    """Listed right after the validation: its ``on_validate`` sees whether the document is
    valid before the request guard adds its own refusals (cost, rate)."""

    valid = False

    def on_validate(self) -> Iterator[None]:
        self.valid = self.execution_context.pre_execution_errors == []
        yield

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        raised: BaseException | None = None
        try:
            yield
        except BaseException as error:
            raised = error
            raise
        finally:
            self._record(time.perf_counter() - started, raised)

    def _record(self, seconds: float, raised: BaseException | None) -> None:
        if isinstance(raised, REQUEST_REFUSALS):
            return  # an HTTP 4xx that ran no operation: counted by the HTTP metrics only
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # no document, or no operation of that name in it
            kind = "unknown"
        name = context.operation_name if self.valid else None
        operation = operation_label(name, valid=self.valid)
        DURATION.labels(operation, kind).observe(seconds)
        errors = context.pre_execution_errors or (
            context.result.errors if context.result is not None else None
        )
        codes = {_code(error) for error in errors or ()}
        if raised is not None:
            codes.add(_raised_code(raised))
        for code in codes:
            ERRORS.labels(operation, code).inc()
