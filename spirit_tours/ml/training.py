"""Train both models on the whole history, evaluate them on a time-based hold-out, store them.

The evaluation trains a copy on the earlier 80 % of the quotations (by the time they were
asked for) and scores it on the latest 20 %, beside the baselines measured on the same split;
the model stored and served is then trained on everything. The fitting runs in a thread:
scikit-learn releases the GIL, and the event loop of the worker keeps serving its other jobs.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.ml.features import HotelRecord, RequestEncoder, by_created
from spirit_tours.ml.predictions import HOTEL_RANKING, NET_PRICE
from spirit_tours.ml.pricing import PriceEstimator, evaluate_pricing, sales
from spirit_tours.ml.ranking import HotelRanker, evaluate_ranking, ranking_data, wins_in
from spirit_tours.ml.records import History, load_history
from spirit_tours.ml.store import ModelInfo, save_model, serialize
from spirit_tours.persistence.database import SessionFactory

log = logging.getLogger(__name__)

HOLD_OUT = 0.2
MIN_HOLD_OUT_QUOTATIONS = 10
"""Fewer quotations than this: the model is trained, the evaluation says it could not be."""


@dataclass(frozen=True)
class Fitted:
    kind: str
    model: object
    training_rows: int
    evaluation: dict[str, Any]


def _split(history: History) -> tuple[History, History, datetime] | None:
    ordered = by_created(history.quotations)
    cut = int(len(ordered) * (1 - HOLD_OUT))
    if len(ordered) < MIN_HOLD_OUT_QUOTATIONS or cut == len(ordered):
        return None
    cutoff = ordered[cut].request.created_at
    train_ids = {q.id for q in ordered[:cut]}

    def part(ids: set[Any], quotations: list[Any]) -> History:
        return History(
            quotations,
            [i for i in history.invitations if i.quotation_id in ids],
            [o for o in history.offers if o.quotation_id in ids],
            history.hotels,
        )

    test = ordered[cut:]
    return part(train_ids, ordered[:cut]), part({q.id for q in test}, test), cutoff


def _copy(records: dict[Any, HotelRecord]) -> dict[Any, HotelRecord]:
    return copy.deepcopy(dict(records))


def fit_ranking(history: History, now: datetime) -> Fitted:
    started = time.perf_counter()
    evaluation: dict[str, Any] = {"split": f"time-ordered, latest {HOLD_OUT:.0%} held out"}
    split = _split(history)
    if split is None:
        evaluation["note"] = "too little history to hold any out"
    else:
        train, test, cutoff = split
        encoder = RequestEncoder.learn(q.request for q in train.quotations)
        # What was known at the cutoff: outcomes resolved before it, records as they stood.
        train_data, sweep = ranking_data(train, encoder, cutoff)
        records = _copy(sweep.at(cutoff))
        model = HotelRanker.fit(train_data, encoder, records)
        test_data, _ = ranking_data(history, encoder, now, frozen=records,
                                    only={q.id for q in test.quotations})  # fmt: skip
        evaluation.update(evaluate_ranking(model, test_data, wins_in(train_data)))
    encoder = RequestEncoder.learn(q.request for q in history.quotations)
    data, sweep = ranking_data(history, encoder, now)
    model = HotelRanker.fit(data, encoder, _copy(sweep.at(now)))
    evaluation["fit_seconds"] = round(time.perf_counter() - started, 3)
    return Fitted(HOTEL_RANKING, model, len(data.candidates), evaluation)


def fit_pricing(history: History, now: datetime, min_currency_rows: int) -> Fitted:
    started = time.perf_counter()
    evaluation: dict[str, Any] = {"split": f"time-ordered, latest {HOLD_OUT:.0%} held out"}
    split = _split(history)
    if split is None:
        evaluation["note"] = "too little history to hold any out"
    else:
        train, test, cutoff = split
        known = [q for q in train.quotations if (q.proposed_at or q.offer_deadline) < cutoff]
        train_sales = sales(history, known)
        encoder = RequestEncoder.learn(s.request for s in train_sales)
        model = PriceEstimator.fit(train_sales, encoder, min_currency_rows)
        evaluation.update(evaluate_pricing(model, train, sales(history, test.quotations)))
    every = sales(history)
    encoder = RequestEncoder.learn(s.request for s in every)
    model = PriceEstimator.fit(every, encoder, min_currency_rows)
    evaluation["fit_seconds"] = round(time.perf_counter() - started, 3)
    return Fitted(NET_PRICE, model, len(every), evaluation)


def fit_all(history: History, now: datetime, min_currency_rows: int) -> list[Fitted]:
    return [fit_ranking(history, now), fit_pricing(history, now, min_currency_rows)]


async def train_models(
    sessions: SessionFactory, *, min_currency_rows: int, now: datetime | None = None
) -> list[ModelInfo]:
    """Read the history, fit and evaluate both models (in a thread), store each as the next
    version of its kind; returns what was stored."""
    now = now or now_utc()
    session: AsyncSession
    async with sessions() as session:
        history = await load_history(session, now)
    fitted = await asyncio.to_thread(fit_all, history, now, min_currency_rows)
    payloads = await asyncio.to_thread(lambda: [serialize(f.model) for f in fitted])
    stored = []
    async with sessions() as session, session.begin():
        for fit, payload in zip(fitted, payloads, strict=True):
            stored.append(
                await save_model(
                    session,
                    fit.kind,
                    trained_at=now,
                    training_rows=fit.training_rows,
                    evaluation=fit.evaluation,
                    payload=payload,
                )
            )
    for info in stored:
        log.info("trained %s v%d on %d rows", info.kind, info.version, info.training_rows)
    return stored
