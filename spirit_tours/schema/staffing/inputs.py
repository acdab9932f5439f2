"""What a client sends to find guides and vehicles and to manage them."""

from __future__ import annotations

from datetime import date

import strawberry

from spirit_tours.core.enums import VehicleKind
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums


@strawberry.input(description="Narrows the guides; every condition given must hold.")
class GuideFilter:
    language: str | None = strawberry.field(
        default=None, description="Only guides who speak this language (ISO 639 code)."
    )
    free_from: date | None = strawberry.field(
        default=None,
        description="Free (no assignment, no time off) on every day from this one (ISO 8601 "
        "date)… Give both or neither.",
    )
    free_until: date | None = strawberry.field(
        default=None, description="…up to this one (ISO 8601 date), inclusive."
    )


@strawberry.input(description="Narrows the fleet; every condition given must hold.")
class VehicleFilter:
    min_capacity: int | None = strawberry.field(
        default=None, description="Only vehicles with at least this many seats."
    )
    free_from: date | None = strawberry.field(
        default=None,
        description="Unassigned on every day from this one (ISO 8601 date)… Give both or neither.",
    )
    free_until: date | None = strawberry.field(
        default=None, description="…up to this one (ISO 8601 date), inclusive."
    )


@strawberry.input(description="The languages a guide guides in.")
class SetGuideLanguagesInput:
    guide_id: strawberry.ID = strawberry.field(description="The guide, by their id.")
    languages: list[str] = strawberry.field(
        description="1 to 12 ISO 639 codes, e.g. es, en, qu; they replace the current ones."
    )


@strawberry.input(description="Days a guide is not available.")
class AddGuideTimeOffInput:
    guide_id: strawberry.ID = strawberry.field(description="The guide, by their id.")
    start_date: date = strawberry.field(description="First day away (ISO 8601 date).")
    end_date: date = strawberry.field(
        description="Last day away (ISO 8601 date): on or after startDate, not in the past."
    )
    reason: str = strawberry.field(
        default="", description="Why, at most 500 characters; for the operator and the guide."
    )


@strawberry.input(description="Days off to take back.")
class RemoveGuideTimeOffInput:
    time_off_id: strawberry.ID = strawberry.field(description="The time off, by its id.")


@strawberry.input(description="A vehicle to add to the fleet.")
class CreateVehicleInput:
    name: str = strawberry.field(description="The name staff know it by, 1 to 120 characters.")
    plate: str = strawberry.field(description="Its licence plate, 2 to 20 characters, unique.")
    kind: VehicleKind = strawberry.field(description="What kind of vehicle it is.")
    capacity: int = strawberry.field(description="Seats for travellers, 1 to 100.")
