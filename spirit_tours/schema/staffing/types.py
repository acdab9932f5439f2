"""Guides and vehicles as GraphQL types."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.enums import VehicleKind
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.pricing_fields import guarded
from spirit_tours.permissions.staffing import GuideScope, guide_scope
from spirit_tours.persistence import staffing as models
from spirit_tours.persistence.accounts import User
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.common import Node, PageInfo

Info = strawberry.Info[Context, None]


@strawberry.type(description="Days a guide is not available (inclusive).")
class TimeOff:
    id: strawberry.ID = strawberry.field(description="Stable identifier, a UUID.")
    start_date: date = strawberry.field(description="First day away (ISO 8601 date).")
    end_date: date = strawberry.field(description="Last day away (ISO 8601 date).")
    reason: str = strawberry.field(description="Why, as given; may be empty.")


@strawberry.type(description="A tour guide and the languages they guide in.")
class Guide(Node):
    id: strawberry.ID = strawberry.field(
        description="Unique across every type (a UUID): the guide's user id."
    )
    full_name: str = strawberry.field(description="The guide's full name.")
    languages: list[str] = strawberry.field(description="ISO 639 codes, e.g. es, en, qu.")
    scope: strawberry.Private[GuideScope]
    user_id: strawberry.Private[uuid.UUID]

    @guarded(
        can.CanSeeTimeOff,
        description="The guide's days off, earliest first: for the operator and the guide "
        "only; null for everyone else.",
    )
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
class Vehicle(Node):
    name: str = strawberry.field(description="The name staff know the vehicle by.")
    plate: str = strawberry.field(description="Its licence plate, unique in the fleet.")
    kind: VehicleKind = strawberry.field(description="What kind of vehicle it is.")
    capacity: int = strawberry.field(description="Seats for travellers.")
    created_at: datetime = strawberry.field(
        description="When it was added to the fleet (ISO 8601, UTC)."
    )

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


@strawberry.type(description="A guide and its cursor.")
class GuideEdge:
    cursor: str = strawberry.field(description="Where this guide stands: pass it as `after`.")
    node: Guide = strawberry.field(description="The guide.")


@strawberry.type(description="A page of guides, by name.")
class GuideConnection:
    edges: list[GuideEdge] = strawberry.field(description="The guides of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the whole list.")
    total_count: int = strawberry.field(
        description="How many guides match the filter, on every page."
    )

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Guide]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A vehicle and its cursor.")
class VehicleEdge:
    cursor: str = strawberry.field(description="Where this vehicle stands: pass it as `after`.")
    node: Vehicle = strawberry.field(description="The vehicle.")


@strawberry.type(description="A page of vehicles, smallest first, then by name.")
class VehicleConnection:
    edges: list[VehicleEdge] = strawberry.field(description="The vehicles of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the whole list.")
    total_count: int = strawberry.field(
        description="How many vehicles match the filter, on every page."
    )

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Vehicle]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="The guide after the mutation.")
class GuidePayload:
    guide: Guide = strawberry.field(description="The guide as changed.")


@strawberry.type(description="The vehicle after the mutation.")
class VehiclePayload:
    vehicle: Vehicle = strawberry.field(description="The vehicle as stored.")
