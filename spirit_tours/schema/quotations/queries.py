"""Quotation queries: one by id (null and NOT_FOUND when hidden) and a cursor-paginated list;
the lookups ``node(id:)`` shares."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import InvitationStatus, Role
from spirit_tours.core.errors import not_found
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.quotations import visible_quotations
from spirit_tours.persistence.repositories import quotations as repository
from spirit_tours.persistence.repositories.pagination import encode_cursor, window
from spirit_tours.schema.common import AFTER, BEFORE, FIRST, LAST, page_info
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.quotations.inputs import QuotationFilter
from spirit_tours.schema.quotations.types import (
    Invitation,
    Offer,
    Quotation,
    QuotationConnection,
    QuotationEdge,
)
from spirit_tours.schema.selection import selected_below

Info = strawberry.Info[Context, None]


@strawberry.type
class QuotationQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One quotation as the viewer may see it; null, with a NOT_FOUND error, "
        "when it does not exist or the viewer has no relation to it (the other root fields keep "
        "their data). An invited hotel reading it marks its invitation VIEWED.",
    )
    async def quotation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The quotation's id.")],
    ) -> Quotation | None:
        quotation = await find_quotation(info, parse_id(id, "id"))
        if quotation is None:
            raise not_found("Quotation")
        return quotation

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The quotations the viewer may see, newest first.",
    )
    async def quotations(
        self,
        info: Info,
        filter: Annotated[
            QuotationFilter | None,
            strawberry.argument(description="Only the quotations matching it; null: all."),
        ] = None,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> QuotationConnection:
        viewer = info.context.require_viewer()
        pages = window(first, after, last, before)
        loaders = info.context.loaders
        async with loaders.reads.session() as session:
            page = await repository.quotation_page(
                session,
                visible_quotations(viewer),
                now=now_utc(),
                first=pages.size,
                after=pages.after,
                backwards=pages if pages.backwards else None,
                statuses=filter.statuses if filter else None,
                destination=filter.destination if filter else None,
            )
        ids = [row.id for row in page.rows]
        invitations = await loaders.invitations.load_many(ids)
        # The SQL already kept only visible quotations; for_viewer gives each its scope.
        nodes = [
            (row, Quotation.for_viewer(row, viewer, rows))
            for row, rows in zip(page.rows, invitations, strict=True)
        ]
        await _prefetch_offers(info, ids)
        edges = [
            QuotationEdge(cursor=encode_cursor(row.created_at, row.id), node=node)
            for row, node in nodes
            if node is not None
        ]
        return QuotationConnection(
            edges=edges,
            page_info=page_info(
                [edge.cursor for edge in edges],
                has_next=page.has_next,
                has_previous=page.has_previous,
            ),
            total_count=page.total,
        )


async def visible_quotation(info: Info, quotation_id: uuid.UUID) -> Quotation | None:
    """The quotation as the viewer may see it, None when they may not see it at all: read
    through the request's DataLoaders, nothing changed."""
    row = await info.context.loaders.quotation.load(quotation_id)
    if row is None:
        return None
    invitations = await info.context.loaders.invitations.load(row.id)
    return Quotation.for_viewer(row, info.context.require_viewer(), invitations)


async def find_quotation(info: Info, quotation_id: uuid.UUID) -> Quotation | None:
    """``quotation(id:)`` and ``node(id:)``: the quotation the viewer may see, or None. An
    invited hotel opening it marks its invitation VIEWED."""
    viewer = info.context.require_viewer()
    quotation = await visible_quotation(info, quotation_id)
    if quotation is None or viewer.role != Role.HOTEL or viewer.company_id is None:
        return quotation
    unseen = [
        invitation
        for invitation in quotation.invitation_rows
        if invitation.hotel_company_id == viewer.company_id
        and invitation.status == InvitationStatus.INVITED
    ]
    if not unseen:
        return quotation
    async with info.context.side_writes, info.context.transaction() as session:
        await repository.mark_viewed(session, quotation_id, viewer.company_id)
    info.context.loaders.invitations.clear(quotation_id)  # read back as VIEWED
    return await visible_quotation(info, quotation_id)


async def find_offer(info: Info, offer_id: uuid.UUID) -> Offer | None:
    """An offer by id: its quotation's rules decide (``lists_offer``): a competitor's offer is
    None unless the quotation runs in OPEN mode, and then it is anonymised like in ``offers``."""
    row = await info.context.loaders.offer.load(offer_id)
    quotation = await visible_quotation(info, row.quotation_id) if row else None
    if row is None or quotation is None or not quotation.scope.lists_offer(row):
        return None
    return Offer.build(row, quotation.scope, quotation.alias_of(row.hotel_id))


async def find_invitation(info: Info, invitation_id: uuid.UUID) -> Invitation | None:
    """An invitation by id, if its quotation shows it to the viewer (``sees_invitation``): a
    hotel never learns of a competitor's."""
    row = await info.context.loaders.invitation.load(invitation_id)
    quotation = await visible_quotation(info, row.quotation_id) if row else None
    if (
        row is None
        or quotation is None
        or not quotation.scope.sees_invitation(row.hotel_company_id)
    ):
        return None
    return Invitation.build(row, quotation.scope)


OFFER_FIELDS = {"offers", "offerCount", "myOffer", "myRank", "selectedOffer", "margin"}
"""The quotation's fields that read its offers."""


async def _prefetch_offers(info: Info, quotation_ids: list[uuid.UUID]) -> None:
    """Load the page's offers, and the hotels of those offers, in one batch each before the
    fields run: the offer fields then resolve at once (``loaders.loaded``), and the page costs
    the same four round trips (page with its count, invitations, offers, hotels) whatever its
    size. Whether a hotel is shown stays the guard's decision on each offer."""
    selected = selected_below(info, "edges", "node")
    if not quotation_ids or not selected & OFFER_FIELDS:
        return
    loaders = info.context.loaders
    offers = await loaders.offers.load_many(quotation_ids)
    if {"offers.hotel", "myOffer.hotel"} & selected:
        hotel_ids = {offer.hotel_id for rows in offers for offer in rows}
        await loaders.hotel.load_many(list(hotel_ids))
