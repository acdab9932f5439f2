"""A small, known market for the model tests, written straight into the tables: three hotels
in Cusco — "Cheap Inn" always answers and always wins, "Dear Palace" always answers at a
higher price and loses, "Silent Lodge" never answers — over past quotations in USD."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from spirit_tours.core.enums import InvitationStatus, QuotationStatus, Role
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation
from tests.conftest import UserFactory

NIGHTLY = Decimal("100.00")
"""Cheap Inn's price per room-night; Dear Palace asks 50 % more."""
HOTELS = ("Cheap Inn", "Dear Palace", "Silent Lodge")


@dataclass(frozen=True)
class Market:
    hotel_ids: dict[str, uuid.UUID]
    agency_email: str


async def make_market(
    sessions: SessionFactory, make_user: UserFactory, quotations: int = 60
) -> Market:
    owner = await make_user("planner@market.example", Role.AGENCY, company="Market Travel")
    hotel_ids: dict[str, uuid.UUID] = {}
    companies: dict[str, uuid.UUID] = {}
    for n, name in enumerate(HOTELS):
        user = await make_user(f"desk{n}@market.example", Role.HOTEL, company=f"{name} Co",
                               hotel=name)  # fmt: skip
        assert user.company_id is not None
        companies[name] = user.company_id
        async with sessions() as session:
            found = await session.scalar(select(Hotel.id).where(Hotel.name == name))
        assert found is not None
        hotel_ids[name] = found
    submitter = {name: (await make_user(f"sales{n}@market.example", Role.HOTEL,
                                        company=f"{name} Co")).id
                 for n, name in enumerate(HOTELS)}  # fmt: skip
    began = datetime(2025, 1, 6, 9, tzinfo=UTC)
    async with sessions() as session, session.begin():
        for index in range(quotations):
            asked = began + timedelta(days=4 * index)
            start = asked.date() + timedelta(days=40 + index % 30)
            nights, rooms = 2 + index % 5, 1 + index % 8
            quotation = Quotation(
                owner_company_id=owner.company_id, owner_user_id=owner.id,
                destination="Cusco", start_date=start, end_date=start + timedelta(days=nights),
                travellers=2 * rooms, rooms=[{"type": "DOUBLE", "count": rooms}],
                extra_services=[], currency="USD", offer_deadline=asked + timedelta(days=5),
                status=QuotationStatus.CLOSED, created_at=asked, updated_at=asked,
            )  # fmt: skip
            session.add(quotation)
            await session.flush()
            offers = {}
            for letter, name in zip("ABC", HOTELS, strict=True):
                answers = name != "Silent Lodge"
                session.add(HotelInvitation(
                    quotation_id=quotation.id, hotel_id=hotel_ids[name],
                    hotel_company_id=companies[name], alias=f"Hotel {letter}",
                    status=InvitationStatus.RESPONDED if answers else InvitationStatus.INVITED,
                    created_at=asked + timedelta(hours=2),
                ))  # fmt: skip
                if answers:
                    factor = Decimal("1.5") if name == "Dear Palace" else Decimal(1)
                    offer = HotelOffer(
                        quotation_id=quotation.id, hotel_id=hotel_ids[name],
                        hotel_company_id=companies[name], submitted_by_id=submitter[name],
                        net_price=NIGHTLY * factor * rooms * nights, currency="USD",
                        valid_until=date(2030, 1, 1), created_at=asked + timedelta(days=1),
                    )  # fmt: skip
                    session.add(offer)
                    offers[name] = offer
            await session.flush()
            quotation.selected_offer_id = offers["Cheap Inn"].id
            quotation.proposed_at = asked + timedelta(days=6)
            quotation.markup_percent = Decimal("15.00")
            quotation.selling_price = offers["Cheap Inn"].net_price * Decimal("1.15")
            quotation.status = QuotationStatus.PROPOSED
    return Market(hotel_ids, "planner@market.example")
