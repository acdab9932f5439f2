"""Reading payments: keyset pages under the caller's visibility condition, batch loads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import PaymentStatus
from spirit_tours.persistence.payments import Payment, PaymentRefund, WebhookDelivery
from spirit_tours.persistence.repositories.batching import children_by_parent
from spirit_tours.persistence.repositories.pagination import Page, Window, newest_first_page


async def payment_page(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    booking_id: uuid.UUID | None,
    statuses: Sequence[PaymentStatus] | None,
    first: int,
    after: str | None,
    backwards: Window | None = None,
) -> Page[Payment]:
    """``visible`` is the viewer's rule (``permissions.payments.visible_payments``)."""
    conditions = [visible]
    if booking_id is not None:
        conditions.append(Payment.booking_id == booking_id)
    if statuses:
        conditions.append(Payment.status.in_(statuses))
    return await newest_first_page(
        session, Payment, conditions, first=first, after=after, backwards=backwards
    )


async def refunds_by_payment(
    session: AsyncSession, payment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PaymentRefund]]:
    return await children_by_parent(
        session, PaymentRefund, PaymentRefund.payment_id, payment_ids, PaymentRefund.created_at
    )


async def deliveries_by_payment(
    session: AsyncSession, payment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookDelivery]]:
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.payment_id.in_(payment_ids))
        .order_by(WebhookDelivery.id)
    )
    grouped: dict[uuid.UUID, list[WebhookDelivery]] = {pid: [] for pid in payment_ids}
    for row in rows:
        if row.payment_id is not None:
            grouped[row.payment_id].append(row)
    return grouped


async def payments_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Payment]:
    rows = await session.scalars(select(Payment).where(Payment.id.in_(ids)))
    return {row.id: row for row in rows}
