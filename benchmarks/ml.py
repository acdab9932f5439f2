"""The models on a generated history: held-out quality beside the baselines, training time,
prediction latency (``python -m benchmarks ml [--history N] [--smoke]``).

A scratch database gets N quotations from ``spirit-tours seed-demo --history``'s generator;
the training job's own code (``spirit_tours.ml.training``) then trains on the earlier 80 % of
the quotations (by the time they were asked for), evaluates on the latest 20 % beside the
baselines measured on the same split — ranking: "the hotel that won most often in the
destination in the training period first"; price: "median of the destination's past offers,
same currency" — and stores the model trained on everything, which a ``ModelCache`` loads
as a server would before the predictions are timed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from benchmarks.keys import KEYRING
from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.history import seed_history
from spirit_tours.ml.predictions import HOTEL_RANKING, NET_PRICE, CandidateHotel
from spirit_tours.ml.records import load_history
from spirit_tours.ml.serving import ModelCache
from spirit_tours.ml.training import train_models
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate

SEED_BATCH = 2000
SMOKE_HISTORY = 300
LATENCY_SAMPLES = 300


async def _seed(sessions: Any, count: int) -> float:
    started = time.perf_counter()
    settings = Settings(seed_demo=False)
    left = count
    while left > 0:
        batch = min(SEED_BATCH, left)
        async with sessions() as session, session.begin():
            await seed_history(session, settings, batch)
        left -= batch
    return time.perf_counter() - started


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def _figure(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _report(stored: dict[str, Any], seconds: dict[str, float]) -> list[str]:
    ranking = stored[HOTEL_RANKING].evaluation
    price = stored[NET_PRICE].evaluation
    lines = [
        f"history: {seconds['quotations']:.0f} quotations generated in {seconds['seed']:.1f} s;"
        f" held out: {ranking.get('split')}",
        "",
        f"hotel ranking ({ranking.get('test_quotations', 0)} held-out quotations with a "
        f"proposal, {ranking.get('invited_per_quotation', 'n/a')} invited hotels each)",
        f"  {'metric':<16}{'model':>10}{'baseline':>10}   baseline: most frequent winner first",
    ]
    for name in ("precision_at_1", "precision_at_3", "auc"):
        lines.append(
            f"  {name:<16}{_figure(ranking.get(name)):>10}"
            f"{_figure(ranking.get(name + '_baseline')):>10}"
        )
    lines += [
        "",
        f"net price (median estimate; {price.get('estimated', 0)} of "
        f"{price.get('test_quotations', 0)} held-out winning prices estimated)",
        f"  {'currency':<10}{'rows':>6}{'MAE model':>14}{'MAE baseline':>14}"
        f"{'MAE per room-night':>20}   baseline: median of the destination's past offers",
    ]
    for currency, mae in price.get("mae", {}).items():
        lines.append(
            f"  {currency:<10}{mae['rows']:>6}{mae['model']:>14,.2f}{mae['baseline']:>14,.2f}"
            f"{mae['per_room_night_baseline']:>20,.2f}"
        )
    lines += [
        f"  mean absolute % error: model {price.get('mape', 0):.1%}, baseline "
        f"{price.get('mape_baseline', 0):.1%}; within [p10, p90]: "
        f"{price.get('p10_p90_coverage', 0):.1%} (80 % if calibrated)",
        "",
        f"training (both models, evaluation included, {seconds['rows']:.0f} invitations): "
        f"{seconds['train']:.1f} s (ranking {ranking.get('fit_seconds')} s, price "
        f"{price.get('fit_seconds')} s, reading the history {seconds['read']:.1f} s)",
        f"model load (unpickle from ml_models): {seconds['load'] * 1000:.0f} ms",
        f"prediction, hotel ranking of a destination: {seconds['rank_latency']}",
        f"prediction, net price range: {seconds['price_latency']}",
    ]
    return lines


def _verdict(stored: dict[str, Any]) -> list[str]:
    ranking = stored[HOTEL_RANKING].evaluation
    price = stored[NET_PRICE].evaluation

    def beats(model: Any, baseline: Any, higher: bool = True) -> str:
        if model is None or baseline is None:
            return "not measured"
        return "yes" if (model > baseline if higher else model < baseline) else "NO"

    mae = price.get("mae", {})
    price_wins = [beats(m["model"], m["baseline"], higher=False) for m in mae.values()]
    return [
        "",
        "beats its baseline: ranking precision@3 "
        + beats(ranking.get("precision_at_3"), ranking.get("precision_at_3_baseline"))
        + ", AUC "
        + beats(ranking.get("auc"), ranking.get("auc_baseline"))
        + "; price MAE "
        + (", ".join(f"{c} {w}" for c, w in zip(mae, price_wins, strict=True)) or "not measured"),
    ]


async def _run(history: int) -> dict[str, Any]:
    url = await devservers.create_database("spirit_bench_ml")
    engine = create_engine(url, pool_size=4, keyring=KEYRING)
    try:
        await migrate(engine)
        sessions = create_session_factory(engine)
        seconds: dict[str, Any] = {"quotations": history, "seed": await _seed(sessions, history)}
        started = time.perf_counter()
        async with sessions() as session:
            loaded = await load_history(session, now_utc())
        seconds["read"] = time.perf_counter() - started
        seconds["rows"] = len(loaded.invitations)
        started = time.perf_counter()
        infos = await train_models(sessions, min_currency_rows=30)
        seconds["train"] = time.perf_counter() - started
        cache = ModelCache(sessions, reload_seconds=3600)
        started = time.perf_counter()
        served = {kind: await cache.get(kind) for kind in (HOTEL_RANKING, NET_PRICE)}
        seconds["load"] = time.perf_counter() - started
        ranker, pricer = served[HOTEL_RANKING], served[NET_PRICE]
        assert ranker is not None
        assert pricer is not None
        by_city: dict[str, list[CandidateHotel]] = {}
        for hotel in loaded.hotels:
            by_city.setdefault(hotel.city, []).append(CandidateHotel(hotel.id, hotel.stars))
        requests = [q.request for q in loaded.quotations[-LATENCY_SAMPLES:]]
        rank_times, price_times = [], []
        for request in requests:
            began = time.perf_counter()
            ranker.model.recommend(request, by_city.get(request.destination, []))
            rank_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            pricer.model.estimate(request)
            price_times.append(time.perf_counter() - began)
        seconds["rank_latency"] = _ms(rank_times)
        seconds["price_latency"] = _ms(price_times)
        return {"stored": {info.kind: info for info in infos}, "seconds": seconds}
    finally:
        await engine.dispose()
        await devservers.drop_database(url)


def main(history: int = 20_000) -> None:
    print(f"ml benchmark: generating {history} quotations into a scratch database …", flush=True)
    result = asyncio.run(_run(history))
    for line in _report(result["stored"], result["seconds"]) + _verdict(result["stored"]):
        print(line)
    print("evaluation as stored:", json.dumps(
        {kind: info.evaluation for kind, info in result["stored"].items()}, sort_keys=True
    ))  # fmt: skip


def smoke() -> None:
    """A tiny run for the test suite: every step once."""
    main(history=SMOKE_HISTORY)
