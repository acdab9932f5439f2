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
from spirit_tours.core.currencies import Currency
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
from spirit_tours.resolvers.ml import check_first, estimate_net_price, recommend_hotels
from spirit_tours.resolvers.quotations.rules import effective_status
from spirit_tours.schema.accounts.types import Company, Hotel, load_hotel
from spirit_tours.schema.common import Money, Node, PageInfo, money
from spirit_tours.schema.ml.types import HotelRecommendations, NetPriceEstimate

if TYPE_CHECKING:
    from spirit_tours.schema.bookings.types import Booking

Info = strawberry.Info[Context, None]


@strawberry.type(description="A number of rooms of one type.")
class RoomNeed:
    type: RoomType = strawberry.field(description="The kind of room.")
    count: int = strawberry.field(description="How many rooms of this type, at least 1.")


@strawberry.type(description="Who asked for the quotation (operator and owner only).")
class QuotationOwner:
    full_name: str = strawberry.field(description="The full name of the person who asked.")
    email: str = strawberry.field(description="Their e-mail address, to contact them.")
    company: Company | None = strawberry.field(
        description="The travel agency they asked for; null for a client asking alone."
    )


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
    revision: int = strawberry.field(
        description="Version number: 1 at the first submission, one more at each change."
    )
    net_price: Money = strawberry.field(
        description="The net price of this version, in the quotation's currency."
    )
    valid_until: date = strawberry.field(
        description="Last day the hotel held this price (ISO 8601 date)."
    )
    notes: str = strawberry.field(description="The hotel's notes in this version; may be empty.")
    status: OfferStatus = strawberry.field(
        description="ACTIVE, or WITHDRAWN for the version that withdrew the offer."
    )
    created_at: datetime = strawberry.field(
        description="When this version was made (ISO 8601, UTC)."
    )


ALIAS_DOC = (
    'Stable anonymous name, e.g. "Hotel B": for the operator, the owner and, in OPEN mode only, '
    "the invited hotels; null elsewhere (docs/privacy.md §1)."
)


@strawberry.type(description="A hotel's offer. Net price and identity follow docs/privacy.md §1.")
class Offer(Node):
    status: OfferStatus = strawberry.field(
        description="ACTIVE while it stands; WITHDRAWN once the hotel took it back."
    )
    revision: int = strawberry.field(
        description="Current version number: 1 at the first submission, one more at each change."
    )
    valid_until: date = strawberry.field(
        description="Last day the hotel holds this price (ISO 8601 date); "
        "an expired offer cannot be proposed."
    )
    submitted_at: datetime = strawberry.field(
        description="When the hotel first submitted it (ISO 8601, UTC)."
    )
    updated_at: datetime = strawberry.field(
        description="When it last changed: revised, withdrawn or submitted again (ISO 8601, UTC)."
    )
    is_mine: bool = strawberry.field(description="Whether the viewer's hotel made this offer.")
    scope: strawberry.Private[OfferScope]
    row: strawberry.Private[models.HotelOffer]
    alias: strawberry.Private[str]

    @guarded(can.CanSeeAlias, description=ALIAS_DOC)
    def hotel_alias(self) -> str | None:
        return self.alias

    @guarded(
        can.CanSeeNetPrice,
        description="What the hotel asks, in the quotation's currency: for the operator and the "
        "offering hotel, and for competing hotels in OPEN mode only; null for everyone else, "
        "the owner included (docs/privacy.md §1).",
    )
    def net_price(self) -> Money | None:
        return money(self.row.net_price, self.row.currency)

    @guarded(
        can.CanSeeHotel,
        description="The offering hotel: for the operator, the owner and the hotel itself; "
        "null for competitors.",
        graphql_type=Hotel | None,
    )
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @guarded(
        can.CanSeeOfferNotes,
        description="The hotel's free-text notes (at most 4,000 characters): for the operator, "
        "the owner and the hotel itself; null for competitors, since notes can name the hotel.",
    )
    def notes(self) -> str | None:
        return self.row.notes

    @guarded(
        can.CanSeeOfferHistory,
        description="Every version, oldest first: for the operator and the offering hotel; "
        "empty for everyone else.",
    )
    async def revisions(self, info: Info) -> list[OfferRevision]:
        rows = await info.context.loaders.revisions.load(self.row.id)
        return [
            OfferRevision(
                revision=row.revision,
                net_price=money(row.net_price, self.row.currency),
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
    status: InvitationStatus = strawberry.field(
        description="Whether the hotel has opened, declined or answered the invitation."
    )
    invited_at: datetime = strawberry.field(
        description="When the hotel was invited (ISO 8601, UTC)."
    )
    row: strawberry.Private[models.HotelInvitation]
    scope: strawberry.Private[OfferScope]

    @guarded(can.CanSeeAlias, description=ALIAS_DOC)
    def hotel_alias(self) -> str | None:
        return self.row.alias

    @strawberry.field(
        description="The invited hotel (invitations are listed only to the operator, the owner "
        "and the invited hotel itself).",
        graphql_type=Hotel | None,
    )
    def hotel(self, info: Info) -> MaybeAwaitable[Hotel | None]:
        return load_hotel(info, self.row.hotel_id)

    @strawberry.field(
        description="The reason the hotel gave when it declined; null if it has not declined."
    )
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
    status: QuotationStatus = strawberry.field(
        description="Where the quotation stands; an OPEN one past its offer deadline reads CLOSED."
    )
    destination: str = strawberry.field(
        description="Where the trip goes, free text of at most 200 characters."
    )
    start_date: date = strawberry.field(description="First day of the trip (ISO 8601 date).")
    end_date: date = strawberry.field(
        description="Last day of the trip (ISO 8601 date), not before startDate."
    )
    travellers: int = strawberry.field(description="How many people travel, 1 to 500.")
    rooms: list[RoomNeed] = strawberry.field(
        description="The rooms asked for, one entry per room type (at most 300 rooms in all)."
    )
    extra_services: list[ExtraService] = strawberry.field(
        description="Services wanted besides the rooms; empty when none."
    )
    notes: str = strawberry.field(description="Free-text notes of the owner; empty when none.")
    currency: Currency = strawberry.field(
        description="ISO 4217 code of every price of this quotation; offers must use it."
    )
    offer_deadline: datetime = strawberry.field(
        description="Hotels may bid until this instant (ISO 8601, UTC); then it stops taking "
        "offers."
    )
    competitor_prices: CompetitorPrices = strawberry.field(
        description="What invited hotels see of competing offers; the operator sets it, "
        "HIDDEN by default."
    )
    created_at: datetime = strawberry.field(
        description="When the quotation was asked for (ISO 8601, UTC)."
    )
    updated_at: datetime = strawberry.field(
        description="When the quotation itself last changed (ISO 8601, UTC)."
    )
    scope: strawberry.Private[QuotationScope]
    row: strawberry.Private[models.Quotation]
    invitation_rows: strawberry.Private[list[models.HotelInvitation]]

    @guarded(
        can.CanSeeOwner,
        description="Who asked for it, with their contact: for the operator and the owner; "
        "null for hotels.",
    )
    async def owner(self, info: Info) -> QuotationOwner | None:
        return await owner_of(info, self.row.owner_user_id, self.row.owner_company_id)

    def alias_of(self, hotel_id: uuid.UUID) -> str:
        for invitation in self.invitation_rows:
            if invitation.hotel_id == hotel_id:
                return invitation.alias
        return "Hotel"

    @strawberry.field(
        description="The hotels invited to bid: all of them for the operator and the "
        "owner, a hotel only its own company's."
    )
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
        description="The offers this viewer may know of: all for the operator and the owner; "
        "for a hotel its own, plus the competitors' active offers in OPEN mode only "
        "(docs/privacy.md §1).",
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
        description="The offer of the viewer's hotel company, if it made one; null for "
        "everyone else.",
        graphql_type=Offer | None,
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
        description="How many active offers there are: for the operator, the owner and, "
        "unless the mode is HIDDEN, the invited hotels; null otherwise.",
        graphql_type=int | None,
    )
    def offer_count(self, info: Info) -> MaybeAwaitable[int | None]:
        return then(self._offer_rows(info), _active_count)

    @guarded(
        can.CanSeeOwnRank,
        description="The rank of the viewer's hotel's active offer by net price, 1 for the "
        "cheapest (ties share a rank): for invited hotels in RANK_ONLY and OPEN modes only; "
        "null otherwise.",
        graphql_type=int | None,
    )
    def my_rank(self, info: Info) -> MaybeAwaitable[int | None]:
        return then(self._offer_rows(info), self._own_rank)

    def _own_rank(self, rows: list[models.HotelOffer]) -> int | None:
        ranks = [rank_of(row, rows) for row in rows if self.scope.owns(row)]
        return min((rank for rank in ranks if rank is not None), default=None)

    @guarded(
        can.CanSeeMarkup,
        description="The operator's markup on the proposed offer's net price, in percent "
        "(12.5 means 12.5 %): for the operator only; null for everyone else and before a "
        "proposal.",
    )
    def markup_percent(self) -> Decimal | None:
        return self.row.markup_percent

    @guarded(
        can.CanSeeSellingPrice,
        description="What the owner pays: the proposed offer's net price plus the markup, "
        "rounded to the currency: for the operator and the owner; null for hotels and before "
        "a proposal.",
    )
    def selling_price(self) -> Money | None:
        if self.row.selling_price is None:
            return None
        return money(self.row.selling_price, self.row.currency)

    @guarded(
        can.CanSeeMarkup,
        description="Selling price minus the proposed offer's net price: for the operator "
        "only; null for everyone else and before a proposal.",
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
                return money(margin, self.row.currency)
        return None

    @guarded(
        can.CanSeeSellingPrice,
        description="The offer the operator proposed: for the operator and the owner; null "
        "for hotels and before a proposal.",
        graphql_type=Offer | None,
    )
    def selected_offer(self, info: Info) -> MaybeAwaitable[Offer | None]:
        return then(self._offer_rows(info), self._selected_offer)

    def _selected_offer(self, rows: list[models.HotelOffer]) -> Offer | None:
        for row in rows:
            if row.id == self.row.selected_offer_id:
                return Offer.build(row, self.scope, self.alias_of(row.hotel_id))
        return None

    @guarded(
        can.CanSeeModelInsights,
        description="The hotels of the destination ranked by the latest model's chance that "
        "they answer with an offer and that it wins against the hotels already invited (before "
        "any invitation: against the destination's): for the operator only (learned from "
        "every hotel's offers); null for everyone else.",
    )
    async def hotel_recommendations(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="How many hotels, 1 to 50; default 10.")
        ] = 10,
    ) -> HotelRecommendations | None:
        check_first(first)
        models = info.context.services.models
        invited = frozenset(invitation.hotel_id for invitation in self.invitation_rows)
        async with info.context.session() as session:
            found = await recommend_hotels(session, models, self.row, invited, first)
        return HotelRecommendations.build(found, invited)

    @guarded(
        can.CanSeeModelInsights,
        description="The expected winning net price (10th, 50th, 90th percentile) in the "
        "quotation's currency, from the latest model: for the operator only (learned from "
        "competitors' prices, docs/privacy.md §1); null for everyone else.",
    )
    async def net_price_estimate(self, info: Info) -> NetPriceEstimate | None:
        found = await estimate_net_price(info.context.services.models, self.row)
        return NetPriceEstimate.build(found, self.row.currency)

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
            currency=Currency(row.currency),
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


@strawberry.type(description="One quotation of a page, with its cursor.")
class QuotationEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this quotation; pass it as `after` to read on from it."
    )
    node: Quotation = strawberry.field(description="The quotation.")


@strawberry.type(description="A page of quotations, newest first.")
class QuotationConnection:
    edges: list[QuotationEdge] = strawberry.field(
        description="The quotations of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Whether and how to read the next page.")
    total_count: int = strawberry.field(
        description="How many quotations the viewer may see that match the filter, on every page."
    )

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Quotation]:
        return [edge.node for edge in self.edges]
