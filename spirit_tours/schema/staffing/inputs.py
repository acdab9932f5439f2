"""What a client sends to find guides and vehicles and to manage them."""

from __future__ import annotations

from datetime import date

import strawberry

from spirit_tours.core.enums import VehicleKind
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums


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
