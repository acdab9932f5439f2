"""Guides and vehicles: types, the operator's queries and the mutations that manage them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry

from spirit_tours.context import Context
from spirit_tours.errors import bad_input, forbidden, not_found
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.classes import IsAdmin, IsOperatorStaff
from spirit_tours.permissions.pricing_fields import guarded
from spirit_tours.permissions.staffing import GuideScope, guide_scope, is_self_or_operator
from spirit_tours.persistence import staffing as models
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.enums import VehicleKind
from spirit_tours.persistence.repositories import staffing as repository
from spirit_tours.persistence.repositories.staffing import Period
from spirit_tours.resolvers import guides as rules
from spirit_tours.resolvers.quotations.rules import now_utc
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.ids import parse_id

Info = strawberry.Info[Context, None]


@strawberry.type(description="Days a guide is not available (inclusive).")
class TimeOff:
    id: strawberry.ID
    start_date: date
    end_date: date
    reason: str


@strawberry.type(description="A tour guide and the languages they guide in.")
class Guide:
    id: strawberry.ID
    full_name: str
    languages: list[str] = strawberry.field(description="ISO 639 codes, e.g. es, en, qu.")
    scope: strawberry.Private[GuideScope]
    user_id: strawberry.Private[uuid.UUID]

    @guarded(can.CanSeeTimeOff, description="Operator and the guide only.")
    async def time_off(self, info: Info) -> list[TimeOff] | None:
        rows = await info.context.loaders.time_off.load(self.user_id)
        return [
            TimeOff(
                id=strawberry.ID(str(row.id)),
                start_date=row.start_date,
                end_date=row.end_date,
                reason=row.reason,
            )
            for row in rows
        ]

    @classmethod
    def build(cls, info: Info, guide: models.Guide, user: User) -> Guide:
        scope = guide_scope(info.context.require_viewer(), guide.user_id)
        return cls(
            id=strawberry.ID(str(guide.user_id)),
            full_name=user.full_name,
            languages=list(guide.languages),
            scope=scope,
            user_id=guide.user_id,
        )


async def load_guide(info: Info, guide_id: uuid.UUID) -> Guide | None:
    guide = await info.context.loaders.guide.load(guide_id)
    user = await info.context.loaders.user.load(guide_id)
    if guide is None or user is None:
        return None
    return Guide.build(info, guide, user)


@strawberry.type(description="A vehicle of the operator's fleet.")
class Vehicle:
    id: strawberry.ID
    name: str
    plate: str
    kind: VehicleKind
    capacity: int = strawberry.field(description="Seats for travellers.")
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Vehicle) -> Vehicle:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            plate=row.plate,
            kind=row.kind,
            capacity=row.capacity,
            created_at=row.created_at,
        )


def _window(free_from: date | None, free_until: date | None) -> Period | None:
    if free_from is None and free_until is None:
        return None
    if free_from is None or free_until is None:
        raise bad_input("freeFrom", "Give both freeFrom and freeUntil, or neither.")
    if free_until < free_from:
        raise bad_input("freeUntil", "freeUntil is on or after freeFrom.")
    return Period(free_from, free_until)


@strawberry.input
class GuideFilter:
    language: str | None = None
    free_from: date | None = strawberry.field(default=None, description="Free on every day…")
    free_until: date | None = strawberry.field(default=None, description="…up to this one.")


@strawberry.input
class VehicleFilter:
    min_capacity: int | None = None
    free_from: date | None = None
    free_until: date | None = None


@strawberry.type
class StaffingQueries:
    @strawberry.field(permission_classes=[IsAdmin], description="Guides, by language and dates.")
    async def guides(self, info: Info, filter: GuideFilter | None = None) -> list[Guide]:
        filter = filter or GuideFilter()
        language = rules.language_code(filter.language, "language") if filter.language else None
        window = _window(filter.free_from, filter.free_until)
        async with info.context.session() as session:
            rows = await repository.find_guides(session, language=language, free=window)
        return [Guide.build(info, guide, user) for guide, user in rows]

    @strawberry.field(permission_classes=[IsOperatorStaff], description="ADMIN, or the guide.")
    async def guide(self, info: Info, id: strawberry.ID) -> Guide:
        viewer = info.context.require_viewer()
        guide_id = parse_id(id, "id")
        if not is_self_or_operator(viewer, guide_id):
            raise forbidden("Guides see their own profile only.")
        guide = await load_guide(info, guide_id)
        if guide is None:
            raise not_found("Guide")
        return guide

    @strawberry.field(permission_classes=[IsAdmin], description="The fleet, smallest first.")
    async def vehicles(self, info: Info, filter: VehicleFilter | None = None) -> list[Vehicle]:
        filter = filter or VehicleFilter()
        window = _window(filter.free_from, filter.free_until)
        async with info.context.session() as session:
            rows = await repository.find_vehicles(
                session, min_capacity=filter.min_capacity, free=window
            )
        return [Vehicle.from_model(row) for row in rows]


@strawberry.input
class SetGuideLanguagesInput:
    guide_id: strawberry.ID
    languages: list[str]


@strawberry.input
class AddGuideTimeOffInput:
    guide_id: strawberry.ID
    start_date: date
    end_date: date
    reason: str = ""


@strawberry.input
class RemoveGuideTimeOffInput:
    time_off_id: strawberry.ID


@strawberry.input
class CreateVehicleInput:
    name: str
    plate: str
    kind: VehicleKind
    capacity: int


@strawberry.type
class GuidePayload:
    guide: Guide


@strawberry.type
class VehiclePayload:
    vehicle: Vehicle


async def _guide_payload(info: Info, guide_id: uuid.UUID) -> GuidePayload:
    info.context.loaders.forget_guide(guide_id)
    guide = await load_guide(info, guide_id)
    if guide is None:
        raise not_found("Guide")
    return GuidePayload(guide=guide)


@strawberry.type
class StaffingMutations:
    @strawberry.mutation(permission_classes=[IsOperatorStaff], description="ADMIN, or the guide.")
    async def set_guide_languages(self, info: Info, input: SetGuideLanguagesInput) -> GuidePayload:
        viewer = info.context.require_viewer()
        guide_id = parse_id(input.guide_id, "guideId")
        async with info.context.transaction() as session:
            await rules.set_guide_languages(session, viewer, guide_id, input.languages)
        return await _guide_payload(info, guide_id)

    @strawberry.mutation(permission_classes=[IsOperatorStaff], description="ADMIN, or the guide.")
    async def add_guide_time_off(self, info: Info, input: AddGuideTimeOffInput) -> GuidePayload:
        viewer = info.context.require_viewer()
        guide_id = parse_id(input.guide_id, "guideId")
        period = Period(input.start_date, input.end_date)
        async with info.context.transaction() as session:
            await rules.add_time_off(
                session, viewer, guide_id, period, input.reason, now_utc().date()
            )
        return await _guide_payload(info, guide_id)

    @strawberry.mutation(permission_classes=[IsOperatorStaff], description="ADMIN, or the guide.")
    async def remove_guide_time_off(
        self, info: Info, input: RemoveGuideTimeOffInput
    ) -> GuidePayload:
        viewer = info.context.require_viewer()
        time_off_id = parse_id(input.time_off_id, "timeOffId")
        async with info.context.transaction() as session:
            guide = await rules.remove_time_off(session, viewer, time_off_id)
        return await _guide_payload(info, guide.user_id)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a vehicle to the fleet.")
    async def create_vehicle(self, info: Info, input: CreateVehicleInput) -> VehiclePayload:
        viewer = info.context.require_viewer()
        new = rules.NewVehicle(input.name, input.plate, input.kind, input.capacity)
        async with info.context.transaction() as session:
            row = await rules.create_vehicle(session, viewer, new)
        return VehiclePayload(vehicle=Vehicle.from_model(row))
