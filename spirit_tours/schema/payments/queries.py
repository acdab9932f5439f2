"""Payment queries: one payment (ADMIN or the payer), the list."""

from __future__ import annotations

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
    @strawberry.field(permission_classes=[IsAuthenticated], description="ADMIN or the payer.")
    async def payment(self, info: Info, id: strawberry.ID) -> Payment:
        return await load_payment_for(info, parse_id(id, "id"))

    @strawberry.field(permission_classes=[IsAuthenticated], description="Newest first.")
    async def payments(
        self,
        info: Info,
        filter: PaymentFilter | None = None,
        first: int = 20,
        after: str | None = None,
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
