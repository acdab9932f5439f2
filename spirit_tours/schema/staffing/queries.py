"""The operator's queries of guides and the fleet."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import bad_input, forbidden, not_found
from spirit_tours.permissions.classes import IsAdmin, IsOperatorStaff
from spirit_tours.permissions.staffing import is_self_or_operator
from spirit_tours.persistence.repositories import staffing as repository
from spirit_tours.persistence.repositories.pagination import page_size
from spirit_tours.persistence.repositories.staffing import Period
from spirit_tours.resolvers import guides as rules
from spirit_tours.schema.common import AFTER, FIRST, forward_page
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.staffing.inputs import GuideFilter, VehicleFilter
from spirit_tours.schema.staffing.types import (
    Guide,
    GuideConnection,
    GuideEdge,
    Vehicle,
    VehicleConnection,
    VehicleEdge,
    load_guide,
)

Info = strawberry.Info[Context, None]


def _window(free_from: date | None, free_until: date | None) -> Period | None:
    if free_from is None and free_until is None:
        return None
    if free_from is None or free_until is None:
        raise bad_input("freeFrom", "Give both freeFrom and freeUntil, or neither.")
    if free_until < free_from:
        raise bad_input("freeUntil", "freeUntil is on or after freeFrom.")
    return Period(free_from, free_until)


@strawberry.type
class StaffingQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Guides by name, optionally by language and free dates (ADMIN).",
    )
    async def guides(
        self,
        info: Info,
        filter: Annotated[
            GuideFilter | None,
            strawberry.argument(description="Only the guides matching it; null: all."),
        ] = None,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
    ) -> GuideConnection:
        filter = filter or GuideFilter()
        language = rules.language_code(filter.language, "language") if filter.language else None
        window = _window(filter.free_from, filter.free_until)
        async with info.context.session() as session:
            page = await repository.guide_page(
                session, language=language, free=window, first=page_size(first), after=after
            )
        edges = [
            GuideEdge(cursor=repository.guide_cursor(user), node=Guide.build(info, guide, user))
            for guide, user in page.rows
        ]
        return GuideConnection(
            edges=edges,
            page_info=forward_page(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
            total_count=page.total,
        )

    @strawberry.field(
        permission_classes=[IsOperatorStaff],
        description="One guide's profile, for ADMIN or the guide themself; null, with a "
        "NOT_FOUND error, for an unknown id (FORBIDDEN for another guide's).",
    )
    async def guide(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The guide's id.")],
    ) -> Guide | None:
        viewer = info.context.require_viewer()
        guide_id = parse_id(id, "id")
        if not is_self_or_operator(viewer, guide_id):
            raise forbidden("Guides see their own profile only.")
        guide = await load_guide(info, guide_id)
        if guide is None:
            raise not_found("Guide")
        return guide

    @strawberry.field(
        permission_classes=[IsAdmin], description="The fleet, smallest first, then by name (ADMIN)."
    )
    async def vehicles(
        self,
        info: Info,
        filter: Annotated[
            VehicleFilter | None,
            strawberry.argument(description="Only the vehicles matching it; null: all."),
        ] = None,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
    ) -> VehicleConnection:
        filter = filter or VehicleFilter()
        window = _window(filter.free_from, filter.free_until)
        async with info.context.session() as session:
            page = await repository.vehicle_page(
                session,
                min_capacity=filter.min_capacity,
                free=window,
                first=page_size(first),
                after=after,
            )
        edges = [
            VehicleEdge(cursor=repository.vehicle_cursor(row), node=Vehicle.from_model(row))
            for row in page.rows
        ]
        return VehicleConnection(
            edges=edges,
            page_info=forward_page(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
            total_count=page.total,
        )
