"""Guides' languages and time off, and the operator's vehicles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache

from babel import Locale
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import VehicleKind
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, forbidden, not_found
from spirit_tours.permissions.staffing import is_self_or_operator
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.conflicts import flush_or_conflict
from spirit_tours.persistence.repositories import staffing as repository
from spirit_tours.persistence.repositories.events import record_audit
from spirit_tours.persistence.repositories.staffing import Period
from spirit_tours.persistence.staffing import Guide, GuideTimeOff, Vehicle

MAX_LANGUAGES = 12
MAX_CAPACITY = 100


@cache
def _languages() -> frozenset[str]:
    return frozenset(str(code) for code in Locale("en").languages if len(str(code)) in (2, 3))


def language_code(value: str, field: str) -> str:
    """An ISO 639 language code such as ``es`` or ``qu``, lower-cased, or BAD_USER_INPUT."""
    code = value.strip().lower()
    if code not in _languages():
        raise bad_input(field, f"{value!r} is not an ISO 639 language code.")
    return code


async def _guide_for(session: AsyncSession, viewer: Viewer, guide_id: uuid.UUID) -> Guide:
    """A guide manages their own profile; the operator manages everyone's."""
    if not is_self_or_operator(viewer, guide_id):
        raise forbidden("Guides manage their own profile only.")
    guide = await session.scalar(select(Guide).where(Guide.user_id == guide_id).with_for_update())
    if guide is None:
        raise not_found("Guide")
    return guide


async def set_guide_languages(
    session: AsyncSession, viewer: Viewer, guide_id: uuid.UUID, languages: list[str]
) -> Guide:
    codes = list(dict.fromkeys(language_code(value, "languages") for value in languages))
    if not 1 <= len(codes) <= MAX_LANGUAGES:
        raise bad_input("languages", f"A guide speaks 1 to {MAX_LANGUAGES} languages.")
    guide = await _guide_for(session, viewer, guide_id)
    guide.languages = codes
    record_audit(session, viewer, "guide.languages", "Guide", guide_id, languages=codes)
    return guide


async def add_time_off(
    session: AsyncSession,
    viewer: Viewer,
    guide_id: uuid.UUID,
    period: Period,
    reason: str,
    today: date,
) -> Guide:
    if period.end < period.start:
        raise bad_input("endDate", "The time off ends on or after its start.")
    if period.end < today:
        raise bad_input("endDate", "The time off is already over.")
    if len(reason) > 500:
        raise bad_input("reason", "Keep the reason under 500 characters.")
    guide = await _guide_for(session, viewer, guide_id)
    clash = await repository.guide_clash(session, guide_id, period)
    if clash is not None:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The guide is assigned to a booking from {clash.start_date} to {clash.end_date}; "
            "unassign them first.",
            field="startDate",
            conflictingBookingId=str(clash.booking_id),
        )
    session.add(
        GuideTimeOff(guide_id=guide_id, start_date=period.start, end_date=period.end, reason=reason)
    )
    record_audit(session, viewer, "guide.time_off", "Guide", guide_id,
                 start=period.start.isoformat(), end=period.end.isoformat())  # fmt: skip
    return guide


async def remove_time_off(session: AsyncSession, viewer: Viewer, time_off_id: uuid.UUID) -> Guide:
    time_off = await session.get(GuideTimeOff, time_off_id)
    if time_off is None:
        raise not_found("Time off")
    guide = await _guide_for(session, viewer, time_off.guide_id)
    await session.delete(time_off)
    record_audit(session, viewer, "guide.time_off_removed", "Guide", guide.user_id,
                 start=time_off.start_date.isoformat(),
                 end=time_off.end_date.isoformat())  # fmt: skip
    return guide


@dataclass(frozen=True)
class NewVehicle:
    name: str
    plate: str
    kind: VehicleKind
    capacity: int


async def create_vehicle(session: AsyncSession, viewer: Viewer, new: NewVehicle) -> Vehicle:
    name = new.name.strip()
    plate = " ".join(new.plate.upper().split())
    if not 1 <= len(name) <= 120:
        raise bad_input("name", "A vehicle needs a name of up to 120 characters.")
    if not 2 <= len(plate) <= 20:
        raise bad_input("plate", "A plate has 2 to 20 characters.")
    if not 1 <= new.capacity <= MAX_CAPACITY:
        raise bad_input("capacity", f"A vehicle seats 1 to {MAX_CAPACITY} travellers.")
    if await session.scalar(select(Vehicle.id).where(Vehicle.plate == plate)) is not None:
        raise DomainError(
            ErrorCode.CONFLICT, f"A vehicle with plate {plate} exists.", field="plate"
        )
    vehicle = Vehicle(id=uuid.uuid4(), name=name, plate=plate, kind=new.kind,
                      capacity=new.capacity)  # fmt: skip
    session.add(vehicle)
    await flush_or_conflict(session, f"A vehicle with plate {plate} exists.", field="plate")
    record_audit(session, viewer, "vehicle.create", "Vehicle", vehicle.id, plate=plate)
    return vehicle
