"""Reading guides and vehicles: who is free on which dates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, any_, exists, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.staffing import (
    Guide,
    GuideAssignment,
    GuideTimeOff,
    TransportAssignment,
    Vehicle,
)


@dataclass(frozen=True)
class Period:
    """Inclusive calendar dates."""

    start: date
    end: date


def overlaps(
    start: InstrumentedAttribute[date], end: InstrumentedAttribute[date], period: Period
) -> ColumnElement[bool]:
    return and_(start <= period.end, end >= period.start)


def _guide_busy(period: Period) -> ColumnElement[bool]:
    return exists().where(
        GuideAssignment.guide_id == Guide.user_id,
        GuideAssignment.released_at.is_(None),
        overlaps(GuideAssignment.start_date, GuideAssignment.end_date, period),
    )


def _guide_away(period: Period) -> ColumnElement[bool]:
    return exists().where(
        GuideTimeOff.guide_id == Guide.user_id,
        overlaps(GuideTimeOff.start_date, GuideTimeOff.end_date, period),
    )


async def find_guides(
    session: AsyncSession, *, language: str | None, free: Period | None
) -> list[tuple[Guide, User]]:
    statement = select(Guide, User).join(User, User.id == Guide.user_id).where(User.is_active)
    if language:
        statement = statement.where(literal(language) == any_(Guide.languages))
    if free is not None:
        statement = statement.where(not_(_guide_busy(free)), not_(_guide_away(free)))
    rows = await session.execute(statement.order_by(User.full_name, User.id))
    return [(guide, user) for guide, user in rows.all()]


async def find_vehicles(
    session: AsyncSession, *, min_capacity: int | None, free: Period | None
) -> list[Vehicle]:
    statement = select(Vehicle)
    if min_capacity is not None:
        statement = statement.where(Vehicle.capacity >= min_capacity)
    if free is not None:
        busy = exists().where(
            TransportAssignment.vehicle_id == Vehicle.id,
            TransportAssignment.released_at.is_(None),
            overlaps(TransportAssignment.start_date, TransportAssignment.end_date, free),
        )
        statement = statement.where(not_(busy))
    return list(await session.scalars(statement.order_by(Vehicle.capacity, Vehicle.name)))


async def guide_clash(
    session: AsyncSession, guide_id: uuid.UUID, period: Period
) -> GuideAssignment | None:
    return await session.scalar(
        select(GuideAssignment)
        .where(
            GuideAssignment.guide_id == guide_id,
            GuideAssignment.released_at.is_(None),
            overlaps(GuideAssignment.start_date, GuideAssignment.end_date, period),
        )
        .limit(1)
    )


async def guide_time_off_clash(
    session: AsyncSession, guide_id: uuid.UUID, period: Period
) -> GuideTimeOff | None:
    return await session.scalar(
        select(GuideTimeOff)
        .where(
            GuideTimeOff.guide_id == guide_id,
            overlaps(GuideTimeOff.start_date, GuideTimeOff.end_date, period),
        )
        .limit(1)
    )


async def vehicle_clash(
    session: AsyncSession, vehicle_id: uuid.UUID, period: Period
) -> TransportAssignment | None:
    return await session.scalar(
        select(TransportAssignment)
        .where(
            TransportAssignment.vehicle_id == vehicle_id,
            TransportAssignment.released_at.is_(None),
            overlaps(TransportAssignment.start_date, TransportAssignment.end_date, period),
        )
        .limit(1)
    )
