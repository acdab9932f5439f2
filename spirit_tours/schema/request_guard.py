"""The checks every operation passes before any resolver runs, over HTTP and WebSocket.

``GuardedValidation`` runs the linear shape limits (``document_limits``) first and the standard
validation only on documents that pass them; both results are cached per document and rule
classes. ``RequestGuard`` then checks what depends on the request: the variables' text
and list sizes (``input_text``), the operation's static cost against the budget, and the
viewer's cost points for this minute (per user when signed in, per client address otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from graphql import ASTValidationRule, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.schema.schema import validate_document

from spirit_tours.auth.rate_limit import CostRateLimiter
from spirit_tours.context import Context
from spirit_tours.core.errors import ErrorCode
from spirit_tours.documents.parsed import is_cached
from spirit_tours.schema.document_limits import precheck
from spirit_tours.schema.input_text import find_bad_input
from spirit_tours.schema.query_cost import OperationCosts


class GuardedValidation(ValidationCache):
    """strawberry's cached validation, behind the cached linear pre-check."""

    def __init__(self, precheck_rules: tuple[type[ASTValidationRule], ...], maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.precheck_rules = precheck_rules

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, schema = context.graphql_document, context.schema._schema
        assert document is not None
        assert context.query is not None
        if is_cached(context.query):
            errors = precheck(schema, document, self.precheck_rules)
            if errors:
                context.pre_execution_errors = errors
                yield
                return
            yield from super().on_validate()
            return
        # A long document is validated afresh each time, so no cache keeps it (parsed.py).
        errors = precheck.__wrapped__(schema, document, self.precheck_rules)
        if not errors:
            errors = validate_document(schema, document, context.validation_rules)
        context.pre_execution_errors = errors
        yield


class RequestGuard(SchemaExtension):
    """Listed after ``GuardedValidation``: its hook runs once the document is known valid."""

    def __init__(
        self,
        *,
        max_cost: int,
        limiter: CostRateLimiter,
        max_list_items: int,
        costs: OperationCosts,
    ) -> None:
        self.max_cost = max_cost
        self.limiter = limiter
        self.max_list_items = max_list_items
        self.costs = costs  # shared by every request

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.pre_execution_errors == []:
            error = await self._refusal()
            if error is not None:
                context.pre_execution_errors = [error]
        yield

    async def _refusal(self) -> GraphQLError | None:
        context = self.execution_context
        assert context.graphql_document is not None
        operations = [
            d
            for d in context.graphql_document.definitions
            if isinstance(d, OperationDefinitionNode)
        ]
        # ``operation_name`` falls back to the first operation's name: what the client sent is
        # kept privately. The GraphQL spec's request error; strawberry would run the first.
        if context._provided_operation_name is None and len(operations) > 1:
            return GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                extensions={"code": ErrorCode.BAD_REQUEST.value},
            )
        found = find_bad_input(context.variables or {}, "", self.max_list_items)
        if found is not None:
            where, problem = found
            return GraphQLError(
                f"{where}: {problem}.",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": where},
            )
        assert context.query is not None
        cost = self.costs.cost(
            context.schema._schema,
            context.query,
            context.graphql_document,
            context.operation_name,
            context.variables,
        )
        if cost > self.max_cost:
            return GraphQLError(
                f"This operation costs {cost} points, over the budget of {self.max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                extensions={
                    "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                    "cost": cost,
                    "budget": self.max_cost,
                },
            )
        app = context.context
        if not isinstance(app, Context):
            return None  # executed in-process (tests, tools): no viewer to charge
        app.operation_cost = cost
        return await charge(self.limiter, app, cost)


async def charge(limiter: CostRateLimiter, app: Context, cost: int) -> GraphQLError | None:
    """Add ``cost`` to the viewer's points for this minute (per user when signed in, per
    client address otherwise); the RATE_LIMITED error once they are spent. Also charged by the
    response cache for an answer it serves, so a cached answer is no way around the limit."""
    who = f"user:{app.viewer.user_id}" if app.viewer else f"ip:{app.client_ip}"
    retry_after = await limiter.charge(app.services.redis, who, cost)
    if retry_after is None:
        return None
    return GraphQLError(
        f"Too many requests; try again in {retry_after} seconds.",
        extensions={"code": ErrorCode.RATE_LIMITED.value, "retryAfterSeconds": retry_after},
    )
