"""Trained machine-learning models (spirit_tours/ml): one row per training of one kind.

The serialized model is joblib bytes written by our own training job and read back only from
this table, never from a file or a network: unpickling runs code, so its only source is us.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey


class MlModel(UUIDPrimaryKey, Timestamps, Base):
    """One trained model: its kind (``hotel_ranking``, ``net_price``), a version that only
    grows per kind, when and on how many rows it was trained, its held-out evaluation (the
    metrics beside their baselines) and the model itself."""

    __tablename__ = "ml_models"

    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    trained_at: Mapped[datetime]
    training_rows: Mapped[int]
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    payload: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        # Also the index of "the latest version of a kind", read by every serving process.
        UniqueConstraint("kind", "version", name="uq_ml_models_kind_version"),
        CheckConstraint("version > 0", name="version_positive"),
    )
