"""A small known history for the analytics tests, written through the persistence models with
the exact times each quotation reached each step, so every report figure can be worked out by
hand from the specs below (the tests do so in Python, never with the reports' SQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from spirit_tours.core.enums import (
    BookingStatus,
    InvitationStatus,
    OfferStatus,
    QuotationStatus,
    RefundStatus,
    Role,
)
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation
from tests.conftest import UserFactory

STEPS = ["CREATED", "INVITED", "OFFERED", "PROPOSED", "APPROVED", "BOOKED", "COMPLETED"]


@dataclass(frozen=True)
class Sale:
    """The booking of a quotation: its prices (one net per hotel line), payments, refund."""

    selling: str
    nets: tuple[str, ...]
    paid: str
    status: BookingStatus
    refund: str | None = None


@dataclass(frozen=True)
class Spec:
    """A quotation: who asked, where, when, and the hours from each step to the next."""

    name: str
    owner: str  # "andes", "rio" (agencies) or "emma" (a client)
    destination: str
    currency: str
    created_at: datetime
    hours: tuple[float, ...]  # INVITED, OFFERED, PROPOSED, APPROVED, BOOKED, COMPLETED
    rejected: bool = False  # proposed, then the owner rejected it (the row forgets the proposal)
    sale: Sale | None = None

    def reached(self, step: str) -> bool:
        return STEPS.index(step) <= len(self.hours)

    def times(self) -> list[datetime]:
        """When it reached each step it reached."""
        at = [self.created_at]
        for hours in self.hours:
            at.append(at[-1] + timedelta(hours=hours))
        return at


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


PAID = BookingStatus.CONFIRMED
SPECS = [
    Spec("Q1", "andes", "Cusco", "USD", utc(2026, 3, 2, 10), (2, 6, 24, 12, 4, 240),
         sale=Sale("1200.00", ("1000.00",), "1200.00", BookingStatus.COMPLETED)),
    Spec("Q2", "andes", "Cusco", "USD", utc(2026, 3, 10, 0), (4, 10, 48, 6, 2),
         sale=Sale("1150.00", ("600.00", "400.00"), "345.00", PAID)),
    Spec("Q3", "rio", "Lima", "USD", utc(2026, 3, 15, 8), (1, 3, 20), rejected=True),
    Spec("Q4", "emma", "Cusco", "EUR", utc(2026, 4, 5, 12), (3, 5, 30, 10, 1),
         sale=Sale("900.00", ("800.00",), "270.00", BookingStatus.CANCELLED, refund="135.00")),
    Spec("Q5", "andes", "Lima", "USD", utc(2026, 4, 20, 9), (2,)),
    Spec("Q6", "emma", "Lima", "USD", utc(2026, 4, 22, 9), ()),
    # Created on the last evening of 2025 (outside a 2026 range), sold in January 2026.
    Spec("Q7", "andes", "Cusco", "USD", utc(2025, 12, 31, 23, 30), (1, 1, 1, 1, 32.5),
         sale=Sale("2000.00", ("1600.00",), "0.00", BookingStatus.PENDING_PAYMENT)),
    Spec("Q8", "rio", "Cusco", "BRL", utc(2026, 3, 20, 6), (1, 2, 10, 2, 3),
         sale=Sale("5000.00", ("4000.00",), "5000.00", PAID)),
]  # fmt: skip


@dataclass
class History:
    specs: list[Spec]
    quotation_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    agency_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    agency_names: dict[str, str] = field(default_factory=dict)
    client_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    client_names: dict[str, str] = field(default_factory=dict)
    owners: dict[str, User] = field(default_factory=dict)
    admin: User | None = None
    hotel_user: User | None = None
    hotel: Hotel | None = None


async def people(make_user: UserFactory, sessions: SessionFactory) -> History:
    """The users the specs name: two agencies, a client, a hotel, an operator."""
    history = History(list(SPECS))
    andes = await make_user("owner@andes.example", Role.AGENCY, company="Andes Travel")
    rio = await make_user("owner@rio.example", Role.AGENCY, company="Rio Viagens")
    emma = await make_user("emma.client@example.com", Role.CLIENT)
    history.admin = await make_user("ops@op.example", Role.ADMIN)
    history.hotel_user = await make_user(
        "desk@inti.example", Role.HOTEL, company="Inti Co", hotel="Inti Palace"
    )
    async with sessions() as session:
        history.hotel = await session.scalar(
            select(Hotel).where(Hotel.company_id == history.hotel_user.company_id)
        )
    for key, user, name in (("andes", andes, "Andes Travel"), ("rio", rio, "Rio Viagens")):
        assert user.company_id is not None
        history.agency_ids[key] = user.company_id
        history.agency_names[key] = name
    history.client_ids["emma"] = emma.id
    history.client_names["emma"] = emma.full_name
    history.owners = {"andes": andes, "rio": rio, "emma": emma}
    return history


async def add(sessions: SessionFactory, history: History, spec: Spec) -> None:
    """Write one quotation (and what it reached) with its exact times."""
    assert history.hotel is not None
    assert history.hotel_user is not None
    assert history.admin is not None
    owner = history.owners[spec.owner]
    at = spec.times()
    reached = len(at)  # 1 = created only … 7 = completed
    quotation_id = uuid.uuid4()
    history.quotation_ids[spec.name] = quotation_id
    status = {1: QuotationStatus.DRAFT, 2: QuotationStatus.OPEN, 3: QuotationStatus.CLOSED,
              4: QuotationStatus.PROPOSED, 5: QuotationStatus.APPROVED}.get(
                  reached, QuotationStatus.BOOKED)  # fmt: skip
    if spec.rejected:
        status = QuotationStatus.CLOSED
    start = date(2026, 9, 1)
    async with sessions() as session, session.begin():
        quotation = Quotation(
            id=quotation_id, owner_company_id=owner.company_id, owner_user_id=owner.id,
            destination=spec.destination, start_date=start, end_date=start + timedelta(days=4),
            travellers=2, rooms=[{"type": "DOUBLE", "count": 1}], extra_services=[],
            currency=spec.currency, offer_deadline=at[0] + timedelta(days=20), status=status,
            created_at=at[0],
        )  # fmt: skip
        session.add(quotation)
        await session.flush()
        if reached >= 2:
            session.add(
                HotelInvitation(
                    quotation_id=quotation_id,
                    hotel_id=history.hotel.id,
                    hotel_company_id=history.hotel.company_id,
                    alias="Hotel A",
                    status=InvitationStatus.RESPONDED if reached >= 3 else InvitationStatus.INVITED,
                    created_at=at[1],
                )
            )
        offer_id = uuid.uuid4()
        if reached >= 3:
            session.add(
                HotelOffer(
                    id=offer_id,
                    quotation_id=quotation_id,
                    hotel_id=history.hotel.id,
                    hotel_company_id=history.hotel.company_id,
                    submitted_by_id=history.hotel_user.id,
                    net_price=Decimal(spec.sale.nets[0]) if spec.sale else Decimal(100),
                    currency=spec.currency,
                    valid_until=start,
                    status=OfferStatus.ACTIVE,
                    created_at=at[2],
                )
            )
            await session.flush()
        if reached >= 4:
            # The proposal as the API records it: the audit entry, and on the row unless the
            # owner rejected it (a rejection clears it).
            session.add(
                AuditEntry(
                    actor_id=history.admin.id,
                    actor_role=Role.ADMIN,
                    action="quotation.propose",
                    object_type="Quotation",
                    object_id=quotation_id,
                    at=at[3],
                    details={},
                )
            )
            if not spec.rejected:
                quotation.proposed_at = at[3]
                quotation.selected_offer_id = offer_id
                quotation.markup_percent = Decimal(20)
                quotation.selling_price = Decimal(spec.sale.selling) if spec.sale else Decimal(1)
        if reached >= 5:
            quotation.decided_at = at[4]
        if spec.sale is not None and reached >= 6:
            sale = spec.sale
            booking = Booking(
                quotation_id=quotation_id, owner_company_id=owner.company_id,
                owner_user_id=owner.id, created_by_id=owner.id, destination=spec.destination,
                start_date=start, end_date=start + timedelta(days=4), travellers=2,
                rooms=quotation.rooms, currency=spec.currency,
                selling_price=Decimal(sale.selling), amount_paid=Decimal(sale.paid),
                status=sale.status, balance_due_date=start - timedelta(days=30),
                cancellation_tiers=[], created_at=at[5],
                completed_at=at[6] if reached >= 7 else None,
                cancelled_at=at[5] + timedelta(days=1)
                if sale.status == BookingStatus.CANCELLED else None,
            )  # fmt: skip
            session.add(booking)
            await session.flush()
            for net in sale.nets:
                session.add(
                    BookingHotel(
                        booking_id=booking.id,
                        hotel_id=history.hotel.id,
                        hotel_company_id=history.hotel.company_id,
                        offer_id=offer_id,
                        net_price=Decimal(net),
                        currency=spec.currency,
                        rooms=quotation.rooms,
                    )
                )
            if sale.refund is not None:
                session.add(
                    BookingRefund(
                        booking_id=booking.id,
                        amount=Decimal(sale.refund),
                        currency=spec.currency,
                        paid_amount=Decimal(sale.paid),
                        refund_percent=Decimal(50),
                        days_before_start=100,
                        status=RefundStatus.DUE,
                    )
                )


async def known_history(
    make_user: UserFactory, sessions: SessionFactory, specs: list[Spec] | None = None
) -> History:
    history = await people(make_user, sessions)
    if specs is not None:
        history.specs = specs
    for spec in history.specs:
        await add(sessions, history, spec)
    return history
