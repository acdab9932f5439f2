"""``mlModels``: the stored models with their held-out evaluation (ADMIN)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import bad_input
from spirit_tours.ml.predictions import KINDS
from spirit_tours.ml.store import list_models
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.schema.ml.types import MlModel

Info = strawberry.Info[Context, None]
MAX_MODELS = 100


@strawberry.type
class MlQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The trained models, newest first, each with its version, training date "
        "and held-out evaluation beside its baselines (ADMIN).",
    )
    async def ml_models(
        self,
        info: Info,
        kind: Annotated[
            str | None,
            strawberry.argument(description="hotel_ranking or net_price; null: both."),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="How many, 1 to 100; default 20.")
        ] = 20,
    ) -> list[MlModel]:
        if kind is not None and kind not in KINDS:
            raise bad_input("kind", f"A kind is one of: {', '.join(KINDS)}.")
        if not 1 <= first <= MAX_MODELS:
            raise bad_input("first", f"Ask for 1 to {MAX_MODELS} models.")
        async with info.context.session() as session:
            return [MlModel.build(found) for found in await list_models(session, kind, first)]
