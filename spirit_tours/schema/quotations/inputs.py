"""Inputs of the quotation mutations."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import strawberry

from spirit_tours.core.currencies import Currency
from spirit_tours.core.enums import CompetitorPrices, ExtraService, QuotationStatus, RoomType
from spirit_tours.resolvers.quotations.lifecycle import QuotationRequest, RoomNeed
from spirit_tours.resolvers.quotations.offers import OfferTerms
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums


@strawberry.input
class RoomNeedInput:
    type: RoomType
    count: int


@strawberry.input
class CreateQuotationInput:
    destination: str
    start_date: date
    end_date: date
    travellers: int
    rooms: list[RoomNeedInput]
    currency: Currency = strawberry.field(
        description="The currency every offer and price of the quotation is in."
    )
    offer_deadline: datetime = strawberry.field(description="Hotels bid until then (with zone).")
    extra_services: list[ExtraService] = strawberry.field(default_factory=list)
    notes: str = ""
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="One per quotation the client means to create (e.g. a UUID): a retry "
        "with it and the same input returns the same quotation; with other input, CONFLICT.",
    )

    def to_request(self) -> QuotationRequest:
        return QuotationRequest(
            destination=self.destination,
            start_date=self.start_date,
            end_date=self.end_date,
            travellers=self.travellers,
            rooms=[RoomNeed(room.type, room.count) for room in self.rooms],
            extra_services=list(self.extra_services),
            notes=self.notes,
            currency=self.currency,
            offer_deadline=self.offer_deadline,
        )


@strawberry.input(description="Only the fields given change.")
class UpdateQuotationInput:
    quotation_id: strawberry.ID
    destination: str | None = strawberry.UNSET
    start_date: date | None = strawberry.UNSET
    end_date: date | None = strawberry.UNSET
    travellers: int | None = strawberry.UNSET
    rooms: list[RoomNeedInput] | None = strawberry.UNSET
    extra_services: list[ExtraService] | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    currency: Currency | None = strawberry.field(
        default=strawberry.UNSET, description="A new currency (before any offer)."
    )
    offer_deadline: datetime | None = strawberry.UNSET
    competitor_prices: CompetitorPrices | None = strawberry.field(
        default=strawberry.UNSET, description="Operator only."
    )

    def to_request(self) -> QuotationRequest:
        given = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "quotation_id" and getattr(self, f.name) not in (strawberry.UNSET, None)
        }
        if "rooms" in given:
            given["rooms"] = [RoomNeed(room.type, room.count) for room in given["rooms"]]
        return QuotationRequest(**given, provided=set(given))


@strawberry.input
class InviteHotelsInput:
    quotation_id: strawberry.ID
    hotel_ids: list[strawberry.ID]


@strawberry.input
class RemoveInvitationInput:
    quotation_id: strawberry.ID
    hotel_id: strawberry.ID


@strawberry.input
class DeclineInvitationInput:
    quotation_id: strawberry.ID
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only when several of your hotels are invited."
    )
    reason: str = ""


@strawberry.input
class SubmitOfferInput:
    quotation_id: strawberry.ID
    net_price: Decimal
    currency: Currency = strawberry.field(description="Must be the quotation's currency.")
    valid_until: date
    notes: str = ""
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only when several of your hotels are invited."
    )

    def terms(self) -> OfferTerms:
        return OfferTerms(self.net_price, self.currency, self.valid_until, self.notes)


@strawberry.input(description="Only the fields given change.")
class ReviseOfferInput:
    offer_id: strawberry.ID
    net_price: Decimal | None = None
    currency: Currency | None = strawberry.field(
        default=None, description="Must be the quotation's currency."
    )
    valid_until: date | None = None
    notes: str | None = None

    def terms(self) -> OfferTerms:
        return OfferTerms(self.net_price, self.currency, self.valid_until, self.notes)


@strawberry.input
class OfferRefInput:
    offer_id: strawberry.ID


@strawberry.input
class QuotationRefInput:
    quotation_id: strawberry.ID
    reason: str = ""


@strawberry.input
class ProposeOfferInput:
    quotation_id: strawberry.ID
    offer_id: strawberry.ID
    markup_percent: Decimal = strawberry.field(description="e.g. 12.5 for 12.5 %")


@strawberry.input
class QuotationFilter:
    statuses: list[QuotationStatus] | None = None
    destination: str | None = strawberry.field(default=None, description="Contains, any case.")
