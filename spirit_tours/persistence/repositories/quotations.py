"""Reading quotations, invitations and offers: keyset pages under the caller's visibility
condition, batch loads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    func,
    literal,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import InvitationStatus, QuotationStatus
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)
from spirit_tours.persistence.repositories.batching import children_by_parent, plain_by_ids
from spirit_tours.persistence.repositories.pagination import Page, Window, newest_first_page


def effective_status_expression(now: datetime) -> ColumnElement[str]:
    """SQL twin of ``rules.effective_status``."""
    return case(
        (
            and_(Quotation.status == QuotationStatus.OPEN, Quotation.offer_deadline <= now),
            literal(QuotationStatus.CLOSED.value),
        ),
        else_=func.cast(Quotation.status, String),
    )


async def quotation_page(
    session: AsyncSession,
    visible: ColumnElement[bool],
    *,
    now: datetime,
    first: int,
    after: str | None,
    statuses: Sequence[QuotationStatus] | None,
    destination: str | None,
    backwards: Window | None = None,
) -> Page[Quotation]:
    """``visible`` is the viewer's rule (``permissions.quotations.visible_quotations``)."""
    conditions = [visible]
    if statuses:
        conditions.append(effective_status_expression(now).in_([s.value for s in statuses]))
    if destination:
        conditions.append(Quotation.destination.icontains(destination, autoescape=True))
    return await newest_first_page(
        session, Quotation, conditions, first=first, after=after, plain=True, backwards=backwards
    )


async def quotations_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Quotation]:
    return await plain_by_ids(session, Quotation, ids)


async def offers_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, HotelOffer]:
    return await plain_by_ids(session, HotelOffer, ids)


async def invitations_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, HotelInvitation]:
    return await plain_by_ids(session, HotelInvitation, ids)


async def invitations_by_quotation(
    session: AsyncSession, quotation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[HotelInvitation]]:
    return await children_by_parent(
        session,
        HotelInvitation,
        HotelInvitation.quotation_id,
        quotation_ids,
        HotelInvitation.alias,
        plain=True,
    )


async def offers_by_quotation(
    session: AsyncSession, quotation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[HotelOffer]]:
    return await children_by_parent(
        session,
        HotelOffer,
        HotelOffer.quotation_id,
        quotation_ids,
        HotelOffer.created_at,
        HotelOffer.id,
        plain=True,
    )


async def revisions_by_offer(
    session: AsyncSession, offer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OfferRevision]]:
    return await children_by_parent(
        session,
        OfferRevision,
        OfferRevision.offer_id,
        offer_ids,
        OfferRevision.revision,
        plain=True,
    )


async def mark_viewed(
    session: AsyncSession, quotation_id: uuid.UUID, company_id: uuid.UUID
) -> None:
    """An invited hotel opened the quotation: INVITED becomes VIEWED."""
    await session.execute(
        update(HotelInvitation)
        .where(
            HotelInvitation.quotation_id == quotation_id,
            HotelInvitation.hotel_company_id == company_id,
            HotelInvitation.status == InvitationStatus.INVITED,
        )
        .values(status=InvitationStatus.VIEWED)
    )
