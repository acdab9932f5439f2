"""Hotels submitting, revising and withdrawing offers until the deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, InvitationStatus, OfferStatus, QuotationStatus
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, not_found
from spirit_tours.core.money import currency_code, positive_amount
from spirit_tours.permissions.quotations import ALLOWED, Action, acts_on_offer
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import HotelOffer, OfferRevision, Quotation
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.quotations.invitations import invitation_for_viewer
from spirit_tours.resolvers.quotations.rules import load_for, require_status

MAX_NOTES = 4000


@dataclass(frozen=True)
class OfferTerms:
    net_price: Decimal | None = None
    currency: str | None = None
    valid_until: date | None = None
    notes: str | None = None


def _check_terms(quotation: Quotation, offer: HotelOffer, today: date) -> None:
    positive_amount(offer.net_price, quotation.currency, "netPrice")
    if offer.valid_until < today:
        raise bad_input("validUntil", "The offer would already have expired.")
    if len(offer.notes) > MAX_NOTES:
        raise bad_input("notes", f"Notes are at most {MAX_NOTES} characters.")


def _record_version(
    session: AsyncSession,
    viewer: Viewer,
    quotation: Quotation,
    offer: HotelOffer,
    *,
    action: str,
    event: EventKind,
    previous_net_price: Decimal | None = None,
    **details: str,
) -> None:
    """Keep the offer's new version in its history, audit it and emit its domain event.

    A revision's event carries the price before and after, so that live updates can tell a
    RANK_ONLY competitor of it only when its rank moves (``permissions.quotations``)."""
    prices = {}
    if previous_net_price is not None:
        prices = {"previous_net_price": str(previous_net_price), "net_price": str(offer.net_price)}
    session.add(
        OfferRevision(
            offer_id=offer.id,
            revision=offer.revision,
            net_price=offer.net_price,
            valid_until=offer.valid_until,
            notes=offer.notes,
            status=offer.status,
            author_id=viewer.user_id,
        )
    )
    record_audit(session, viewer, action, "HotelOffer", offer.id,
                 quotation_id=str(quotation.id), revision=offer.revision, **details)  # fmt: skip
    emit_event(session, event, "Quotation", quotation.id,
               offer_id=offer.id, hotel_id=offer.hotel_id, **prices)  # fmt: skip


async def submit_offer(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    hotel_id: uuid.UUID | None,
    terms: OfferTerms,
) -> tuple[Quotation, HotelOffer]:
    """An invited hotel bids. The quotation is share-locked so that it cannot close, or be
    proposed, half-way through; competing hotels still submit side by side."""
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="share", allowed=ALLOWED[Action.SUBMIT_OFFER]
    )
    now = now_utc()
    require_status(quotation, now, QuotationStatus.OPEN, action="submit an offer")
    if terms.net_price is None or terms.currency is None or terms.valid_until is None:
        raise bad_input("netPrice", "An offer needs a net price, a currency and a validity.")
    if currency_code(terms.currency) != quotation.currency:
        raise bad_input("currency", f"Offers for this quotation are in {quotation.currency}.")
    invitation = await invitation_for_viewer(session, viewer, quotation.id, hotel_id)
    if invitation.status == InvitationStatus.DECLINED:
        raise DomainError(ErrorCode.INVALID_STATE, "This hotel declined the invitation.")
    existing = await session.scalar(
        select(HotelOffer)
        .where(HotelOffer.quotation_id == quotation.id, HotelOffer.hotel_id == invitation.hotel_id)
        .with_for_update()
    )
    if existing is not None and existing.status == OfferStatus.ACTIVE:
        raise DomainError(
            ErrorCode.CONFLICT, "This hotel already has an offer: revise it instead.",
            offerId=str(existing.id),
        )  # fmt: skip
    offer = existing or HotelOffer(
        id=uuid.uuid4(),
        quotation_id=quotation.id,
        hotel_id=invitation.hotel_id,
        hotel_company_id=invitation.hotel_company_id,
        revision=0,
    )
    offer.submitted_by_id = viewer.user_id
    offer.net_price = terms.net_price
    offer.currency = quotation.currency
    offer.valid_until = terms.valid_until
    offer.notes = terms.notes or ""
    offer.status = OfferStatus.ACTIVE
    offer.revision += 1
    _check_terms(quotation, offer, now.date())
    if existing is None:
        session.add(offer)
    try:
        await session.flush()
    except IntegrityError as error:
        # The same hotel submitting twice at once: the unique constraint keeps one.
        raise DomainError(
            ErrorCode.CONFLICT, "This hotel already has an offer: revise it instead."
        ) from error
    invitation.status = InvitationStatus.RESPONDED
    _record_version(session, viewer, quotation, offer, action="offer.submit",
                    event=EventKind.OFFER_SUBMITTED, net_price=str(offer.net_price))  # fmt: skip
    return quotation, offer


async def _own_offer(
    session: AsyncSession, viewer: Viewer, offer_id: uuid.UUID
) -> tuple[Quotation, HotelOffer]:
    offer = await session.scalar(
        select(HotelOffer).where(HotelOffer.id == offer_id).with_for_update()
    )
    if offer is None or not acts_on_offer(viewer, offer.hotel_company_id):
        raise not_found("Offer")
    quotation, _ = await load_for(
        session, viewer, offer.quotation_id, lock="share", allowed=ALLOWED[Action.CHANGE_OWN_OFFER]
    )
    return quotation, offer


async def revise_offer(
    session: AsyncSession, viewer: Viewer, offer_id: uuid.UUID, terms: OfferTerms
) -> tuple[Quotation, HotelOffer]:
    quotation, offer = await _own_offer(session, viewer, offer_id)
    now = now_utc()
    require_status(quotation, now, QuotationStatus.OPEN, action="revise the offer")
    if offer.status != OfferStatus.ACTIVE:
        raise DomainError(ErrorCode.INVALID_STATE, "A withdrawn offer cannot be revised.")
    if terms.currency is not None and currency_code(terms.currency) != quotation.currency:
        raise bad_input("currency", f"Offers for this quotation are in {quotation.currency}.")
    previous_net_price = offer.net_price
    if terms.net_price is not None:
        offer.net_price = terms.net_price
    if terms.valid_until is not None:
        offer.valid_until = terms.valid_until
    if terms.notes is not None:
        offer.notes = terms.notes
    _check_terms(quotation, offer, now.date())
    offer.revision += 1
    offer.submitted_by_id = viewer.user_id
    _record_version(session, viewer, quotation, offer, action="offer.revise",
                    event=EventKind.OFFER_REVISED, previous_net_price=previous_net_price,
                    net_price=str(offer.net_price))  # fmt: skip
    return quotation, offer


async def withdraw_offer(
    session: AsyncSession, viewer: Viewer, offer_id: uuid.UUID
) -> tuple[Quotation, HotelOffer]:
    quotation, offer = await _own_offer(session, viewer, offer_id)
    require_status(quotation, now_utc(), QuotationStatus.OPEN, action="withdraw the offer")
    if offer.status != OfferStatus.ACTIVE:
        raise DomainError(ErrorCode.INVALID_STATE, "The offer is already withdrawn.")
    offer.status = OfferStatus.WITHDRAWN
    offer.revision += 1
    _record_version(
        session, viewer, quotation, offer, action="offer.withdraw", event=EventKind.OFFER_WITHDRAWN
    )
    return quotation, offer
