"""Net price range: the 10th, 50th and 90th percentile of the winning net price.

The trees learn log(price per room-night) — a price grows with rooms x nights, which trees
cannot multiply, and a log makes an error of 10 % weigh the same in every currency and size —
from the request (destination, currency, month, size, lead time); the answer is scaled back to
the request's rooms and nights, in its own currency. A currency with too few winning prices in
the training data gets no estimate, and says so.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from spirit_tours.core.money import round_to_currency
from spirit_tours.ml.estimators import fit_quantile, one_thread
from spirit_tours.ml.features import CATEGORICAL, RequestEncoder
from spirit_tours.ml.predictions import PriceRange
from spirit_tours.ml.records import History, OfferRecord, QuotationRecord, RequestFacts, place

QUANTILES = (0.1, 0.5, 0.9)
MIN_DESTINATION_ROWS = 5
"""A destination seen fewer times than this in the winning prices gets no estimate."""


@dataclass(frozen=True)
class Sale:
    """A quotation whose winning (proposed) offer is known."""

    request: RequestFacts
    price: Decimal

    @property
    def per_room_night(self) -> float:
        return float(self.price) / (self.request.rooms * self.request.nights)


def sales(history: History, quotations: list[QuotationRecord] | None = None) -> list[Sale]:
    offers = {o.id: o for o in history.offers}
    found = []
    for quotation in quotations if quotations is not None else history.quotations:
        offer = offers.get(quotation.selected_offer_id) if quotation.selected_offer_id else None
        if offer is not None and offer.currency == quotation.request.currency:
            found.append(Sale(quotation.request, offer.net_price))
    return found


@dataclass
class PriceEstimator:
    encoder: RequestEncoder
    models: dict[float, Any]
    currency_rows: dict[str, int]
    destination_rows: dict[tuple[str, str], int]
    min_currency_rows: int

    @classmethod
    def fit(
        cls, train: list[Sale], encoder: RequestEncoder, min_currency_rows: int
    ) -> PriceEstimator:
        features = np.array([encoder.row(s.request) for s in train], dtype=np.float64)
        target = np.log(np.array([s.per_room_night for s in train], dtype=np.float64))
        models = (
            {q: fit_quantile(features, target, q, list(CATEGORICAL)) for q in QUANTILES}
            if len(train) >= 2
            else {}
        )
        return cls(
            encoder,
            models,
            dict(Counter(s.request.currency for s in train)),
            dict(Counter((place(s.request.destination), s.request.currency) for s in train)),
            min_currency_rows,
        )

    def why_not(self, request: RequestFacts) -> str | None:
        rows = self.currency_rows.get(request.currency, 0)
        if not self.models or rows < self.min_currency_rows:
            return (
                f"Too few winning prices in {request.currency} to estimate: {rows} in the "
                f"training data, {self.min_currency_rows} needed."
            )
        seen = self.destination_rows.get((place(request.destination), request.currency), 0)
        if seen < MIN_DESTINATION_ROWS:
            return (
                f"Too few winning prices for this destination in {request.currency}: {seen} in "
                f"the training data, {MIN_DESTINATION_ROWS} needed."
            )
        return None

    def log_quantiles(self, requests: list[RequestFacts]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Rows of (p10, p50, p90) of log(price per room-night), sorted so they never cross."""
        features = np.array([self.encoder.row(r) for r in requests], dtype=np.float64)
        with one_thread():
            columns = [self.models[q].predict(features) for q in QUANTILES]
        return np.sort(np.column_stack(columns), axis=1)

    def estimate(self, request: RequestFacts) -> PriceRange:
        reason = self.why_not(request)
        if reason is not None:
            return PriceRange.unavailable(reason)
        low, mid, high = self.log_quantiles([request])[0]
        size = request.rooms * request.nights

        def amount(log_value: float) -> Decimal:
            return round_to_currency(Decimal(str(math.exp(log_value) * size)), request.currency)

        return PriceRange(amount(low), amount(mid), amount(high))


def evaluate_pricing(model: PriceEstimator, train: History, test: list[Sale]) -> dict[str, Any]:
    """Held-out figures per currency: the MAE of the median estimate beside the baseline
    "median of past offers (all, in the training period) in the destination, same currency",
    and beside a fairer one, that median per room-night times the request's rooms x nights;
    how often the price fell within [p10, p90] (80 % if calibrated)."""
    offers_by_place: dict[tuple[str, str], list[OfferRecord]] = defaultdict(list)
    requests = {q.id: q.request for q in train.quotations}
    for offer in train.offers:
        request = requests.get(offer.quotation_id)
        if request is not None and offer.currency == request.currency:
            offers_by_place[(place(request.destination), offer.currency)].append(offer)
    medians = {
        k: statistics.median(float(o.net_price) for o in v) for k, v in offers_by_place.items()
    }
    per_night = {
        k: statistics.median(
            float(o.net_price) / (requests[o.quotation_id].rooms * requests[o.quotation_id].nights)
            for o in v
        )
        for k, v in offers_by_place.items()
    }
    usable = [
        s for s in test
        if model.why_not(s.request) is None
        and (place(s.request.destination), s.request.currency) in medians
    ]  # fmt: skip
    result: dict[str, Any] = {"test_quotations": len(test), "estimated": len(usable)}
    if not usable:
        return result
    predicted = np.exp(model.log_quantiles([s.request for s in usable]))
    currencies: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    inside = 0
    for sale, (low, mid, high) in zip(usable, predicted, strict=True):
        size = sale.request.rooms * sale.request.nights
        actual = float(sale.price)
        key = (place(sale.request.destination), sale.request.currency)
        errors = currencies[sale.request.currency]
        errors["model"].append(abs(mid * size - actual))
        errors["baseline"].append(abs(medians[key] - actual))
        errors["per_room_night_baseline"].append(abs(per_night[key] * size - actual))
        errors["model_relative"].append(abs(mid * size - actual) / actual)
        errors["baseline_relative"].append(abs(medians[key] - actual) / actual)
        inside += int(low * size <= actual <= high * size)
    result["p10_p90_coverage"] = round(inside / len(usable), 4)
    result["mae"] = {
        currency: {
            "rows": len(e["model"]),
            "model": round(statistics.fmean(e["model"]), 2),
            "baseline": round(statistics.fmean(e["baseline"]), 2),
            "per_room_night_baseline": round(statistics.fmean(e["per_room_night_baseline"]), 2),
        }
        for currency, e in sorted(currencies.items())
    }
    every = [
        (x, y)
        for e in currencies.values()
        for x, y in zip(e["model_relative"], e["baseline_relative"], strict=True)
    ]
    result["mape"] = round(statistics.fmean(x for x, _ in every), 4)
    result["mape_baseline"] = round(statistics.fmean(y for _, y in every), 4)
    return result
