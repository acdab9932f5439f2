"""What a trained model answers, as plain values, and what the server asks of a model.

Importing this module imports neither numpy nor scikit-learn: the resolvers and the GraphQL
types depend on these names, the trained classes (``ranking``, ``pricing``) satisfy them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from spirit_tours.ml.records import RequestFacts

HOTEL_RANKING = "hotel_ranking"
NET_PRICE = "net_price"
KINDS = (HOTEL_RANKING, NET_PRICE)


@dataclass(frozen=True, slots=True)
class HotelScore:
    """One hotel's chances for one request: it answers with an offer (if invited), that offer
    wins (if made), and their product, the score hotels are ranked by."""

    hotel_id: uuid.UUID
    offer_probability: float
    win_probability: float

    @property
    def score(self) -> float:
        return self.offer_probability * self.win_probability


@dataclass(frozen=True, slots=True)
class PriceRange:
    """The 10th, 50th and 90th percentile of the winning net price, in the request's
    currency (rounded to it), in order; or, when there is none, why."""

    p10: Decimal | None
    p50: Decimal | None
    p90: Decimal | None
    reason: str | None = None

    @classmethod
    def unavailable(cls, reason: str) -> PriceRange:
        return cls(None, None, None, reason)


@dataclass(frozen=True, slots=True)
class CandidateHotel:
    hotel_id: uuid.UUID
    stars: int | None


class Ranker(Protocol):
    def recommend(
        self,
        request: RequestFacts,
        hotels: list[CandidateHotel],
        invited: frozenset[uuid.UUID] = frozenset(),
    ) -> list[HotelScore]: ...


class PriceModel(Protocol):
    def estimate(self, request: RequestFacts) -> PriceRange: ...
