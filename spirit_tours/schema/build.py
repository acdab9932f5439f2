"""Build the Schema with its protective extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from spirit_tours.config import Settings
from spirit_tours.schema.errors import apply_error_policy
from spirit_tours.schema.live import Subscription
from spirit_tours.schema.mutation import Mutation
from spirit_tours.schema.query import Query


class SpiritSchema(strawberry.Schema):
    """The schema, applying the error convention of ``spirit_tours.errors`` to every error."""

    mask_errors: bool = True

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            apply_error_policy(error, mask=self.mask_errors)


def build_schema(settings: Settings) -> SpiritSchema:
    # The limiters build a new rule class per instance, and the validation cache is keyed by
    # the rule classes: build them once, or every request misses the cache.
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=1024),
        lambda: AddValidationRules(limits),
        lambda: ValidationCache(maxsize=1024),
    ]
    schema = SpiritSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
    schema.mask_errors = not settings.is_development
    return schema


def sdl() -> str:
    """The schema's SDL as published in ``schema.graphql``."""
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    return schema.as_str() + "\n"
