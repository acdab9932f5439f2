"""Quotation queries: one by id (NOT_FOUND when hidden) and a cursor-paginated list."""

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
from spirit_tours.persistence.repositories.pagination import encode_cursor, page_size
from spirit_tours.schema.common import PageInfo
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.quotations.inputs import QuotationFilter
from spirit_tours.schema.quotations.types import (
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
        description="One quotation as the viewer may see it; NOT_FOUND if the viewer has no "
        "relation to it. An invited hotel reading it marks its invitation VIEWED.",
    )
    async def quotation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The quotation's id.")],
    ) -> Quotation:
        viewer = info.context.require_viewer()
        quotation_id = parse_id(id, "id")
        row = await info.context.loaders.quotation.load(quotation_id)
        if row is None:
            raise not_found("Quotation")
        invitations = await info.context.loaders.invitations.load(row.id)
        quotation = Quotation.for_viewer(row, viewer, invitations)
        if quotation is None:
            raise not_found("Quotation")
        unseen = [
            invitation
            for invitation in invitations
            if invitation.hotel_company_id == viewer.company_id
            and invitation.status == InvitationStatus.INVITED
        ]
        if viewer.role == Role.HOTEL and unseen and viewer.company_id is not None:
            async with info.context.transaction() as session:
                await repository.mark_viewed(session, row.id, viewer.company_id)
            info.context.loaders.invitations.clear(row.id)  # read back as VIEWED
            invitations = await info.context.loaders.invitations.load(row.id)
            quotation = Quotation.for_viewer(row, viewer, invitations)
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
        first: Annotated[
            int, strawberry.argument(description="Page size, 1 to 100; default 20.")
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Start after this cursor (an edge's cursor or "
                "pageInfo.endCursor); null: from the newest."
            ),
        ] = None,
    ) -> QuotationConnection:
        viewer = info.context.require_viewer()
        loaders = info.context.loaders
        async with loaders.reads.session() as session:
            page = await repository.quotation_page(
                session,
                visible_quotations(viewer),
                now=now_utc(),
                first=page_size(first),
                after=after,
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
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )


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
