"""Reading quotations, invitations and offers: visibility in SQL, keyset pages, batch loads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import InvitationStatus, QuotationStatus, Role
from spirit_tours.permissions.ownership import owned_by
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)
from spirit_tours.persistence.repositories.batching import children_by_parent
from spirit_tours.persistence.repositories.pagination import Page, newest_first_page


def effective_status_expression(now: datetime) -> ColumnElement[str]:
    """SQL twin of ``rules.effective_status``."""
    return case(
        (
            and_(Quotation.status == QuotationStatus.OPEN, Quotation.offer_deadline <= now),
            literal(QuotationStatus.CLOSED.value),
        ),
        else_=func.cast(Quotation.status, String),
    )


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The quotations a viewer may see at all (SPEC §3 object level)."""
    if viewer.role == Role.ADMIN:
        return true()
    owner = owned_by(viewer, Quotation.owner_company_id, Quotation.owner_user_id)
    if owner is not None:
        return owner
    if viewer.role == Role.HOTEL and viewer.company_id is not None:
        return exists().where(
            HotelInvitation.quotation_id == Quotation.id,
            HotelInvitation.hotel_company_id == viewer.company_id,
        )
    return false()


async def quotation_page(
    session: AsyncSession,
    viewer: Viewer,
    *,
    now: datetime,
    first: int,
    after: str | None,
    statuses: Sequence[QuotationStatus] | None,
    destination: str | None,
) -> Page[Quotation]:
    conditions = [visible_to(viewer)]
    if statuses:
        conditions.append(effective_status_expression(now).in_([s.value for s in statuses]))
    if destination:
        conditions.append(Quotation.destination.icontains(destination, autoescape=True))
    return await newest_first_page(session, Quotation, conditions, first=first, after=after)


async def quotations_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Quotation]:
    rows = await session.scalars(select(Quotation).where(Quotation.id.in_(ids)))
    return {row.id: row for row in rows}


async def invitations_by_quotation(
    session: AsyncSession, quotation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[HotelInvitation]]:
    return await children_by_parent(
        session, HotelInvitation, HotelInvitation.quotation_id, quotation_ids, HotelInvitation.alias
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
    )


async def revisions_by_offer(
    session: AsyncSession, offer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OfferRevision]]:
    return await children_by_parent(
        session, OfferRevision, OfferRevision.offer_id, offer_ids, OfferRevision.revision
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
