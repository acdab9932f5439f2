"""E-mail that could not be delivered after every attempt, kept for the operator."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.persistence.base import Base, UUIDPrimaryKey, utcnow


class EmailDeadLetter(UUIDPrimaryKey, Base):
    """A message whose last attempt failed: what to send, to whom, and why it did not go."""

    __tablename__ = "email_dead_letters"

    template: Mapped[str] = mapped_column(String(60))
    locale: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    priority: Mapped[str] = mapped_column(String(10))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int]
    last_error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    requeued_at: Mapped[datetime | None]
    requeued_by_id: Mapped[uuid.UUID | None]

    __table_args__ = (Index("ix_email_dead_letters_failed_at", "failed_at"),)
