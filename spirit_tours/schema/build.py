"""Build the Schema with its protective extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition

from spirit_tours.auth.rate_limit import CostRateLimiter
from spirit_tours.config import Settings
from spirit_tours.core.errors import ErrorCode
from spirit_tours.core.tracing import enabled as tracing_enabled
from spirit_tours.documents.parsed import DocumentCache
from spirit_tours.documents.persisted import RegisterValidDocument
from spirit_tours.permissions.pricing_fields import GUARD
from spirit_tours.schema.document_limits import DocumentLimits, precheck_rules
from spirit_tours.schema.errors import apply_error_policy, hide_suggestions
from spirit_tours.schema.live import Subscription
from spirit_tours.schema.mutation import Mutation
from spirit_tours.schema.operation_metrics import OperationMetrics
from spirit_tours.schema.query import Query
from spirit_tours.schema.query_cost import OperationCosts
from spirit_tours.schema.request_guard import GuardedValidation, RequestGuard
from spirit_tours.schema.response_cache import ResponseCache
from spirit_tours.schema.scalars import SCALAR_OVERRIDES
from spirit_tours.schema.tracing import OperationTracing

SCHEMA_PARTS: dict[str, Any] = {
    "query": Query,
    "mutation": Mutation,
    "subscription": Subscription,
    # Published although no field returns it: what `extensions.code` of an error can be.
    "types": [ErrorCode],
    "scalar_overrides": SCALAR_OVERRIDES,
}


class SpiritSchema(strawberry.Schema):
    """The schema, applying the error convention of ``spirit_tours.core.errors`` to every error."""

    mask_errors: bool = True
    # With introspection off, graphql-core's "Did you mean 'quotation'?" would still name the
    # schema's fields, arguments, input fields and enum values to whoever guesses near them.
    hides_suggestions: bool = False
    # Served by the HTTP transport (graphql_app) around execute; None: off.
    response_cache: ResponseCache | None = None

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            apply_error_policy(error, mask=self.mask_errors)
            if self.hides_suggestions:
                hide_suggestions(error)


def build_schema(settings: Settings) -> SpiritSchema:
    # The limit rule class is built once: the validation caches are keyed by rule classes,
    # so a class per request would miss them every time.
    limits = precheck_rules(
        DocumentLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fragment_spreads=settings.max_fragment_spreads,
            max_expanded_selections=settings.max_expanded_selections,
            max_same_name_fields=settings.max_same_name_fields,
            max_list_items=settings.max_input_list_items,
        )
    )
    limiter = CostRateLimiter(
        points_per_minute=settings.rate_limit_points,
        timeout_seconds=settings.rate_limit_redis_timeout_seconds,
    )
    costs = OperationCosts()
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        # strawberry's ParserCache, with documents that hash once (see documents.parsed)
        lambda: DocumentCache(maxsize=1024),
        # In this order: the guard's hook runs once validation has passed.
        lambda: GuardedValidation(limits, maxsize=1024),
        # Right after the validation: it labels only the names of valid operations.
        OperationMetrics,
        lambda: RequestGuard(
            max_cost=settings.max_query_cost,
            limiter=limiter,
            max_list_items=settings.max_input_list_items,
            costs=costs,
        ),
        # Last: stores an automatic persisted query only once every check above passed.
        RegisterValidDocument,
    ]
    if not settings.allows_introspection:
        # graphql-core's rule: __schema and __type fail validation (GRAPHQL_VALIDATION_FAILED,
        # saying introspection is disabled); __typename still works.
        extensions.insert(0, DisableIntrospection)
    if tracing_enabled():
        # First: its span covers the checks too (and is the parent of their Redis calls).
        extensions.insert(0, OperationTracing)
    schema = SpiritSchema(**SCHEMA_PARTS, extensions=extensions)
    schema.mask_errors = not settings.is_development
    schema.hides_suggestions = not settings.allows_introspection
    if settings.response_cache_seconds > 0:
        schema.response_cache = ResponseCache(
            max_age_seconds=settings.response_cache_seconds,
            max_entries=settings.response_cache_entries,
            max_bytes=settings.response_cache_bytes,
            max_tokens=settings.max_tokens,
            limiter=limiter,
        )
    return schema


def sdl() -> str:
    """The schema's SDL as published in ``schema.graphql``."""
    return strawberry.Schema(**SCHEMA_PARTS).as_str() + "\n"


def guarded_fields(schema: strawberry.Schema) -> dict[str, type]:
    """``"Offer.netPrice"`` → its permission class, for every field ``guarded`` hides: the
    privacy rules the public schema does not print (docs/api/guarded-fields.md lists them)."""
    found: dict[str, type] = {}
    for name, graphql_type in schema._schema.type_map.items():
        extensions: dict[str, Any] = dict(graphql_type.extensions or {})
        definition = extensions.get("strawberry-definition")
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for field in definition.fields:
            metadata: dict[str, Any] = dict(field.metadata or {})
            guard = metadata.get(GUARD)
            if guard is not None:
                found[f"{name}.{schema.config.name_converter.get_graphql_name(field)}"] = guard
    return dict(sorted(found.items()))


def guarded_fields_doc() -> str:
    """docs/api/guarded-fields.md: which field each privacy rule hides (``make schema``)."""
    schema = strawberry.Schema(**SCHEMA_PARTS)
    lines = [
        "# Guarded fields",
        "",
        "Generated by `make schema` (`spirit-tours export-schema --guards`); a test compares it.",
        "Each field below resolves to `null` (or `[]`) for a viewer its permission class refuses",
        "(docs/privacy.md §2.1). The rules are not printed in the public schema.",
        "",
        "| field | permission class | the scope's flag |",
        "|---|---|---|",
    ]
    for field, guard in guarded_fields(schema).items():
        lines.append(f"| `{field}` | `{guard.__name__}` | `{getattr(guard, 'rule', '')}` |")
    return "\n".join(lines) + "\n"
