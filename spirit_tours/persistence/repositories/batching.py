"""Batch reads for the DataLoaders: one query for many parents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.persistence.base import Base

T = TypeVar("T", bound=Base)


async def children_by_parent(
    session: AsyncSession,
    child: type[T],
    parent: InstrumentedAttribute[uuid.UUID],
    parent_ids: Sequence[uuid.UUID],
    *order_by: Any,
) -> dict[uuid.UUID, list[T]]:
    """The ``child`` rows whose ``parent`` column is in ``parent_ids``, grouped by it; every
    requested id is a key, so parents without children get an empty list."""
    rows = await session.scalars(select(child).where(parent.in_(parent_ids)).order_by(*order_by))
    grouped: dict[uuid.UUID, list[T]] = {parent_id: [] for parent_id in parent_ids}
    for row in rows:
        grouped[getattr(row, parent.key)].append(row)
    return grouped
