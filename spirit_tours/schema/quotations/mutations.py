"""Quotation and offer mutations. Each runs in one transaction; errors follow
``spirit_tours.core.errors``; payloads resolve through the same field permissions as queries."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.persistence import quotations as models
from spirit_tours.resolvers.quotations import invitations, lifecycle, offers, proposals
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.quotations.inputs import (
    CreateQuotationInput,
    DeclineInvitationInput,
    InviteHotelsInput,
    OfferRefInput,
    ProposeOfferInput,
    QuotationRefInput,
    RemoveInvitationInput,
    ReviseOfferInput,
    SubmitOfferInput,
    UpdateQuotationInput,
)
from spirit_tours.schema.quotations.types import Offer, Quotation, present

Info = strawberry.Info[Context, None]


@strawberry.type
class QuotationPayload:
    quotation: Quotation


@strawberry.type
class OfferPayload:
    offer: Offer
    quotation: Quotation


async def _quotation_payload(info: Info, row: models.Quotation) -> QuotationPayload:
    return QuotationPayload(quotation=await present(info, row))


async def _offer_payload(
    info: Info, row: models.Quotation, offer: models.HotelOffer
) -> OfferPayload:
    quotation = await present(info, row)
    offer_type = Offer.build(offer, quotation.scope, quotation.alias_of(offer.hotel_id))
    return OfferPayload(offer=offer_type, quotation=quotation)


@strawberry.type
class QuotationMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="AGENCY or CLIENT asks for a quotation."
    )
    async def create_quotation(self, info: Info, input: CreateQuotationInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        async with info.context.transaction() as session:
            row = await lifecycle.create_quotation(
                session, viewer, input.to_request(), input.idempotency_key
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_quotation(self, info: Info, input: UpdateQuotationInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.update_quotation(
                session, viewer, quotation_id, input.to_request()
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="ADMIN only.")
    async def invite_hotels(self, info: Info, input: InviteHotelsInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_ids = [parse_id(hotel_id, "hotelIds") for hotel_id in input.hotel_ids]
        async with info.context.transaction() as session:
            row, _ = await invitations.invite_hotels(session, viewer, quotation_id, hotel_ids)
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="ADMIN, before the hotel has bid."
    )
    async def remove_invitation(self, info: Info, input: RemoveInvitationInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId")
        async with info.context.transaction() as session:
            row = await invitations.remove_invitation(session, viewer, quotation_id, hotel_id)
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def decline_invitation(
        self, info: Info, input: DeclineInvitationInput
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId") if input.hotel_id else None
        async with info.context.transaction() as session:
            row, _ = await invitations.decline_invitation(
                session, viewer, quotation_id, hotel_id, input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Invited HOTEL.")
    async def submit_offer(self, info: Info, input: SubmitOfferInput) -> OfferPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId") if input.hotel_id else None
        async with info.context.transaction() as session:
            row, offer = await offers.submit_offer(
                session, viewer, quotation_id, hotel_id, input.terms()
            )
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def revise_offer(self, info: Info, input: ReviseOfferInput) -> OfferPayload:
        viewer = info.context.require_viewer()
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row, offer = await offers.revise_offer(session, viewer, offer_id, input.terms())
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def withdraw_offer(self, info: Info, input: OfferRefInput) -> OfferPayload:
        viewer = info.context.require_viewer()
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row, offer = await offers.withdraw_offer(session, viewer, offer_id)
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="ADMIN only.")
    async def close_quotation(self, info: Info, input: QuotationRefInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.close_quotation(session, viewer, quotation_id)
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="ADMIN picks an offer and a markup."
    )
    async def propose_offer(self, info: Info, input: ProposeOfferInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row = await proposals.propose_offer(
                session, viewer, quotation_id, offer_id, input.markup_percent
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="The owner.")
    async def approve_quotation(self, info: Info, input: QuotationRefInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await proposals.decide_proposal(
                session, viewer, quotation_id, approve=True, reason=input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="The owner.")
    async def reject_quotation(self, info: Info, input: QuotationRefInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await proposals.decide_proposal(
                session, viewer, quotation_id, approve=False, reason=input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Owner or ADMIN.")
    async def cancel_quotation(self, info: Info, input: QuotationRefInput) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.cancel_quotation(session, viewer, quotation_id, input.reason)
        return await _quotation_payload(info, row)
