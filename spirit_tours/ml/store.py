"""Trained models in ``ml_models``: saved with the next version of their kind, listed, and
read back. The bytes are joblib's, written by ``training`` and loaded only from this table."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.ml import MlModel


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A stored model without its bytes."""

    id: uuid.UUID
    kind: str
    version: int
    trained_at: datetime
    training_rows: int
    evaluation: dict[str, Any]


_INFO = (MlModel.id, MlModel.kind, MlModel.version, MlModel.trained_at, MlModel.training_rows,
         MlModel.evaluation)  # fmt: skip


def serialize(model: object) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def deserialize(payload: bytes) -> Any:
    """The model of one of our own rows (unpickling runs code: never bytes from elsewhere)."""
    import joblib

    return joblib.load(io.BytesIO(payload))


async def save_model(
    session: AsyncSession,
    kind: str,
    *,
    trained_at: datetime,
    training_rows: int,
    evaluation: dict[str, Any],
    payload: bytes,
) -> ModelInfo:
    """Store a model as the next version of its kind. Two trainings at once (the cron and an
    ADMIN's) take turns on a transaction lock, so versions never collide."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"ml_models:{kind}"}
    )
    latest = await session.scalar(select(func.max(MlModel.version)).where(MlModel.kind == kind))
    row = MlModel(
        kind=kind,
        version=(latest or 0) + 1,
        trained_at=trained_at,
        training_rows=training_rows,
        evaluation=evaluation,
        payload=payload,
    )
    session.add(row)
    await session.flush()
    return ModelInfo(row.id, kind, row.version, trained_at, training_rows, evaluation)


async def latest_id(session: AsyncSession, kind: str) -> uuid.UUID | None:
    """The id of the newest model of ``kind``: one index lookup, the serving processes' poll."""
    found: uuid.UUID | None = await session.scalar(
        select(MlModel.id).where(MlModel.kind == kind).order_by(MlModel.version.desc()).limit(1)
    )
    return found


async def load_model(session: AsyncSession, model_id: uuid.UUID) -> tuple[ModelInfo, bytes] | None:
    row = (
        await session.execute(select(*_INFO, MlModel.payload).where(MlModel.id == model_id))
    ).first()
    if row is None:
        return None
    return ModelInfo(*row[:6]), row.payload


async def list_models(session: AsyncSession, kind: str | None, limit: int) -> list[ModelInfo]:
    """Stored models, newest first (of one kind, or all)."""
    query = select(*_INFO).order_by(MlModel.trained_at.desc(), MlModel.version.desc()).limit(limit)
    if kind is not None:
        query = query.where(MlModel.kind == kind)
    return [ModelInfo(*row) for row in await session.execute(query)]
