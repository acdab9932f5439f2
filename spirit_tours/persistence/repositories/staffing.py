"""Reading guides and vehicles: who is free on which dates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, any_, exists, func, literal, not_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.repositories.pagination import Page, decode_key, encode_key
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


async def guide_page(
    session: AsyncSession,
    *,
    language: str | None,
    free: Period | None,
    first: int,
    after: str | None,
) -> Page[tuple[Guide, User]]:
    """A page of the active guides (speaking ``language``, free over ``free``) by name, then
    id, with the count of all that match."""
    conditions: list[ColumnElement[bool]] = [User.is_active.is_(True)]
    if language:
        conditions.append(literal(language) == any_(Guide.languages))
    if free is not None:
        conditions += [not_(_guide_busy(free)), not_(_guide_away(free))]
    joined = select(Guide, User).join(User, User.id == Guide.user_id)
    count = select(func.count()).select_from(Guide).join(User, User.id == Guide.user_id)
    where = list(conditions)
    if after is not None:
        name, user_id = decode_key(after, (str, uuid.UUID))
        where.append(tuple_(User.full_name, User.id) > tuple_(literal(name), literal(user_id)))
    statement = joined.where(*where).order_by(User.full_name, User.id).limit(first + 1)
    rows = [(guide, user) for guide, user in (await session.execute(statement)).all()]
    total = await session.scalar(count.where(*conditions))
    return Page(rows=rows[:first], has_next=len(rows) > first, total=int(total or 0))


def guide_cursor(user: User) -> str:
    return encode_key((user.full_name, user.id))


async def vehicle_page(
    session: AsyncSession,
    *,
    min_capacity: int | None,
    free: Period | None,
    first: int,
    after: str | None,
) -> Page[Vehicle]:
    """A page of the fleet (seating ``min_capacity``, free over ``free``), smallest first, then
    by name and id, with the count of all that match."""
    conditions: list[ColumnElement[bool]] = []
    if min_capacity is not None:
        conditions.append(Vehicle.capacity >= min_capacity)
    if free is not None:
        busy = exists().where(
            TransportAssignment.vehicle_id == Vehicle.id,
            TransportAssignment.released_at.is_(None),
            overlaps(TransportAssignment.start_date, TransportAssignment.end_date, free),
        )
        conditions.append(not_(busy))
    where = list(conditions)
    if after is not None:
        capacity, name, vehicle_id = decode_key(after, (int, str, uuid.UUID))
        where.append(
            tuple_(Vehicle.capacity, Vehicle.name, Vehicle.id)
            > tuple_(literal(capacity), literal(name), literal(vehicle_id))
        )
    statement = (
        select(Vehicle)
        .where(*where)
        .order_by(Vehicle.capacity, Vehicle.name, Vehicle.id)
        .limit(first + 1)
    )
    rows = list(await session.scalars(statement))
    total = await session.scalar(select(func.count()).select_from(Vehicle).where(*conditions))
    return Page(rows=rows[:first], has_next=len(rows) > first, total=int(total or 0))


def vehicle_cursor(vehicle: Vehicle) -> str:
    return encode_key((vehicle.capacity, vehicle.name, vehicle.id))


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
