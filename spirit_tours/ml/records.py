"""The history the models learn from, read once as plain records (no ORM objects kept).

One query per table, only the columns the features use: 20,000 quotations with their
invitations and offers are a few hundred thousand small tuples.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a quotation asks, as the models read it (also for a quotation not yet stored)."""

    destination: str
    currency: str
    start_date: date
    end_date: date
    travellers: int
    rooms: int
    created_at: datetime
    room_mix: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The shares of single, triple and suite rooms (the rest: doubles and twins)."""
    offer_deadline: datetime | None = None

    @property
    def bidding_days(self) -> float:
        """How long hotels have to answer: a slow hotel misses a short deadline."""
        if self.offer_deadline is None:
            return math.nan
        return (self.offer_deadline - self.created_at).total_seconds() / 86400

    @property
    def nights(self) -> int:
        return max(1, (self.end_date - self.start_date).days)

    @property
    def lead_days(self) -> int:
        return (self.start_date - self.created_at.date()).days


def room_count(rooms: list[dict[str, object]]) -> int:
    """The rooms a quotation asks for, all types together (at least 1)."""
    total = 0
    for need in rooms:
        count = need.get("count", 0)
        total += count if isinstance(count, int) else 0
    return max(1, total)


def room_mix(rooms: list[dict[str, object]]) -> tuple[float, float, float]:
    """The shares of SINGLE, TRIPLE and SUITE rooms: a suite costs more than a double."""
    total = room_count(rooms)
    by_type: dict[object, int] = {}
    for need in rooms:
        count = need.get("count", 0)
        by_type[need.get("type")] = by_type.get(need.get("type"), 0) + (
            count if isinstance(count, int) else 0
        )
    return (
        by_type.get("SINGLE", 0) / total,
        by_type.get("TRIPLE", 0) / total,
        by_type.get("SUITE", 0) / total,
    )


class Asked(Protocol):
    """What a request is read from: a ``Quotation`` row, or a row of its selected columns."""

    destination: str
    currency: str
    start_date: date
    end_date: date
    travellers: int
    rooms: list[dict[str, Any]]
    created_at: datetime
    offer_deadline: datetime


def request_of(row: Asked) -> RequestFacts:
    return RequestFacts(
        destination=row.destination,
        currency=row.currency,
        start_date=row.start_date,
        end_date=row.end_date,
        travellers=row.travellers,
        rooms=room_count(row.rooms),
        created_at=row.created_at,
        room_mix=room_mix(row.rooms),
        offer_deadline=row.offer_deadline,
    )


@dataclass(frozen=True, slots=True)
class QuotationRecord:
    id: uuid.UUID
    request: RequestFacts
    offer_deadline: datetime
    selected_offer_id: uuid.UUID | None
    proposed_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    quotation_id: uuid.UUID
    hotel_id: uuid.UUID
    invited_at: datetime


@dataclass(frozen=True, slots=True)
class OfferRecord:
    id: uuid.UUID
    quotation_id: uuid.UUID
    hotel_id: uuid.UUID
    net_price: Decimal
    currency: str
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class HotelFacts:
    id: uuid.UUID
    city: str
    stars: int | None


@dataclass(frozen=True, slots=True)
class History:
    quotations: list[QuotationRecord]
    invitations: list[InvitationRecord]
    offers: list[OfferRecord]
    hotels: list[HotelFacts]


async def load_history(session: AsyncSession, until: datetime) -> History:
    """Every quotation asked for before ``until``, with its invitations, offers (withdrawn
    ones included: the hotel did answer) and the hotels."""
    q = Quotation
    quotations = [
        QuotationRecord(
            id=row.id,
            request=request_of(row),
            offer_deadline=row.offer_deadline,
            selected_offer_id=row.selected_offer_id,
            proposed_at=row.proposed_at,
        )
        for row in await session.execute(
            select(
                q.id,
                q.destination,
                q.currency,
                q.start_date,
                q.end_date,
                q.travellers,
                q.rooms,
                q.created_at,
                q.offer_deadline,
                q.selected_offer_id,
                q.proposed_at,
            )
            .where(q.created_at < until)
            .order_by(q.created_at, q.id)
        )
    ]
    i = HotelInvitation
    invitations = [
        InvitationRecord(row.quotation_id, row.hotel_id, row.created_at)
        for row in await session.execute(
            select(i.quotation_id, i.hotel_id, i.created_at)
            .join(q, q.id == i.quotation_id)
            .where(q.created_at < until)
        )
    ]
    o = HotelOffer
    offers = [
        OfferRecord(
            row.id, row.quotation_id, row.hotel_id, row.net_price, row.currency, row.created_at
        )
        for row in await session.execute(
            select(o.id, o.quotation_id, o.hotel_id, o.net_price, o.currency, o.created_at)
            .join(q, q.id == o.quotation_id)
            .where(q.created_at < until)
        )
    ]
    hotels = [
        HotelFacts(row.id, row.city, row.stars)
        for row in await session.execute(select(Hotel.id, Hotel.city, Hotel.stars))
    ]
    return History(quotations, invitations, offers, hotels)


def place(text: str) -> str:
    """A destination or city as the models compare them: case and outer spaces ignored."""
    return " ".join(text.split()).casefold()


async def hotels_in(session: AsyncSession, destination: str) -> list[HotelFacts]:
    """The hotels whose city is the destination (case and outer spaces ignored)."""
    wanted = place(destination)
    rows = await session.execute(
        select(Hotel.id, Hotel.city, Hotel.stars).where(
            func.lower(func.btrim(Hotel.city)) == wanted
        )
    )
    return [HotelFacts(row.id, row.city, row.stars) for row in rows if place(row.city) == wanted]
