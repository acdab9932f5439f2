"""Payment queries: one payment (ADMIN or the payer), the list."""

from __future__ import annotations

from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.payments import visible_payments
from spirit_tours.persistence.repositories import payments as repository
from spirit_tours.persistence.repositories.pagination import encode_cursor, page_size
from spirit_tours.schema.common import PageInfo
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.payments.inputs import PaymentFilter
from spirit_tours.schema.payments.types import (
    Payment,
    PaymentConnection,
    PaymentEdge,
    load_payment_for,
)

Info = strawberry.Info[Context, None]


@strawberry.type
class PaymentQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One payment, for ADMIN or the booking's owner; NOT_FOUND for anyone else.",
    )
    async def payment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The payment's id.")],
    ) -> Payment:
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
        first: Annotated[
            int, strawberry.argument(description="Page size, 1 to 100; default 20.")
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Start after this cursor (an edge's cursor or "
                "pageInfo.endCursor); null: from the newest."
            ),
        ] = None,
    ) -> PaymentConnection:
        viewer = info.context.require_viewer()
        booking_id = (
            parse_id(filter.booking_id, "bookingId") if filter and filter.booking_id else None
        )
        async with info.context.session() as session:
            page = await repository.payment_page(
                session,
                visible_payments(viewer),
                booking_id=booking_id,
                statuses=filter.statuses if filter else None,
                first=page_size(first),
                after=after,
            )
        edges = [
            PaymentEdge(cursor=encode_cursor(row.created_at, row.id), node=Payment.build(info, row))
            for row in page.rows
        ]
        return PaymentConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )
