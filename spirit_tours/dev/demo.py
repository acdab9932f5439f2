"""Demo data: an operator, two agencies, three competing hotels in Cusco, a client and a guide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.config import Settings
from spirit_tours.core.booking_policies import payment_policy_of
from spirit_tours.core.clock import now_utc, today_utc
from spirit_tours.core.enums import (
    CompetitorPrices,
    ExtraService,
    Locale,
    PaymentMethod,
    PaymentStatus,
    Provider,
    Role,
    RoomType,
    VehicleKind,
)
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import Quotation
from spirit_tours.persistence.repositories import accounts
from spirit_tours.resolvers import guides
from spirit_tours.resolvers.accounts import NewUser, create_user
from spirit_tours.resolvers.auth import viewer_of
from spirit_tours.resolvers.bookings import lifecycle as bookings
from spirit_tours.resolvers.bookings import staffing
from spirit_tours.resolvers.guides import NewVehicle
from spirit_tours.resolvers.quotations import invitations, lifecycle, offers, proposals

DEMO_PASSWORD = "spirit-demo-2026"  # noqa: S105 - printed for the demo, never used in production


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    what: str


DEMO_USERS: tuple[tuple[NewUser, str], ...] = (
    (NewUser("admin@spirit-tours.example", DEMO_PASSWORD, Role.ADMIN, "Ana Operadora",
             locale=Locale.ES), "operator staff"),
    (NewUser("maria@andes-travel.example", DEMO_PASSWORD, Role.AGENCY, "María Quispe",
             company="Andes Travel", locale=Locale.ES), "agency Andes Travel"),
    (NewUser("joao@rio-viagens.example", DEMO_PASSWORD, Role.AGENCY, "João Silva",
             company="Rio Viagens", locale=Locale.PT), "agency Rio Viagens"),
    (NewUser("reservas@inti-palace.example", DEMO_PASSWORD, Role.HOTEL, "Rosa Mamani",
             company="Inti Hotels", hotel="Inti Palace Cusco", locale=Locale.ES),
     "hotel Inti Palace Cusco"),
    (NewUser("sales@qorikancha-suites.example", DEMO_PASSWORD, Role.HOTEL, "Luis Huamán",
             company="Qorikancha Hospitality", hotel="Qorikancha Suites", locale=Locale.EN),
     "hotel Qorikancha Suites"),
    (NewUser("front@andean-lodge.example", DEMO_PASSWORD, Role.HOTEL, "Carla Condori",
             company="Andean Lodges", hotel="Andean Lodge Cusco", locale=Locale.ES),
     "hotel Andean Lodge Cusco"),
    (NewUser("emma.client@example.com", DEMO_PASSWORD, Role.CLIENT, "Emma Traveller",
             locale=Locale.EN), "a traveller asking directly"),
    (NewUser("pedro.guide@spirit-tours.example", DEMO_PASSWORD, Role.GUIDE, "Pedro Guía",
             locale=Locale.ES), "a tour guide"),
)  # fmt: skip


async def database_is_empty(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(User)) == 0)


async def seed_demo(session: AsyncSession, settings: Settings) -> list[DemoLogin]:
    """Create whatever demo user is missing, and the demo quotation once; safe to run again."""
    logins = []
    users: dict[str, User] = {}
    for new, what in DEMO_USERS:
        user = await accounts.user_by_email(session, new.email)
        users[new.email] = user or await create_user(session, new)
        logins.append(DemoLogin(new.email, new.role, what))
    if await session.scalar(select(func.count()).select_from(Quotation)) == 0:
        await add_demo_quotation(session, users)
        await add_demo_booking(session, users, settings)
    return logins


DEMO_OFFERS = (
    ("reservas@inti-palace.example", Decimal("4850.00"), "Breakfast and late check-out."),
    ("sales@qorikancha-suites.example", Decimal("4390.00"), "Rooms facing the square."),
    ("front@andean-lodge.example", Decimal("4620.50"), "Oxygen in every room."),
)


async def add_demo_quotation(
    session: AsyncSession,
    users: dict[str, User],
    competitor_prices: CompetitorPrices = CompetitorPrices.OPEN,
) -> None:
    """An OPEN quotation in Cusco with offers from the three demo hotels (competitors OPEN
    unless ``competitor_prices`` says otherwise: the subscription benchmark mixes the modes)."""
    agency = viewer_of(users["maria@andes-travel.example"])
    admin = viewer_of(users["admin@spirit-tours.example"])
    start = today_utc() + timedelta(days=60)
    quotation = await lifecycle.create_quotation(
        session,
        agency,
        lifecycle.QuotationRequest(
            destination="Cusco and the Sacred Valley",
            start_date=start,
            end_date=start + timedelta(days=5),
            travellers=16,
            rooms=[lifecycle.RoomNeed(RoomType.DOUBLE, 7), lifecycle.RoomNeed(RoomType.SINGLE, 2)],
            extra_services=[ExtraService.GUIDE, ExtraService.TRANSPORT],
            notes="University alumni group; two vegetarians.",
            currency="USD",
            offer_deadline=now_utc() + timedelta(days=14),
        ),
    )
    await lifecycle.update_quotation(
        session,
        admin,
        quotation.id,
        lifecycle.QuotationRequest(
            competitor_prices=competitor_prices, provided={"competitor_prices"}
        ),
    )
    hotels = list(await session.scalars(select(Hotel).order_by(Hotel.name)))
    await invitations.invite_hotels(session, admin, quotation.id, [h.id for h in hotels])
    for email, price, notes in DEMO_OFFERS:
        await offers.submit_offer(
            session,
            viewer_of(users[email]),
            quotation.id,
            None,
            offers.OfferTerms(price, "USD", start - timedelta(days=7), notes),
        )


DEMO_VEHICLES = (
    NewVehicle("Sprinter 1", "CUS-101", VehicleKind.VAN, 12),
    NewVehicle("Coaster 1", "CUS-201", VehicleKind.MINIBUS, 20),
    NewVehicle("Irizar 1", "CUS-301", VehicleKind.BUS, 45),
)


async def add_demo_booking(
    session: AsyncSession, users: dict[str, User], settings: Settings
) -> None:
    """Machu Picchu for Rio Viagens: proposed, approved, booked, deposit paid (CONFIRMED),
    with the demo guide (in Portuguese) and a van."""
    agency = viewer_of(users["joao@rio-viagens.example"])
    admin = viewer_of(users["admin@spirit-tours.example"])
    guide = users["pedro.guide@spirit-tours.example"]
    start = today_utc() + timedelta(days=45)
    quotation = await lifecycle.create_quotation(
        session,
        agency,
        lifecycle.QuotationRequest(
            destination="Machu Picchu",
            start_date=start,
            end_date=start + timedelta(days=3),
            travellers=10,
            rooms=[lifecycle.RoomNeed(RoomType.DOUBLE, 5)],
            extra_services=[ExtraService.GUIDE, ExtraService.TRANSPORT],
            notes="Family group from São Paulo.",
            currency="USD",
            offer_deadline=now_utc() + timedelta(days=7),
        ),
    )
    hotels = list(await session.scalars(select(Hotel).order_by(Hotel.name)))
    await invitations.invite_hotels(session, admin, quotation.id, [h.id for h in hotels])
    _, offer = await offers.submit_offer(
        session,
        viewer_of(users["sales@qorikancha-suites.example"]),
        quotation.id,
        None,
        offers.OfferTerms(Decimal("2980.00"), "USD", start - timedelta(days=7), "Valley view."),
    )
    await lifecycle.close_quotation(session, admin, quotation.id)
    await proposals.propose_offer(session, admin, quotation.id, offer.id, Decimal("18.00"))
    await proposals.decide_proposal(session, agency, quotation.id, approve=True, reason="")
    booking = await bookings.create_booking(
        session, admin, quotation.id, bookings.BookingTerms(), settings
    )
    deposit = payment_policy_of(booking).amount_to_confirm(booking.selling_price, booking.currency)
    await _paid_offline(session, booking, agency, deposit)
    await guides.set_guide_languages(session, admin, guide.id, ["es", "en", "pt", "qu"])
    await staffing.assign_guide(session, admin, booking.id, guide.id, "pt")
    vans = [await guides.create_vehicle(session, admin, vehicle) for vehicle in DEMO_VEHICLES]
    await staffing.assign_transport(session, admin, booking.id, vans[0].id)


async def _paid_offline(
    session: AsyncSession, booking: Booking, payer: Viewer, amount: Decimal
) -> None:
    """The deposit as the offline gateway records it once its checkout is approved."""
    now = now_utc()
    payment = Payment(
        id=uuid.uuid4(),
        booking_id=booking.id,
        payer_user_id=payer.user_id,
        idempotency_key=f"demo-deposit-{booking.id}",
        request_hash="demo",
        method=PaymentMethod.CARD,
        amount=amount,
        currency=booking.currency,
        return_url="http://127.0.0.1:8000/",
        status=PaymentStatus.SUCCEEDED,
        provider=Provider.OFFLINE,
        provider_reference=f"off_demo_{booking.reference}",
        next_action={"kind": "NONE"},
        card_last4="4242",
        refunded_amount=Decimal(0),
        attempts=[{"provider": "OFFLINE", "outcome": "ACCEPTED", "at": now.isoformat()}],
        credited_at=now,
        credited_amount=amount,
        created_at=now,  # not the database's later default: credited before it was started
        updated_at=now,
    )
    session.add(payment)
    await bookings.apply_payment(session, booking.id, amount, booking.currency)


def format_logins(logins: list[DemoLogin]) -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {login.role:<7} {login.email:<36} {login.what}" for login in logins]
    return "\n".join(lines)
