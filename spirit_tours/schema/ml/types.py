"""Hotel recommendations, the net price estimate and the stored models, as GraphQL types.

Reached only through ``Quotation.hotelRecommendations`` / ``netPriceEstimate`` (guarded by
``CanSeeModelInsights``: the operator only) and the ADMIN-only ``mlModels``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from spirit_tours.context import Context
from spirit_tours.ml.predictions import HotelScore
from spirit_tours.ml.store import ModelInfo
from spirit_tours.resolvers.loaders import MaybeAwaitable
from spirit_tours.resolvers.ml import Estimate, Recommendations
from spirit_tours.schema.accounts.types import Hotel, load_hotel
from spirit_tours.schema.common import Money, money

Info = strawberry.Info[Context, None]


@strawberry.type(description="One hotel of the destination, as the ranking model sees it.")
class HotelRecommendation:
    rank: int = strawberry.field(description="1 for the best score, then 2, 3, …")
    offer_probability: float = strawberry.field(
        description="Predicted chance, 0 to 1, that the hotel answers an invitation with an offer."
    )
    win_probability: float = strawberry.field(
        description="Predicted chance, 0 to 1, that its offer, once made, is the one chosen."
    )
    score: float = strawberry.field(
        description="offerProbability times winProbability: what the hotels are ranked by."
    )
    invited: bool = strawberry.field(description="Whether the hotel is already invited.")
    hotel_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The hotel.", graphql_type=Hotel | None)
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.hotel_id)

    @classmethod
    def build(
        cls, rank: int, score: HotelScore, invited: frozenset[uuid.UUID]
    ) -> HotelRecommendation:
        return cls(
            rank=rank,
            offer_probability=round(score.offer_probability, 4),
            win_probability=round(score.win_probability, 4),
            score=round(score.score, 4),
            invited=score.hotel_id in invited,
            hotel_id=score.hotel_id,
        )


@strawberry.type(
    description="The hotels of a quotation's destination ranked for it by the latest hotel "
    "ranking model (operator only)."
)
class HotelRecommendations:
    hotels: list[HotelRecommendation] = strawberry.field(
        description="Best first; empty when there is no model yet or no hotel in the city."
    )
    model_version: int | None = strawberry.field(
        description="The version of the model that ranked them; null when there is none yet."
    )
    trained_at: datetime | None = strawberry.field(
        description="When that model was trained (ISO 8601, UTC); null when there is none."
    )
    unavailable_reason: str | None = strawberry.field(
        description="Why the list is empty (no model trained yet, no hotel in the city); null "
        "otherwise."
    )

    @classmethod
    def build(cls, found: Recommendations, invited: frozenset[uuid.UUID]) -> HotelRecommendations:
        return cls(
            hotels=[
                HotelRecommendation.build(rank, score, invited)
                for rank, score in enumerate(found.scores, start=1)
            ],
            model_version=found.version,
            trained_at=found.trained_at,
            unavailable_reason=found.reason,
        )


@strawberry.type(
    description="The expected range of the winning net price for a quotation's request, in "
    "its currency, from the latest net price model (operator only)."
)
class NetPriceEstimate:
    p10: Money | None = strawberry.field(
        description="10th percentile: nine winning prices in ten were above it; null when "
        "there is no estimate (see unavailableReason)."
    )
    p50: Money | None = strawberry.field(
        description="The median estimate; null when there is no estimate."
    )
    p90: Money | None = strawberry.field(
        description="90th percentile: nine winning prices in ten were below it; null when "
        "there is no estimate."
    )
    model_version: int | None = strawberry.field(
        description="The version of the model that estimated it; null when there is none yet."
    )
    trained_at: datetime | None = strawberry.field(
        description="When that model was trained (ISO 8601, UTC); null when there is none."
    )
    unavailable_reason: str | None = strawberry.field(
        description="Why there is no estimate: no model yet, or too few winning prices in "
        "this currency or destination; null when there is one."
    )

    @classmethod
    def build(cls, found: Estimate, currency: str) -> NetPriceEstimate:
        def shown(amount: Any) -> Money | None:
            return None if amount is None else money(amount, currency)

        return cls(
            p10=shown(found.range.p10),
            p50=shown(found.range.p50),
            p90=shown(found.range.p90),
            model_version=found.version,
            trained_at=found.trained_at,
            unavailable_reason=found.range.reason,
        )


@strawberry.type(description="One figure of a model's held-out evaluation.")
class ModelMetric:
    name: str = strawberry.field(
        description="What was measured, e.g. precision_at_3, auc, mae.USD.model; a name ending "
        "in baseline is the baseline's figure on the same held-out data."
    )
    value: float | None = strawberry.field(
        description="The figure; null when it could not be measured (e.g. one class only)."
    )


def _flatten(prefix: str, value: Any) -> list[ModelMetric]:
    if isinstance(value, dict):
        return [m for key, inner in value.items() for m in _flatten(f"{prefix}{key}.", inner)]
    if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
        return []
    return [ModelMetric(name=prefix.rstrip("."), value=None if value is None else float(value))]


@strawberry.type(description="A trained model as stored (operator only).")
class MlModel:
    kind: str = strawberry.field(description="hotel_ranking or net_price.")
    version: int = strawberry.field(description="1 for the first of its kind, then one more.")
    trained_at: datetime = strawberry.field(description="When it was trained (ISO 8601, UTC).")
    training_rows: int = strawberry.field(
        description="Rows it learned from: invitations for hotel_ranking, winning prices for "
        "net_price."
    )
    evaluation_split: str | None = strawberry.field(
        description="How its evaluation held data out, e.g. the latest 20 % by time."
    )
    evaluation: list[ModelMetric] = strawberry.field(
        description="Its held-out figures beside the baselines', measured on the same data."
    )

    @classmethod
    def build(cls, info: ModelInfo) -> MlModel:
        split = info.evaluation.get("split")
        return cls(
            kind=info.kind,
            version=info.version,
            trained_at=info.trained_at,
            training_rows=info.training_rows,
            evaluation_split=split if isinstance(split, str) else None,
            evaluation=_flatten("", info.evaluation),
        )


@strawberry.type(description="What trainModels did: the training job it queued.")
class TrainModelsPayload:
    job_key: str = strawberry.field(description="The key of the queued training job.")
    queued_at: datetime = strawberry.field(
        description="When it was queued (ISO 8601, UTC): earlier than the request when a "
        "training asked for before was still queued or running."
    )
