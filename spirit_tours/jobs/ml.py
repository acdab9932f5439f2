"""Training the models: a cron of the maintenance worker (``SPIRIT_ML_TRAIN_CRON``) and the
job that ADMIN's ``trainModels`` queues."""

from __future__ import annotations

from typing import Any

from saq import Queue

from spirit_tours.core.clock import epoch_seconds

TRAIN_TIMEOUT_SECONDS = 1800
"""20,000 quotations train in well under a minute; a much larger history gets half an hour."""


async def train_models(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Train and store both models; returns what was stored (kind, version, rows)."""
    # numpy and scikit-learn load here, not at the worker's start-up
    from spirit_tours.ml.training import train_models as train

    stored = await train(ctx["sessions"], min_currency_rows=ctx["settings"].ml_min_currency_rows)
    return [
        {"kind": info.kind, "version": info.version, "training_rows": info.training_rows}
        for info in stored
    ]


async def enqueue_training(queue: Queue) -> str:
    """Queue one training now. The key is per second: a double click queues it once."""
    key = f"train_models:{int(epoch_seconds())}"
    await queue.enqueue("train_models", key=key, timeout=TRAIN_TIMEOUT_SECONDS)
    return key
