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


@strawberry.input(description="A number of rooms of one type; entries of one type are added up.")
class RoomNeedInput:
    type: RoomType = strawberry.field(description="The kind of room.")
    count: int = strawberry.field(description="How many rooms of this type, at least 1.")


@strawberry.input(description="A trip to ask hotels to bid for.")
class CreateQuotationInput:
    destination: str = strawberry.field(
        description="Where the trip goes, free text of 1 to 200 characters."
    )
    start_date: date = strawberry.field(
        description="First day of the trip (ISO 8601 date), after today."
    )
    end_date: date = strawberry.field(
        description="Last day of the trip (ISO 8601 date), not before startDate."
    )
    travellers: int = strawberry.field(description="How many people travel, 1 to 500.")
    rooms: list[RoomNeedInput] = strawberry.field(
        description="The rooms needed: at least one, at most 300 in all."
    )
    currency: Currency = strawberry.field(
        description="The currency every offer and price of the quotation is in."
    )
    offer_deadline: datetime = strawberry.field(
        description="Hotels bid until this instant: ISO 8601 with a time zone, in the future "
        "and no later than the trip's start."
    )
    extra_services: list[ExtraService] = strawberry.field(
        default_factory=list, description="Services wanted besides the rooms; default none."
    )
    notes: str = strawberry.field(
        default="", description="Free-text notes for the operator and the hotels."
    )
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
    quotation_id: strawberry.ID = strawberry.field(
        description="The quotation to change: a DRAFT (owner or ADMIN), or an OPEN one (ADMIN: "
        "offerDeadline, notes and competitorPrices only)."
    )
    destination: str | None = strawberry.field(
        default=strawberry.UNSET, description="New destination, 1 to 200 characters."
    )
    start_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="New first day (ISO 8601 date), after today."
    )
    end_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="New last day (ISO 8601 date), not before the start."
    )
    travellers: int | None = strawberry.field(
        default=strawberry.UNSET, description="New number of travellers, 1 to 500."
    )
    rooms: list[RoomNeedInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The rooms needed, replacing the current ones."
    )
    extra_services: list[ExtraService] | None = strawberry.field(
        default=strawberry.UNSET, description="The extra services, replacing the current ones."
    )
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="New notes.")
    currency: Currency | None = strawberry.field(
        default=strawberry.UNSET, description="A new currency (before any offer)."
    )
    offer_deadline: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="New deadline for offers: ISO 8601 with a time zone, in the future.",
    )
    competitor_prices: CompetitorPrices | None = strawberry.field(
        default=strawberry.UNSET,
        description="What invited hotels see of competing offers; operator only.",
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


@strawberry.input(description="Hotels to invite to bid; the quotation opens for offers.")
class InviteHotelsInput:
    quotation_id: strawberry.ID = strawberry.field(
        description="The quotation, DRAFT or OPEN, by its id."
    )
    hotel_ids: list[strawberry.ID] = strawberry.field(
        description="The hotels to invite, at least one; at most 52 per quotation in all."
    )


@strawberry.input(description="A hotel whose invitation is taken back.")
class RemoveInvitationInput:
    quotation_id: strawberry.ID = strawberry.field(description="The quotation, by its id.")
    hotel_id: strawberry.ID = strawberry.field(
        description="The invited hotel, which must not have made an offer yet."
    )


@strawberry.input(description="A hotel declining to bid.")
class DeclineInvitationInput:
    quotation_id: strawberry.ID = strawberry.field(
        description="The OPEN quotation your hotel is invited to."
    )
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only when several of your hotels are invited."
    )
    reason: str = strawberry.field(
        default="", description="Why the hotel declines; shown to the operator and the owner."
    )


@strawberry.input(description="A hotel's offer for an OPEN quotation it is invited to.")
class SubmitOfferInput:
    quotation_id: strawberry.ID = strawberry.field(
        description="The OPEN quotation your hotel is invited to."
    )
    net_price: Decimal = strawberry.field(
        description="What the hotel asks for the rooms, an exact decimal string greater than "
        "zero with no more decimals than the currency has."
    )
    currency: Currency = strawberry.field(description="Must be the quotation's currency.")
    valid_until: date = strawberry.field(
        description="Last day the hotel holds the price (ISO 8601 date), today or later."
    )
    notes: str = strawberry.field(
        default="",
        description="Notes for the operator and the owner, at most 4,000 characters; never "
        "shown to competing hotels.",
    )
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="Needed only when several of your hotels are invited."
    )

    def terms(self) -> OfferTerms:
        return OfferTerms(self.net_price, self.currency, self.valid_until, self.notes)


@strawberry.input(description="Only the fields given change.")
class ReviseOfferInput:
    offer_id: strawberry.ID = strawberry.field(
        description="Your hotel's ACTIVE offer, while its quotation is OPEN."
    )
    net_price: Decimal | None = strawberry.field(
        default=None, description="New net price, an exact decimal string greater than zero."
    )
    currency: Currency | None = strawberry.field(
        default=None, description="If given, must be the quotation's currency."
    )
    valid_until: date | None = strawberry.field(
        default=None, description="New last day of validity (ISO 8601 date), today or later."
    )
    notes: str | None = strawberry.field(
        default=None, description="New notes, at most 4,000 characters."
    )

    def terms(self) -> OfferTerms:
        return OfferTerms(self.net_price, self.currency, self.valid_until, self.notes)


@strawberry.input(description="An offer to act on.")
class OfferRefInput:
    offer_id: strawberry.ID = strawberry.field(description="Your hotel's offer, by its id.")


@strawberry.input(description="A quotation to act on, with an optional reason.")
class QuotationRefInput:
    quotation_id: strawberry.ID = strawberry.field(description="The quotation, by its id.")
    reason: str = strawberry.field(
        default="",
        description="Why, in free text, kept in the audit log; closeQuotation ignores it.",
    )


@strawberry.input(description="The offer the operator proposes to the owner, and its markup.")
class ProposeOfferInput:
    quotation_id: strawberry.ID = strawberry.field(description="The CLOSED quotation, by its id.")
    offer_id: strawberry.ID = strawberry.field(
        description="One of its ACTIVE offers that has not expired."
    )
    markup_percent: Decimal = strawberry.field(
        description="The operator's markup on the net price, in percent with at most two "
        'decimals, 0 to 300: e.g. "12.5" for 12.5 %.'
    )


@strawberry.input(description="Narrows a list of quotations; every condition given must hold.")
class QuotationFilter:
    statuses: list[QuotationStatus] | None = strawberry.field(
        default=None, description="Only quotations in one of these states; null: any."
    )
    destination: str | None = strawberry.field(
        default=None, description="Only destinations containing this text, in any case."
    )
