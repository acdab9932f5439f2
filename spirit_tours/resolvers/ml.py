"""The operator's predictions for a quotation, from the models the process keeps in memory.

Only the GraphQL fields guarded by ``CanSeeModelInsights`` (the operator) and the ADMIN-only
root fields call these (docs/privacy.md §1): an estimate learned from every hotel's offers is
competitor-price data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.errors import bad_input
from spirit_tours.ml.predictions import (
    HOTEL_RANKING,
    NET_PRICE,
    CandidateHotel,
    HotelScore,
    PriceModel,
    PriceRange,
    Ranker,
)
from spirit_tours.ml.records import hotels_in, request_of
from spirit_tours.ml.serving import ModelCache
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import Quotation
from spirit_tours.persistence.repositories.events import record_audit

MAX_RECOMMENDATIONS = 50
NO_MODEL = "No {kind} model has been trained yet: run trainModels (or spirit-tours train-models)."


@dataclass(frozen=True)
class Recommendations:
    scores: list[HotelScore]
    version: int | None
    trained_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class Estimate:
    range: PriceRange
    version: int | None
    trained_at: datetime | None


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_RECOMMENDATIONS:
        raise bad_input("first", f"Ask for 1 to {MAX_RECOMMENDATIONS} hotels.")
    return first


async def recommend_hotels(
    session: AsyncSession,
    models: ModelCache,
    quotation: Quotation,
    invited: frozenset[uuid.UUID],
    first: int,
) -> Recommendations:
    """The hotels of the quotation's destination, best first, at most ``first``; each one
    weighed against the hotels already ``invited``."""
    served = await models.get(HOTEL_RANKING)
    if served is None:
        return Recommendations([], None, None, NO_MODEL.format(kind="hotel ranking"))
    hotels = await hotels_in(session, quotation.destination)
    ranker: Ranker = served.model
    candidates = [CandidateHotel(h.id, h.stars) for h in hotels]
    scores = ranker.recommend(request_of(quotation), candidates, invited)
    reason = None if hotels else "No hotel is in this destination's city."
    return Recommendations(scores[:first], served.info.version, served.info.trained_at, reason)


async def estimate_net_price(models: ModelCache, quotation: Quotation) -> Estimate:
    served = await models.get(NET_PRICE)
    if served is None:
        return Estimate(PriceRange.unavailable(NO_MODEL.format(kind="net price")), None, None)
    model: PriceModel = served.model
    return Estimate(
        model.estimate(request_of(quotation)), served.info.version, served.info.trained_at
    )


def record_training_request(session: AsyncSession, viewer: Viewer, job_key: str) -> None:
    """The audit line of an ADMIN's trainModels: who asked for a training, and its job."""
    record_audit(session, viewer, "ml.train", "MlModel", None, job_key=job_key)
