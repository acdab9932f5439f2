"""Quotation and offer mutations. Each runs in one transaction; errors follow
``spirit_tours.core.errors``; payloads resolve through the same field permissions as queries."""

from __future__ import annotations

from typing import Annotated

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


@strawberry.type(description="The quotation after the mutation, as the viewer may now see it.")
class QuotationPayload:
    quotation: Quotation = strawberry.field(
        description="The quotation as changed, under the viewer's price-privacy rules."
    )


@strawberry.type(description="The offer after the mutation, with its quotation.")
class OfferPayload:
    offer: Offer = strawberry.field(description="The offer as changed, as its hotel sees it.")
    quotation: Quotation = strawberry.field(
        description="Its quotation, as the offering hotel sees it."
    )


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
        permission_classes=[IsAuthenticated],
        description="An AGENCY (for its company) or a CLIENT asks hotels to bid; the "
        "quotation starts as DRAFT.",
    )
    async def create_quotation(
        self,
        info: Info,
        input: Annotated[
            CreateQuotationInput, strawberry.argument(description="What to ask the hotels for.")
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        async with info.context.transaction() as session:
            row = await lifecycle.create_quotation(
                session, viewer, input.to_request(), input.idempotency_key
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The owner or ADMIN edits a DRAFT; while it is OPEN, ADMIN may still move "
        "the deadline, edit the notes and set competitorPrices.",
    )
    async def update_quotation(
        self,
        info: Info,
        input: Annotated[
            UpdateQuotationInput,
            strawberry.argument(description="The quotation and the fields to change."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.update_quotation(
                session, viewer, quotation_id, input.to_request()
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="ADMIN invites hotels to bid (each is told by e-mail and a live event); a "
        "DRAFT quotation becomes OPEN.",
    )
    async def invite_hotels(
        self,
        info: Info,
        input: Annotated[
            InviteHotelsInput,
            strawberry.argument(description="The quotation and the hotels to invite."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_ids = [parse_id(hotel_id, "hotelIds") for hotel_id in input.hotel_ids]
        async with info.context.transaction() as session:
            row, _ = await invitations.invite_hotels(session, viewer, quotation_id, hotel_ids)
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="ADMIN takes back a hotel's invitation before it has bid; the quotation "
        "then no longer exists for that hotel.",
    )
    async def remove_invitation(
        self,
        info: Info,
        input: Annotated[
            RemoveInvitationInput,
            strawberry.argument(description="The quotation and the hotel to uninvite."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId")
        async with info.context.transaction() as session:
            row = await invitations.remove_invitation(session, viewer, quotation_id, hotel_id)
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An invited HOTEL declines to bid, while the quotation is OPEN and before "
        "it has made an offer.",
    )
    async def decline_invitation(
        self,
        info: Info,
        input: Annotated[
            DeclineInvitationInput,
            strawberry.argument(description="The quotation declined, and why."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId") if input.hotel_id else None
        async with info.context.transaction() as session:
            row, _ = await invitations.decline_invitation(
                session, viewer, quotation_id, hotel_id, input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An invited HOTEL bids on an OPEN quotation, one offer per hotel "
        "(revise it afterwards).",
    )
    async def submit_offer(
        self,
        info: Info,
        input: Annotated[
            SubmitOfferInput,
            strawberry.argument(description="The quotation and the offer's terms."),
        ],
    ) -> OfferPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        hotel_id = parse_id(input.hotel_id, "hotelId") if input.hotel_id else None
        async with info.context.transaction() as session:
            row, offer = await offers.submit_offer(
                session, viewer, quotation_id, hotel_id, input.terms()
            )
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The offering HOTEL changes its ACTIVE offer while the quotation is OPEN; "
        "a new revision is kept.",
    )
    async def revise_offer(
        self,
        info: Info,
        input: Annotated[
            ReviseOfferInput, strawberry.argument(description="The offer and the terms to change.")
        ],
    ) -> OfferPayload:
        viewer = info.context.require_viewer()
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row, offer = await offers.revise_offer(session, viewer, offer_id, input.terms())
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The offering HOTEL takes its offer back while the quotation is OPEN; it "
        "may submit again before the deadline.",
    )
    async def withdraw_offer(
        self,
        info: Info,
        input: Annotated[OfferRefInput, strawberry.argument(description="The offer to withdraw.")],
    ) -> OfferPayload:
        viewer = info.context.require_viewer()
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row, offer = await offers.withdraw_offer(session, viewer, offer_id)
        return await _offer_payload(info, row, offer)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="ADMIN stops taking offers before the deadline: OPEN → CLOSED.",
    )
    async def close_quotation(
        self,
        info: Info,
        input: Annotated[
            QuotationRefInput, strawberry.argument(description="The OPEN quotation to close.")
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.close_quotation(session, viewer, quotation_id)
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="ADMIN picks an active offer of a CLOSED quotation and sets its markup; "
        "the selling price follows and the quotation becomes PROPOSED.",
    )
    async def propose_offer(
        self,
        info: Info,
        input: Annotated[
            ProposeOfferInput,
            strawberry.argument(description="The quotation, the offer and the markup."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        offer_id = parse_id(input.offer_id, "offerId")
        async with info.context.transaction() as session:
            row = await proposals.propose_offer(
                session, viewer, quotation_id, offer_id, input.markup_percent
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The owner approves the proposal: PROPOSED → APPROVED, ready to book.",
    )
    async def approve_quotation(
        self,
        info: Info,
        input: Annotated[
            QuotationRefInput, strawberry.argument(description="The PROPOSED quotation to approve.")
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await proposals.decide_proposal(
                session, viewer, quotation_id, approve=True, reason=input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The owner rejects the proposal: back to CLOSED, and the operator may "
        "propose again.",
    )
    async def reject_quotation(
        self,
        info: Info,
        input: Annotated[
            QuotationRefInput,
            strawberry.argument(description="The PROPOSED quotation to reject, and why."),
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await proposals.decide_proposal(
                session, viewer, quotation_id, approve=False, reason=input.reason
            )
        return await _quotation_payload(info, row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The owner or ADMIN cancels a quotation that is not booked yet.",
    )
    async def cancel_quotation(
        self,
        info: Info,
        input: Annotated[
            QuotationRefInput, strawberry.argument(description="The quotation to cancel, and why.")
        ],
    ) -> QuotationPayload:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await lifecycle.cancel_quotation(session, viewer, quotation_id, input.reason)
        return await _quotation_payload(info, row)
