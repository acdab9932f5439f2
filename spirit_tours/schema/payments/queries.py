"""Payment queries: one payment (ADMIN or the payer), the list."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.payments import sees_payment, visible_payments
from spirit_tours.persistence.repositories import payments as repository
from spirit_tours.persistence.repositories.pagination import encode_cursor, window
from spirit_tours.schema.common import AFTER, BEFORE, FIRST, LAST, page_info
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.payments.inputs import PaymentFilter
from spirit_tours.schema.payments.types import (
    Payment,
    PaymentConnection,
    PaymentEdge,
    load_payment_for,
)

Info = strawberry.Info[Context, None]


async def find_payment(info: Info, payment_id: uuid.UUID) -> Payment | None:
    """``node(id:)``: the payment if the viewer may see it (``sees_payment``, the rule of
    ``payment(id:)``), read through the request's DataLoaders; None otherwise."""
    row = await info.context.loaders.payment.load(payment_id)
    booking = await info.context.loaders.booking.load(row.booking_id) if row else None
    if row is None or booking is None or not sees_payment(info.context.require_viewer(), booking):
        return None
    return Payment.build(info, row)


@strawberry.type
class PaymentQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One payment, for ADMIN or the booking's owner; null, with a NOT_FOUND "
        "error, for anyone else or an unknown id.",
    )
    async def payment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The payment's id.")],
    ) -> Payment | None:
        return await load_payment_for(info, parse_id(id, "id"))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The payments the viewer may see (ADMIN: all; an owner: those of its "
        "bookings), newest first.",
    )
    async def payments(
        self,
        info: Info,
        filter: Annotated[
            PaymentFilter | None,
            strawberry.argument(description="Only the payments matching it; null: all."),
        ] = None,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> PaymentConnection:
        viewer = info.context.require_viewer()
        pages = window(first, after, last, before)
        booking_id = (
            parse_id(filter.booking_id, "bookingId") if filter and filter.booking_id else None
        )
        async with info.context.session() as session:
            page = await repository.payment_page(
                session,
                visible_payments(viewer),
                booking_id=booking_id,
                statuses=filter.statuses if filter else None,
                first=pages.size,
                after=pages.after,
                backwards=pages if pages.backwards else None,
            )
        edges = [
            PaymentEdge(cursor=encode_cursor(row.created_at, row.id), node=Payment.build(info, row))
            for row in page.rows
        ]
        return PaymentConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges],
                has_next=page.has_next,
                has_previous=page.has_previous,
            ),
            total_count=page.total,
        )
