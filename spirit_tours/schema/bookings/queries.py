"""Booking queries: one by id (null and NOT_FOUND when hidden) and a cursor-paginated list."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import not_found
from spirit_tours.permissions.bookings import visible_bookings
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.persistence.repositories import bookings as repository
from spirit_tours.persistence.repositories.bookings import BookingFilters
from spirit_tours.persistence.repositories.pagination import encode_cursor, window
from spirit_tours.schema.bookings.inputs import BookingFilter
from spirit_tours.schema.bookings.types import (
    Booking,
    BookingConnection,
    BookingEdge,
    booking_for_viewer,
)
from spirit_tours.schema.common import AFTER, BEFORE, FIRST, LAST, page_info
from spirit_tours.schema.ids import parse_id

Info = strawberry.Info[Context, None]


async def find_booking(info: Info, booking_id: uuid.UUID) -> Booking | None:
    """``booking(id:)`` and ``node(id:)``: the booking the viewer may see, or None."""
    row = await info.context.loaders.booking.load(booking_id)
    return await booking_for_viewer(info, row) if row else None


@strawberry.type
class BookingQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=(
            "One booking as the viewer may see it; null, with a NOT_FOUND error, when it does "
            "not exist or the viewer has no relation to it."
        ),
    )
    async def booking(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The booking's id.")],
    ) -> Booking | None:
        booking = await find_booking(info, parse_id(id, "id"))
        if booking is None:
            raise not_found("Booking")
        return booking

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The bookings the viewer may see (a guide: their own), newest first.",
    )
    async def bookings(
        self,
        info: Info,
        filter: Annotated[
            BookingFilter | None,
            strawberry.argument(description="Only the bookings matching it; null: all."),
        ] = None,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> BookingConnection:
        viewer = info.context.require_viewer()
        filters = filter.filters() if filter else BookingFilters()
        pages = window(first, after, last, before)
        async with info.context.session() as session:
            page = await repository.booking_page(
                session,
                visible_bookings(viewer),
                filters,
                first=pages.size,
                after=pages.after,
                backwards=pages if pages.backwards else None,
            )
        loaders = info.context.loaders
        ids = [row.id for row in page.rows]
        hotels = await loaders.booking_hotels.load_many(ids)
        guides = await loaders.guide_assignments.load_many(ids)
        edges = []
        for row, hotel_rows, guide_rows in zip(page.rows, hotels, guides, strict=True):
            node = Booking.for_viewer(row, viewer, hotel_rows, guide_rows)
            if node is not None:  # the SQL already kept only visible bookings
                edges.append(BookingEdge(cursor=encode_cursor(row.created_at, row.id), node=node))
        return BookingConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges],
                has_next=page.has_next,
                has_previous=page.has_previous,
            ),
            total_count=page.total,
        )
