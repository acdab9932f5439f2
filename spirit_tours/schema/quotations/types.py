"""Quotations and offers as each viewer may see them (docs/privacy.md §1, §2.1).

Every type keeps its viewer's scope in the private ``scope``; fields guarded by the classes of
``permissions.pricing_fields`` resolve to ``null`` for viewers who may not see them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import (
    CompetitorPrices,
    ExtraService,
    InvitationStatus,
    OfferStatus,
    QuotationStatus,
    RoomType,
)
from spirit_tours.core.errors import not_found
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.pricing_fields import guarded
from spirit_tours.permissions.quotations import (
    OfferScope,
    QuotationScope,
    Relation,
    rank_of,
    relation_to,
)
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence import quotations as models
from spirit_tours.resolvers.loaders import MaybeAwaitable, loaded, then
from spirit_tours.resolvers.quotations.rules import effective_status
from spirit_tours.schema.accounts.types import Company, Hotel, load_hotel
from spirit_tours.schema.common import Money, Node, PageInfo

if TYPE_CHECKING:
    from spirit_tours.schema.bookings.types import Booking

Info = strawberry.Info[Context, None]


@strawberry.type
class RoomNeed:
    type: RoomType
    count: int


@strawberry.type(description="Who asked for the quotation (operator and owner only).")
class QuotationOwner:
    full_name: str
    email: str
    company: Company | None


async def owner_of(
    info: Info, user_id: uuid.UUID, company_id: uuid.UUID | None
) -> QuotationOwner | None:
    """Who asked (the user, and their agency if any), through the request's DataLoaders."""
    user = await info.context.loaders.user.load(user_id)
    if user is None:
        return None
    company = None
    if company_id is not None:
        found = await info.context.loaders.company.load(company_id)
        company = Company.from_model(found) if found else None
    return QuotationOwner(full_name=user.full_name, email=user.email, company=company)


@strawberry.type(description="One version of an offer.")
class OfferRevision:
    revision: int
    net_price: Money
    valid_until: date
    notes: str
    status: OfferStatus
    created_at: datetime


ALIAS_DOC = (
    'Stable anonymous name, e.g. "Hotel B": for the operator, the owner and, in OPEN mode only, '
    "the invited hotels; null elsewhere (docs/privacy.md §1)."
)


@strawberry.type(description="A hotel's offer. Net price and identity follow docs/privacy.md §1.")
class Offer(Node):
    status: OfferStatus
    revision: int
    valid_until: date
    submitted_at: datetime
    updated_at: datetime
    is_mine: bool = strawberry.field(description="Whether the viewer's hotel made this offer.")
    scope: strawberry.Private[OfferScope]
    row: strawberry.Private[models.HotelOffer]
    alias: strawberry.Private[str]

    @guarded(can.CanSeeAlias, description=ALIAS_DOC)
    def hotel_alias(self) -> str | None:
        return self.alias

    @guarded(
        can.CanSeeNetPrice, description="Null unless the viewer may see it (docs/privacy.md §1)."
    )
    def net_price(self) -> Money | None:
        return Money(amount=self.row.net_price, currency=self.row.currency)

    @guarded(
        can.CanSeeHotel,
        description="The offering hotel; null for competitors.",
        graphql_type=Hotel | None,
    )
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @guarded(can.CanSeeOfferNotes)
    def notes(self) -> str | None:
        return self.row.notes

    @guarded(can.CanSeeOfferHistory, description="Every version (operator and own hotel).")
    async def revisions(self, info: Info) -> list[OfferRevision]:
        rows = await info.context.loaders.revisions.load(self.row.id)
        return [
            OfferRevision(
                revision=row.revision,
                net_price=Money(amount=row.net_price, currency=self.row.currency),
                valid_until=row.valid_until,
                notes=row.notes,
                status=row.status,
                created_at=row.created_at,
            )
            for row in rows
        ]

    @classmethod
    def build(cls, row: models.HotelOffer, scope: QuotationScope, alias: str) -> Offer:
        offer_scope = scope.offer_scope(row)
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            revision=row.revision,
            valid_until=row.valid_until,
            submitted_at=row.created_at,
            updated_at=row.updated_at,
            is_mine=offer_scope.own,
            scope=offer_scope,
            row=row,
            alias=alias,
        )


@strawberry.type(description="A hotel invited to bid.")
class Invitation(Node):
    status: InvitationStatus
    invited_at: datetime
    row: strawberry.Private[models.HotelInvitation]
    scope: strawberry.Private[OfferScope]

    @guarded(can.CanSeeAlias, description=ALIAS_DOC)
    def hotel_alias(self) -> str | None:
        return self.row.alias

    @strawberry.field(graphql_type=Hotel | None)
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @strawberry.field
    def decline_reason(self) -> str | None:
        return self.row.decline_reason

    @classmethod
    def build(cls, row: models.HotelInvitation, scope: QuotationScope) -> Invitation:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            invited_at=row.created_at,
            row=row,
            scope=scope.invitation_scope(row.hotel_company_id),
        )


@strawberry.type(description="A request for quotation and its bidding.")
class Quotation(Node):
    status: QuotationStatus
    destination: str
    start_date: date
    end_date: date
    travellers: int
    rooms: list[RoomNeed]
    extra_services: list[ExtraService]
    notes: str
    currency: str
    offer_deadline: datetime
    competitor_prices: CompetitorPrices
    created_at: datetime
    updated_at: datetime
    scope: strawberry.Private[QuotationScope]
    row: strawberry.Private[models.Quotation]
    invitation_rows: strawberry.Private[list[models.HotelInvitation]]

    @guarded(can.CanSeeOwner, description="Owner identity and contact (operator and owner).")
    async def owner(self, info: Info) -> QuotationOwner | None:
        return await owner_of(info, self.row.owner_user_id, self.row.owner_company_id)

    def alias_of(self, hotel_id: uuid.UUID) -> str:
        for invitation in self.invitation_rows:
            if invitation.hotel_id == hotel_id:
                return invitation.alias
        return "Hotel"

    @strawberry.field(description="Invitations: all for operator and owner, own for a hotel.")
    def invitations(self) -> list[Invitation]:
        return [
            Invitation.build(row, self.scope)
            for row in self.invitation_rows
            if self.scope.sees_invitation(row.hotel_company_id)
        ]

    def _offer_rows(self, info: Info) -> MaybeAwaitable[list[models.HotelOffer]]:
        """The quotation's offers: at hand when its page prefetched them."""
        return loaded(info.context.loaders.offers, self.row.id)

    @strawberry.field(
        description="The offers this viewer may know of (docs/privacy.md §1).",
        graphql_type=list[Offer],
    )
    def offers(self, info: Info) -> MaybeAwaitable[list[Offer]]:
        return then(self._offer_rows(info), self._listed_offers)

    def _listed_offers(self, rows: list[models.HotelOffer]) -> list[Offer]:
        return [
            Offer.build(row, self.scope, self.alias_of(row.hotel_id))
            for row in rows
            if self.scope.lists_offer(row)
        ]

    @strawberry.field(
        description="The viewer's own hotel's offer, if any.", graphql_type=Offer | None
    )
    def my_offer(self, info: Info) -> MaybeAwaitable[Offer | None]:
        return then(self._offer_rows(info), self._own_offer)

    def _own_offer(self, rows: list[models.HotelOffer]) -> Offer | None:
        for row in rows:
            if self.scope.owns(row):
                return Offer.build(row, self.scope, self.alias_of(row.hotel_id))
        return None

    @guarded(
        can.CanSeeOfferCount,
        description="How many active offers there are.",
        graphql_type=int | None,
    )
    def offer_count(self, info: Info) -> MaybeAwaitable[int | None]:
        return then(self._offer_rows(info), _active_count)

    @guarded(
        can.CanSeeOwnRank,
        description="1 = the viewer's offer is the cheapest.",
        graphql_type=int | None,
    )
    def my_rank(self, info: Info) -> MaybeAwaitable[int | None]:
        return then(self._offer_rows(info), self._own_rank)

    def _own_rank(self, rows: list[models.HotelOffer]) -> int | None:
        ranks = [rank_of(row, rows) for row in rows if self.scope.owns(row)]
        return min((rank for rank in ranks if rank is not None), default=None)

    @guarded(can.CanSeeMarkup, description="Operator only.")
    def markup_percent(self) -> Decimal | None:
        return self.row.markup_percent

    @guarded(can.CanSeeSellingPrice, description="Net price plus markup (operator and owner).")
    def selling_price(self) -> Money | None:
        if self.row.selling_price is None:
            return None
        return Money(amount=self.row.selling_price, currency=self.row.currency)

    @guarded(
        can.CanSeeMarkup,
        description="Selling price minus net price (operator only).",
        graphql_type=Money | None,
    )
    def margin(self, info: Info) -> MaybeAwaitable[Money | None]:
        if self.row.selling_price is None or self.row.selected_offer_id is None:
            return None
        return then(self._offer_rows(info), self._margin)

    def _margin(self, rows: list[models.HotelOffer]) -> Money | None:
        for row in rows:
            if row.id == self.row.selected_offer_id and self.row.selling_price is not None:
                margin = self.row.selling_price - row.net_price
                return Money(amount=margin, currency=self.row.currency)
        return None

    @guarded(
        can.CanSeeSellingPrice,
        description="The proposed offer (operator and owner).",
        graphql_type=Offer | None,
    )
    def selected_offer(self, info: Info) -> MaybeAwaitable[Offer | None]:
        return then(self._offer_rows(info), self._selected_offer)

    def _selected_offer(self, rows: list[models.HotelOffer]) -> Offer | None:
        for row in rows:
            if row.id == self.row.selected_offer_id:
                return Offer.build(row, self.scope, self.alias_of(row.hotel_id))
        return None

    @strawberry.field(description="The booking made from it, if the viewer may see that booking.")
    async def booking(
        self, info: Info
    ) -> Annotated[Booking, strawberry.lazy("spirit_tours.schema.bookings.types")] | None:
        from spirit_tours.schema.bookings.types import booking_for_viewer  # import cycle

        row = await info.context.loaders.booking_of_quotation.load(self.row.id)
        return await booking_for_viewer(info, row) if row else None

    @classmethod
    def for_viewer(
        cls, row: models.Quotation, viewer: Viewer, invitations: list[models.HotelInvitation]
    ) -> Quotation | None:
        """The quotation as ``viewer`` may see it, or None when they may not see it at all."""
        relation = relation_to(viewer, row, (i.hotel_company_id for i in invitations))
        if relation == Relation.NONE:
            return None
        scope = QuotationScope(relation, row.competitor_prices, viewer.company_id)
        return cls(
            id=strawberry.ID(str(row.id)),
            status=effective_status(row, now_utc()),
            destination=row.destination,
            start_date=row.start_date,
            end_date=row.end_date,
            travellers=row.travellers,
            rooms=[RoomNeed(type=RoomType(r["type"]), count=r["count"]) for r in row.rooms],
            extra_services=list(row.extra_services),
            notes=row.notes,
            currency=row.currency,
            offer_deadline=row.offer_deadline,
            competitor_prices=row.competitor_prices,
            created_at=row.created_at,
            updated_at=row.updated_at,
            scope=scope,
            row=row,
            invitation_rows=invitations,
        )


async def present(info: Info, row: models.Quotation) -> Quotation:
    """A quotation a mutation just changed, as the current viewer may now see it."""
    info.context.loaders.forget_quotation(row.id)
    invitations = await info.context.loaders.invitations.load(row.id)
    quotation = Quotation.for_viewer(row, info.context.require_viewer(), invitations)
    if quotation is None:
        raise not_found("Quotation")
    return quotation


def _active_count(rows: list[models.HotelOffer]) -> int:
    return sum(1 for row in rows if row.status == OfferStatus.ACTIVE)


@strawberry.type
class QuotationEdge:
    cursor: str
    node: Quotation


@strawberry.type
class QuotationConnection:
    edges: list[QuotationEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Quotation]:
        return [edge.node for edge in self.edges]
