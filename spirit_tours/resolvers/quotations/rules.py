"""Rules shared by every quotation transition: loading under a lock, who may act, states."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import QuotationStatus
from spirit_tours.core.errors import DomainError, ErrorCode, forbidden, not_found
from spirit_tours.permissions.quotations import Relation, relation_to
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import HotelInvitation, Quotation

LockMode = Literal["update", "share"]


def effective_status(quotation: Quotation, now: datetime) -> QuotationStatus:
    """An OPEN quotation past its deadline no longer takes offers: it is CLOSED."""
    if quotation.status == QuotationStatus.OPEN and quotation.offer_deadline <= now:
        return QuotationStatus.CLOSED
    return quotation.status


async def invited_company_ids(session: AsyncSession, quotation_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(HotelInvitation.hotel_company_id).where(HotelInvitation.quotation_id == quotation_id)
    )
    return set(rows)


async def load_for(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    *,
    lock: LockMode | None = None,
    allowed: Sequence[Relation] = (Relation.ADMIN, Relation.OWNER, Relation.INVITED_HOTEL),
) -> tuple[Quotation, Relation]:
    """The quotation and the viewer's relation to it.

    NOT_FOUND when the viewer may not see it at all (its existence is not revealed), FORBIDDEN
    when they see it but their relation may not do this. ``lock`` serialises transitions.
    """
    statement = select(Quotation).where(Quotation.id == quotation_id)
    if lock == "update":
        statement = statement.with_for_update()
    elif lock == "share":
        statement = statement.with_for_update(read=True)
    quotation = (await session.execute(statement)).scalar_one_or_none()
    if quotation is None:
        raise not_found("Quotation")
    relation = relation_to(viewer, quotation, await invited_company_ids(session, quotation.id))
    if relation == Relation.NONE:
        raise not_found("Quotation")
    if relation not in allowed:
        raise forbidden()
    return quotation, relation


def require_status(
    quotation: Quotation, now: datetime, *allowed: QuotationStatus, action: str
) -> QuotationStatus:
    status = effective_status(quotation, now)
    if status not in allowed:
        expected = " or ".join(s.value for s in allowed)
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"Cannot {action}: the quotation is {status.value}, it must be {expected}.",
            status=status.value,
        )
    return status
