"""The operator proposes an offer with its markup; the owner approves or rejects it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, OfferStatus, QuotationStatus
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, not_found
from spirit_tours.core.money import round_to_currency
from spirit_tours.permissions.quotations import ALLOWED, Action
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import HotelOffer, Quotation
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.quotations.rules import load_for, require_status

MAX_MARKUP_PERCENT = Decimal(300)


def selling_price(net_price: Decimal, markup_percent: Decimal, currency: str) -> Decimal:
    return round_to_currency(net_price * (1 + markup_percent / 100), currency)


async def propose_offer(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    offer_id: uuid.UUID,
    markup_percent: Decimal,
) -> Quotation:
    """Pick an offer once bidding is over. The quotation row lock makes two operators
    proposing at once end with exactly one proposal; the other gets INVALID_STATE."""
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.PROPOSE]
    )
    now = now_utc()
    require_status(quotation, now, QuotationStatus.CLOSED, action="propose an offer")
    if not markup_percent.is_finite() or not 0 <= markup_percent <= MAX_MARKUP_PERCENT:
        raise bad_input("markupPercent", f"The markup is between 0 and {MAX_MARKUP_PERCENT}%.")
    if markup_percent != markup_percent.quantize(Decimal("0.01")):
        raise bad_input("markupPercent", "The markup has at most two decimals.")
    offer = await session.scalar(
        select(HotelOffer).where(HotelOffer.id == offer_id, HotelOffer.quotation_id == quotation.id)
    )
    if offer is None:
        raise not_found("Offer")
    if offer.status != OfferStatus.ACTIVE:
        raise DomainError(ErrorCode.INVALID_STATE, "The offer was withdrawn.", field="offerId")
    if offer.valid_until < now.date():
        raise DomainError(ErrorCode.INVALID_STATE, "The offer has expired.", field="offerId")
    quotation.status = QuotationStatus.PROPOSED
    quotation.selected_offer_id = offer.id
    quotation.markup_percent = markup_percent
    quotation.selling_price = selling_price(offer.net_price, markup_percent, quotation.currency)
    quotation.proposed_at = now
    record_audit(session, viewer, "quotation.propose", "Quotation", quotation.id,
                 offer_id=str(offer.id), markup_percent=str(markup_percent),
                 selling_price=str(quotation.selling_price))  # fmt: skip
    emit_event(session, EventKind.QUOTATION_PROPOSED, "Quotation", quotation.id, offer_id=offer.id)
    return quotation


async def decide_proposal(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, *, approve: bool, reason: str
) -> Quotation:
    """The owner approves (→ APPROVED) or rejects (→ CLOSED, the operator may propose again)."""
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.DECIDE_PROPOSAL]
    )
    now = now_utc()
    action = "approve the proposal" if approve else "reject the proposal"
    require_status(quotation, now, QuotationStatus.PROPOSED, action=action)
    if approve:
        quotation.status = QuotationStatus.APPROVED
        quotation.decided_at = now
    else:
        quotation.status = QuotationStatus.CLOSED
        quotation.selected_offer_id = None
        quotation.markup_percent = None
        quotation.selling_price = None
        quotation.proposed_at = None
    verb = "approve" if approve else "reject"
    record_audit(session, viewer, f"quotation.{verb}", "Quotation", quotation.id, reason=reason)
    decided = EventKind.QUOTATION_APPROVED if approve else EventKind.QUOTATION_REJECTED
    emit_event(session, decided, "Quotation", quotation.id)
    return quotation
