"""Price privacy for quotations and offers (docs/privacy.md §1 and §2.1), as plain rules over a
viewer's relation.

Every rule here is evaluated per field by the permission classes in ``pricing_fields``; queries,
mutation payloads and subscription events all resolve through them. :func:`visible_quotations`
is the same object-level rule as a SQL condition, handed to the repository by the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol

from sqlalchemy import ColumnElement, exists, false, true

from spirit_tours.core.enums import CompetitorPrices, OfferStatus, Role
from spirit_tours.permissions.ownership import Owned, owned_by, owns
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import HotelInvitation, Quotation


class OfferFacts(Protocol):
    """What the rules read of an offer (a ``OfferFacts`` row, or any value with these)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def hotel_company_id(self) -> uuid.UUID: ...

    @property
    def status(self) -> OfferStatus: ...

    @property
    def net_price(self) -> Decimal: ...


class Relation(Enum):
    """How the viewer stands to one quotation."""

    ADMIN = "ADMIN"
    OWNER = "OWNER"
    INVITED_HOTEL = "INVITED_HOTEL"
    NONE = "NONE"


def relation_to(
    viewer: Viewer, quotation: Owned, invited_company_ids: Iterable[uuid.UUID]
) -> Relation:
    """ADMIN, the owner (docs/privacy.md §1), a hotel whose company is invited, or NONE: the
    quotation does not exist for them (NOT_FOUND)."""
    if viewer.role == Role.ADMIN:
        return Relation.ADMIN
    if owns(viewer, quotation):
        return Relation.OWNER
    if viewer.role == Role.HOTEL and viewer.company_id in set(invited_company_ids):
        return Relation.INVITED_HOTEL
    return Relation.NONE


class Action(Enum):
    """What a viewer does to a quotation (docs/privacy.md §2.2)."""

    UPDATE = "updateQuotation"
    SET_COMPETITOR_PRICES = "updateQuotation(competitorPrices)"
    INVITE_HOTELS = "inviteHotels"
    REMOVE_INVITATION = "removeInvitation"
    DECLINE_INVITATION = "declineInvitation"
    SUBMIT_OFFER = "submitOffer"
    CHANGE_OWN_OFFER = "reviseOffer, withdrawOffer"
    CLOSE = "closeQuotation"
    PROPOSE = "proposeOffer"
    DECIDE_PROPOSAL = "approveQuotation, rejectQuotation"
    CANCEL = "cancelQuotation"
    BOOK = "createBooking"
    SET_BOOKING_TERMS = "createBooking(paymentPolicy, cancellationTiers)"


#: The relations that may perform each action. A viewer with another relation to the quotation
#: is FORBIDDEN; one without any gets NOT_FOUND first (``relation_to``).
ALLOWED: dict[Action, tuple[Relation, ...]] = {
    Action.UPDATE: (Relation.ADMIN, Relation.OWNER),
    Action.SET_COMPETITOR_PRICES: (Relation.ADMIN,),
    Action.INVITE_HOTELS: (Relation.ADMIN,),
    Action.REMOVE_INVITATION: (Relation.ADMIN,),
    Action.DECLINE_INVITATION: (Relation.INVITED_HOTEL,),
    Action.SUBMIT_OFFER: (Relation.INVITED_HOTEL,),
    Action.CHANGE_OWN_OFFER: (Relation.INVITED_HOTEL,),
    Action.CLOSE: (Relation.ADMIN,),
    Action.PROPOSE: (Relation.ADMIN,),
    Action.DECIDE_PROPOSAL: (Relation.OWNER,),
    Action.CANCEL: (Relation.ADMIN, Relation.OWNER),
    Action.BOOK: (Relation.ADMIN, Relation.OWNER),
    Action.SET_BOOKING_TERMS: (Relation.ADMIN,),
}


def may(action: Action, relation: Relation) -> bool:
    return relation in ALLOWED[action]


def asks_for_quotations(viewer: Viewer) -> bool:
    """An agency asks for its company, a client for themself; nobody else asks."""
    return viewer.role in (Role.AGENCY, Role.CLIENT)


def acts_on_offer(viewer: Viewer, offer_company_id: uuid.UUID) -> bool:
    """A hotel revises or withdraws its own company's offers only; any other offer is
    NOT_FOUND to it."""
    return viewer.company_id is not None and viewer.company_id == offer_company_id


def visible_quotations(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL twin of ``relation_to(...) != Relation.NONE``: the quotations a viewer may see
    at all (docs/privacy.md §2.1). Everything else is NOT_FOUND."""
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


@dataclass(frozen=True)
class QuotationScope:
    """What one viewer may see of one quotation."""

    relation: Relation
    mode: CompetitorPrices
    viewer_company_id: uuid.UUID | None

    @property
    def sees_owner(self) -> bool:
        return self.relation in (Relation.ADMIN, Relation.OWNER)

    @property
    def sees_markup(self) -> bool:
        return self.relation == Relation.ADMIN

    @property
    def sees_selling_price(self) -> bool:
        return self.relation in (Relation.ADMIN, Relation.OWNER)

    @property
    def sees_model_insights(self) -> bool:
        """The hotel ranking and the net price estimate, learned from every hotel's offers:
        competitor-price data (docs/privacy.md §1), the operator's only."""
        return self.relation == Relation.ADMIN

    @property
    def sees_offer_count(self) -> bool:
        if self.relation == Relation.INVITED_HOTEL:
            return self.mode != CompetitorPrices.HIDDEN
        return self.relation in (Relation.ADMIN, Relation.OWNER)

    @property
    def sees_own_rank(self) -> bool:
        return self.relation == Relation.INVITED_HOTEL and self.mode != CompetitorPrices.HIDDEN

    @property
    def sees_all_invitations(self) -> bool:
        return self.relation in (Relation.ADMIN, Relation.OWNER)

    def sees_invitation(self, hotel_company_id: uuid.UUID) -> bool:
        """An invitation, and its being made, declined or taken back: the operator and the
        owner see every one, a hotel only its own company's. Whatever the mode, a competitor
        never learns that another hotel was invited (offers follow ``lists_offer``)."""
        if self.sees_all_invitations:
            return True
        return (
            self.relation == Relation.INVITED_HOTEL and hotel_company_id == self.viewer_company_id
        )

    def owns(self, offer: OfferFacts) -> bool:
        return (
            self.relation == Relation.INVITED_HOTEL
            and offer.hotel_company_id == self.viewer_company_id
        )

    def offer_scope(self, offer: OfferFacts) -> OfferScope:
        return OfferScope(self, own=self.owns(offer))

    def invitation_scope(self, hotel_company_id: uuid.UUID) -> OfferScope:
        """An invitation is seen under the rules of the offer it may become."""
        own = self.relation == Relation.INVITED_HOTEL and hotel_company_id == self.viewer_company_id
        return OfferScope(self, own=own)

    def lists_offer(self, offer: OfferFacts) -> bool:
        """Whether the offer appears at all: competitors see active offers in OPEN mode only."""
        if self.relation in (Relation.ADMIN, Relation.OWNER) or self.owns(offer):
            return True
        return (
            self.relation == Relation.INVITED_HOTEL
            and self.mode == CompetitorPrices.OPEN
            and offer.status == OfferStatus.ACTIVE
        )


@dataclass(frozen=True)
class OfferScope:
    """What one viewer may see of one offer."""

    quotation: QuotationScope
    own: bool

    @property
    def relation(self) -> Relation:
        return self.quotation.relation

    @property
    def sees_net_price(self) -> bool:
        if self.relation == Relation.ADMIN or self.own:
            return True
        return (
            self.relation == Relation.INVITED_HOTEL and self.quotation.mode == CompetitorPrices.OPEN
        )

    @property
    def sees_hotel(self) -> bool:
        return self.relation in (Relation.ADMIN, Relation.OWNER) or self.own

    @property
    def sees_alias(self) -> bool:
        """The stable alias ("Hotel B") exists to anonymise offers that competitors see in OPEN
        mode. The operator and the owner see it beside the hotel's identity. A hotel sees
        aliases, its own included, only in OPEN mode: elsewhere its own alias alone would tell
        it how many hotels were invited before it, which HIDDEN and RANK_ONLY keep from it."""
        if self.relation in (Relation.ADMIN, Relation.OWNER):
            return True
        return (
            self.relation == Relation.INVITED_HOTEL and self.quotation.mode == CompetitorPrices.OPEN
        )

    @property
    def sees_notes(self) -> bool:
        # Notes are free text that can name the hotel: never shown to competitors.
        return self.sees_hotel

    @property
    def sees_history(self) -> bool:
        return self.relation == Relation.ADMIN or self.own


def rank_of(own: OfferFacts, offers: Iterable[OfferFacts]) -> int | None:
    """1 for the lowest active net price; ties share a rank. None if ``own`` is not active."""
    if own.status != OfferStatus.ACTIVE:
        return None
    cheaper = {
        offer.id
        for offer in offers
        if offer.status == OfferStatus.ACTIVE and offer.net_price < own.net_price
    }
    return len(cheaper) + 1


def revision_moves_rank(mine: Iterable[OfferFacts], previous: Decimal, current: Decimal) -> bool:
    """Whether a competitor's price going from ``previous`` to ``current`` changes the rank of
    one of the viewer's active offers. A RANK_ONLY hotel hears of a competitor's revision only
    then: a notes-only or rank-neutral revision would otherwise tell it when competitors act."""
    return any(
        (previous < own.net_price) != (current < own.net_price)
        for own in mine
        if own.status == OfferStatus.ACTIVE
    )
