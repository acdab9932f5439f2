"""Training the models: a cron of the maintenance worker (``SPIRIT_ML_TRAIN_CRON``) and the
job that ADMIN's ``trainModels`` queues."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saq import Queue

from spirit_tours.core.clock import now_utc

TRAIN_TIMEOUT_SECONDS = 1800
"""20,000 quotations train in well under a minute; a much larger history gets half an hour."""
ON_DEMAND_KEY = "train_models:on_demand"
"""The key of every training asked for (trainModels): saq takes a key once while its job is
queued or running. Not the schedule's (``cron:train_models``, queued hours ahead)."""


async def train_models(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Train and store both models; returns what was stored (kind, version, rows)."""
    # numpy and scikit-learn load here, not at the worker's start-up
    from spirit_tours.ml.training import train_models as train

    stored = await train(ctx["sessions"], min_currency_rows=ctx["settings"].ml_min_currency_rows)
    return [
        {"kind": info.kind, "version": info.version, "training_rows": info.training_rows}
        for info in stored
    ]


async def enqueue_training(queue: Queue) -> tuple[str, datetime]:
    """Queue a training now, unless one asked for earlier is still queued or running: then
    that one, with when it was queued. A training takes minutes of the CPU and a slot of the
    maintenance worker (refunds, payment holds, stranded mail): repeated requests, by clicks
    or a script, never pile trainings up."""
    job = await queue.enqueue("train_models", key=ON_DEMAND_KEY, timeout=TRAIN_TIMEOUT_SECONDS)
    if job is None:  # one is queued or running
        job = await queue.job(ON_DEMAND_KEY)
    if job is None or not job.queued:  # it ended in between
        return ON_DEMAND_KEY, now_utc()
    return ON_DEMAND_KEY, datetime.fromtimestamp(job.queued / 1000, UTC)  # saq: epoch ms
