"""Inviting hotels to bid, and hotels declining."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, InvitationStatus, QuotationStatus
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, not_found
from spirit_tours.permissions.quotations import ALLOWED, Action
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.quotations.rules import load_for, require_status

MAX_INVITATIONS = 52


def alias_for(index: int) -> str:
    """0 → "Hotel A", 25 → "Hotel Z", 26 → "Hotel AA": stable names for anonymised hotels."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return f"Hotel {letters}"


async def invitations_of(session: AsyncSession, quotation_id: uuid.UUID) -> list[HotelInvitation]:
    rows = await session.scalars(
        select(HotelInvitation)
        .where(HotelInvitation.quotation_id == quotation_id)
        .order_by(HotelInvitation.created_at, HotelInvitation.alias)
    )
    return list(rows)


async def invite_hotels(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, hotel_ids: Sequence[uuid.UUID]
) -> tuple[Quotation, list[HotelInvitation]]:
    """The operator invites hotels; the first invitation opens the quotation for offers.

    Inviting an already invited hotel is a no-op, so retries are safe.
    """
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.INVITE_HOTELS]
    )
    now = now_utc()
    require_status(quotation, now, QuotationStatus.DRAFT, QuotationStatus.OPEN,
                   action="invite hotels")  # fmt: skip
    if not hotel_ids:
        raise bad_input("hotelIds", "Name at least one hotel.")
    wanted = list(dict.fromkeys(hotel_ids))
    hotels = {
        hotel.id: hotel
        for hotel in await session.scalars(select(Hotel).where(Hotel.id.in_(wanted)))
    }
    unknown = [str(hotel_id) for hotel_id in wanted if hotel_id not in hotels]
    if unknown:
        raise bad_input("hotelIds", f"Unknown hotels: {', '.join(unknown)}.")
    existing = await invitations_of(session, quotation.id)
    already = {invitation.hotel_id for invitation in existing}
    new = [hotels[hotel_id] for hotel_id in wanted if hotel_id not in already]
    if len(existing) + len(new) > MAX_INVITATIONS:
        raise bad_input("hotelIds", f"At most {MAX_INVITATIONS} hotels per quotation.")
    created = []
    for offset, hotel in enumerate(new):
        invitation = HotelInvitation(
            quotation_id=quotation.id,
            hotel_id=hotel.id,
            hotel_company_id=hotel.company_id,
            alias=alias_for(len(existing) + offset),
            status=InvitationStatus.INVITED,
        )
        session.add(invitation)
        created.append(invitation)
    quotation.status = QuotationStatus.OPEN
    await session.flush()
    if created:
        invited = [str(invitation.hotel_id) for invitation in created]
        record_audit(session, viewer, "quotation.invite_hotels", "Quotation", quotation.id,
                     hotel_ids=invited)  # fmt: skip
        emit_event(session, EventKind.QUOTATION_HOTELS_INVITED, "Quotation", quotation.id,
                   hotel_ids=invited)  # fmt: skip
    return quotation, existing + created


async def invitation_for_viewer(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, hotel_id: uuid.UUID | None
) -> HotelInvitation:
    """The invitation the viewer's hotel company acts on; ``hotel_id`` picks among several."""
    rows = list(
        await session.scalars(
            select(HotelInvitation)
            .where(
                HotelInvitation.quotation_id == quotation_id,
                HotelInvitation.hotel_company_id == viewer.company_id,
            )
            .with_for_update()
        )
    )
    if hotel_id is not None:
        rows = [row for row in rows if row.hotel_id == hotel_id]
        if not rows:
            raise bad_input("hotelId", "That hotel of yours is not invited to this quotation.")
    if len(rows) > 1:
        raise bad_input("hotelId", "Several of your hotels are invited: say which one.")
    if not rows:  # pragma: no cover - load_for already required an invitation
        raise bad_input("hotelId", "None of your hotels is invited.")
    return rows[0]


async def decline_invitation(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    hotel_id: uuid.UUID | None,
    reason: str,
) -> tuple[Quotation, HotelInvitation]:
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="share", allowed=ALLOWED[Action.DECLINE_INVITATION]
    )
    require_status(quotation, now_utc(), QuotationStatus.OPEN, action="decline")
    invitation = await invitation_for_viewer(session, viewer, quotation.id, hotel_id)
    if invitation.status == InvitationStatus.RESPONDED:
        raise DomainError(
            ErrorCode.INVALID_STATE, "You already made an offer: withdraw it instead."
        )
    invitation.status = InvitationStatus.DECLINED
    invitation.decline_reason = reason
    record_audit(session, viewer, "invitation.decline", "HotelInvitation", invitation.id,
                 quotation_id=str(quotation.id), reason=reason)  # fmt: skip
    emit_event(session, EventKind.INVITATION_DECLINED, "Quotation", quotation.id,
               hotel_id=invitation.hotel_id)  # fmt: skip
    return quotation, invitation


async def remove_invitation(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, hotel_id: uuid.UUID
) -> Quotation:
    """The operator takes back an invitation while bidding is open, before the hotel has bid;
    the hotel loses sight of the quotation at once (its live room closes too)."""
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.REMOVE_INVITATION]
    )
    require_status(quotation, now_utc(), QuotationStatus.DRAFT, QuotationStatus.OPEN,
                   action="remove an invitation")  # fmt: skip
    invitation = await session.scalar(
        select(HotelInvitation).where(
            HotelInvitation.quotation_id == quotation.id, HotelInvitation.hotel_id == hotel_id
        )
    )
    if invitation is None:
        raise not_found("Invitation")
    if await session.scalar(
        select(HotelOffer.id).where(
            HotelOffer.quotation_id == quotation.id, HotelOffer.hotel_id == hotel_id
        )
    ):
        raise DomainError(
            ErrorCode.INVALID_STATE, "The hotel has made an offer; it can only withdraw it."
        )
    await session.delete(invitation)
    record_audit(session, viewer, "quotation.remove_invitation", "Quotation", quotation.id,
                 hotel_id=str(hotel_id))  # fmt: skip
    emit_event(
        session, EventKind.QUOTATION_HOTEL_REMOVED, "Quotation", quotation.id, hotel_id=hotel_id
    )
    return quotation
