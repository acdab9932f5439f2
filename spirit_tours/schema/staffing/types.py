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
    id: strawberry.ID
    start_date: date
    end_date: date
    reason: str


@strawberry.type(description="A tour guide and the languages they guide in.")
class Guide(Node):
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
class Vehicle(Node):
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


@strawberry.type
class GuideEdge:
    cursor: str
    node: Guide


@strawberry.type
class GuideConnection:
    edges: list[GuideEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Guide]:
        return [edge.node for edge in self.edges]


@strawberry.type
class VehicleEdge:
    cursor: str
    node: Vehicle


@strawberry.type
class VehicleConnection:
    edges: list[VehicleEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Vehicle]:
        return [edge.node for edge in self.edges]


@strawberry.type
class GuidePayload:
    guide: Guide


@strawberry.type
class VehiclePayload:
    vehicle: Vehicle
