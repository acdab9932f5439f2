"""A user's inbox: the notifications kept until they acknowledge them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.events import Notification


async def unacknowledged(session: AsyncSession, user_id: uuid.UUID) -> list[Notification]:
    """Oldest first (the partial index ``ix_notifications_unacknowledged`` serves it)."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.acknowledged_at.is_(None))
        .order_by(Notification.id)
    )
    return list(rows)


async def acknowledge(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[int], at: datetime
) -> int:
    """Marks the user's own entries among ``ids``; another user's ids change nothing."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.user_id == user_id,
            Notification.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
