"""Managing guides (languages, time off) and the fleet."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import not_found
from spirit_tours.permissions.classes import IsAdmin, IsOperatorStaff
from spirit_tours.persistence.repositories.staffing import Period
from spirit_tours.resolvers import guides as rules
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.staffing.inputs import (
    AddGuideTimeOffInput,
    CreateVehicleInput,
    RemoveGuideTimeOffInput,
    SetGuideLanguagesInput,
)
from spirit_tours.schema.staffing.types import GuidePayload, Vehicle, VehiclePayload, load_guide

Info = strawberry.Info[Context, None]


async def _guide_payload(info: Info, guide_id: uuid.UUID) -> GuidePayload:
    info.context.loaders.forget_guide(guide_id)
    guide = await load_guide(info, guide_id)
    if guide is None:
        raise not_found("Guide")
    return GuidePayload(guide=guide)


@strawberry.type
class StaffingMutations:
    @strawberry.mutation(
        permission_classes=[IsOperatorStaff],
        description="ADMIN, or the guide: set the languages the guide guides in.",
    )
    async def set_guide_languages(
        self,
        info: Info,
        input: Annotated[
            SetGuideLanguagesInput,
            strawberry.argument(description="The guide and their languages."),
        ],
    ) -> GuidePayload:
        viewer = info.context.require_viewer()
        guide_id = parse_id(input.guide_id, "guideId")
        async with info.context.transaction() as session:
            await rules.set_guide_languages(session, viewer, guide_id, input.languages)
        return await _guide_payload(info, guide_id)

    @strawberry.mutation(
        permission_classes=[IsOperatorStaff],
        description="ADMIN, or the guide: days the guide is away, clear of their assignments.",
    )
    async def add_guide_time_off(
        self,
        info: Info,
        input: Annotated[
            AddGuideTimeOffInput, strawberry.argument(description="The guide and the days away.")
        ],
    ) -> GuidePayload:
        viewer = info.context.require_viewer()
        guide_id = parse_id(input.guide_id, "guideId")
        period = Period(input.start_date, input.end_date)
        async with info.context.transaction() as session:
            await rules.add_time_off(
                session, viewer, guide_id, period, input.reason, now_utc().date()
            )
        return await _guide_payload(info, guide_id)

    @strawberry.mutation(
        permission_classes=[IsOperatorStaff],
        description="ADMIN, or the guide: take back days off.",
    )
    async def remove_guide_time_off(
        self,
        info: Info,
        input: Annotated[
            RemoveGuideTimeOffInput, strawberry.argument(description="The time off to remove.")
        ],
    ) -> GuidePayload:
        viewer = info.context.require_viewer()
        time_off_id = parse_id(input.time_off_id, "timeOffId")
        async with info.context.transaction() as session:
            guide = await rules.remove_time_off(session, viewer, time_off_id)
        return await _guide_payload(info, guide.user_id)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="ADMIN adds a vehicle to the fleet."
    )
    async def create_vehicle(
        self,
        info: Info,
        input: Annotated[
            CreateVehicleInput, strawberry.argument(description="The vehicle to add.")
        ],
    ) -> VehiclePayload:
        viewer = info.context.require_viewer()
        new = rules.NewVehicle(input.name, input.plate, input.kind, input.capacity)
        async with info.context.transaction() as session:
            row = await rules.create_vehicle(session, viewer, new)
        return VehiclePayload(vehicle=Vehicle.from_model(row))
