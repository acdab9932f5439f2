"""The hand-written baselines of the HTTP benchmark: the same work as the GraphQL `viewer` and
20-quotation page through the same repositories and privacy rules, serialised straight to JSON
by Starlette — what the GraphQL layer costs on top is their difference."""

from __future__ import annotations

from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse

from spirit_tours.core.clock import now_utc
from spirit_tours.permissions.quotations import QuotationScope, relation_to, visible_quotations
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories import quotations as quotation_repository
from spirit_tours.persistence.repositories.pagination import encode_cursor
from spirit_tours.resolvers.quotations.rules import effective_status
from spirit_tours.services import Services


async def baseline_page(request: StarletteRequest) -> JSONResponse:
    """The same 20-quotation page by hand: the same repository SQL, the same privacy rules,
    serialised straight to JSON without GraphQL."""
    services: Services = request.app.state.services
    viewer = (
        await services.authenticate(request.headers["authorization"].partition(" ")[2])
    ).viewer
    now = now_utc()
    async with services.reads() as session:
        page = await quotation_repository.quotation_page(
            session,
            visible_quotations(viewer),
            now=now,
            first=20,
            after=None,
            statuses=None,
            destination=None,
        )
        ids = [row.id for row in page.rows]
        invitations = await quotation_repository.invitations_by_quotation(session, ids)
        offers = await quotation_repository.offers_by_quotation(session, ids)
        hotel_ids = list({offer.hotel_id for rows in offers.values() for offer in rows})
        hotels = await accounts.hotels_by_ids(session, hotel_ids)
    edges = []
    for row in page.rows:
        invited = invitations[row.id]
        scope = QuotationScope(
            relation_to(viewer, row, (i.hotel_company_id for i in invited)),
            row.competitor_prices,
            viewer.company_id,
        )
        aliases = {i.hotel_id: i.alias for i in invited}
        listed = [offer for offer in offers[row.id] if scope.lists_offer(offer)]
        edges.append({"cursor": encode_cursor(row.created_at, row.id), "node": {
            "id": str(row.id), "status": effective_status(row, now).value,
            "destination": row.destination, "startDate": row.start_date.isoformat(),
            "endDate": row.end_date.isoformat(), "travellers": row.travellers,
            "currency": row.currency,
            "offerCount": len(offers[row.id]) if scope.sees_offer_count else None,
            "offers": [{
                "id": str(offer.id),
                "hotelAlias": aliases.get(offer.hotel_id)
                if scope.offer_scope(offer).sees_alias else None,
                "status": offer.status.value,
                "netPrice": {"amount": str(offer.net_price), "currency": offer.currency}
                if scope.offer_scope(offer).sees_net_price else None,
                "hotel": {"id": str(offer.hotel_id), "name": hotels[offer.hotel_id].name}
                if scope.offer_scope(offer).sees_hotel else None,
            } for offer in listed],
        }})  # fmt: skip
    return JSONResponse({"data": {"quotations": {"edges": edges}}})


async def baseline_viewer(request: StarletteRequest) -> JSONResponse:
    """The same work as the `viewer` query by hand: verify the JWT and its session, read the
    user and company."""
    services: Services = request.app.state.services
    token = request.headers["authorization"].partition(" ")[2]
    viewer = (await services.authenticate(token)).viewer
    async with services.reads() as session:
        user = await accounts.user_by_id(session, viewer.user_id)
        assert user is not None
        companies = await accounts.companies_by_ids(
            session, [user.company_id] if user.company_id else []
        )
    company = companies.get(user.company_id) if user.company_id else None
    return JSONResponse(
        {
            "data": {
                "viewer": {
                    "id": str(user.id),
                    "email": user.email,
                    "fullName": user.full_name,
                    "role": user.role.value,
                    "locale": user.locale.value,
                    "company": company
                    and {"id": str(company.id), "name": company.name, "kind": company.kind.value},
                }
            }
        }
    )
