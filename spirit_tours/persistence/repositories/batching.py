"""Batch reads for the DataLoaders: one query for many parents or ids.

The hot ones read plain rows (:func:`plain_rows`): a SQLAlchemy Core select of the model's
table, whose ``Row`` objects have the model's column attributes with the same types (enums,
JSON, Decimal) but no identity map, instrumentation or lazy loading — reading a page of them
costs a fraction of loading ORM entities. They are read-only: a change goes through a write
session and the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.persistence.base import Base

T = TypeVar("T", bound=Base)


def plain_select(model: type[T]) -> Select[Any]:
    """``select(model)`` as Core: every column of the model's table, by its attribute name."""
    return select(*model.__table__.columns)


async def plain_rows(session: AsyncSession, model: type[T], statement: Select[Any]) -> list[T]:
    """The rows of ``statement`` (a :func:`plain_select` of ``model``), typed as the model whose
    columns they carry (read-only)."""
    return cast(list[T], list((await session.execute(statement)).all()))


async def plain_by_ids(
    session: AsyncSession, model: type[T], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, T]:
    """Plain rows of ``model`` by primary key ``id``."""
    id_column: InstrumentedAttribute[uuid.UUID] = model.id  # type: ignore[attr-defined]
    rows = await plain_rows(session, model, plain_select(model).where(id_column.in_(ids)))
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


async def children_by_parent(
    session: AsyncSession,
    child: type[T],
    parent: InstrumentedAttribute[uuid.UUID],
    parent_ids: Sequence[uuid.UUID],
    *order_by: Any,
    plain: bool = False,
) -> dict[uuid.UUID, list[T]]:
    """The ``child`` rows whose ``parent`` column is in ``parent_ids``, grouped by it; every
    requested id is a key, so parents without children get an empty list. ``plain``: read-only
    plain rows instead of ORM entities."""
    where = parent.in_(parent_ids)
    if plain:
        rows = await plain_rows(
            session, child, plain_select(child).where(where).order_by(*order_by)
        )
    else:
        rows = list(await session.scalars(select(child).where(where).order_by(*order_by)))
    grouped: dict[uuid.UUID, list[T]] = {parent_id: [] for parent_id in parent_ids}
    key = parent.key
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped
