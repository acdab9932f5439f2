"""The history's world: destinations, hotels with latent traits, agencies, clients, staff.

The catalogue is drawn from its own fixed seed, whatever ``--seed`` a run uses: every run
(and every rerun into the same database) sees the same hotels with the same traits, so
histories added later stay one consistent world. :func:`ensure_catalogue` creates whatever
row is missing (found again by company name, hotel name and e-mail), directly and without
events: these accounts are history, nobody is welcomed by mail.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.auth.passwords import hash_password
from spirit_tours.core.enums import CompanyKind, Locale, Role
from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.resolvers.accounts import OPERATOR_COMPANY

CATALOGUE_SEED = 20_26
HISTORY_PASSWORD = "spirit-demo-2026"  # noqa: S105 - the demo's password, printed by seed-demo


@dataclass(frozen=True)
class Destination:
    """A tour destination; its hotels' ``city`` is exactly ``name``."""

    name: str
    country: str
    currency: str
    base_rate: float  # a standard double room, one night, in ``currency``, low season
    high_months: frozenset[int]
    high_uplift: float  # price factor in high season (1.2 to 1.5)
    popularity: float  # share of requests
    markup: float  # the operator's usual markup here, percent
    hotels: int


DESTINATIONS: tuple[Destination, ...] = (
    Destination("Lima", "PE", "USD", 115, frozenset({12, 1, 2, 3}), 1.25, 1.0, 14, 8),
    Destination("Arequipa", "PE", "USD", 80, frozenset({5, 6, 7, 8, 9}), 1.2, 0.6, 18, 6),
    Destination("Rio de Janeiro", "BR", "BRL", 560, frozenset({12, 1, 2, 3}), 1.5, 1.4, 16, 10),
    Destination("Salvador", "BR", "BRL", 390, frozenset({12, 1, 2}), 1.4, 0.7, 20, 7),
    Destination("Foz do Iguaçu", "BR", "BRL", 340, frozenset({1, 7, 12}), 1.3, 0.7, 22, 6),
    Destination("Buenos Aires", "AR", "USD", 125, frozenset({3, 10, 11, 12}), 1.25, 1.2, 15, 9),
    Destination("Mendoza", "AR", "USD", 105, frozenset({2, 3, 4}), 1.3, 0.5, 21, 5),
    Destination("Cartagena", "CO", "COP", 520_000, frozenset({12, 1, 6, 7}), 1.45, 0.9, 19, 8),
    Destination("Cancún", "MX", "USD", 175, frozenset({12, 1, 2, 3, 4}), 1.4, 1.1, 12, 9),
    Destination("Lisbon", "PT", "EUR", 135, frozenset({6, 7, 8, 9}), 1.35, 1.0, 13, 8),
    Destination("Barcelona", "ES", "EUR", 165, frozenset({6, 7, 8, 9}), 1.4, 1.2, 11, 10),
    Destination("Rome", "IT", "EUR", 175, frozenset({4, 5, 6, 9, 10}), 1.3, 1.1, 12, 9),
)  # fmt: skip


@dataclass
class HotelTraits:
    """A hotel and what drives its behaviour (never stored: the history shows it)."""

    id: uuid.UUID
    company_id: uuid.UUID
    user_id: uuid.UUID  # the company's reservations user, who submits its offers
    name: str
    destination: Destination
    stars: int
    archetype: str  # budget_slow, premium_fast, balanced, flaky
    level: float  # price factor over the destination's base rate (0.7 to 1.5)
    responsiveness: float  # chance of answering an invitation with an offer
    delay_hours: float  # median hours from invitation to offer
    reputation: float  # quality the operator weighs against price (about -1 to 1)
    popularity: float  # how readily the operator invites it
    capacity: int  # rooms it can hold for one group; asked for more, it rarely answers
    group_rate: float  # price factor for 10 rooms or more (0.85 for group hotels, else 1)
    busy: float  # chance of still answering in high season, relative to low season


@dataclass
class Owner:
    """Who asks for quotations: an agency user (``company_id`` set) or a client."""

    user_id: uuid.UUID
    company_id: uuid.UUID | None
    country: str
    approval: float  # chance of approving a first proposal at the usual markup
    markup_shift: float  # points added to the destination's markup for this customer
    cancel_factor: float  # multiplies the chance of cancelling a booking
    weight: float  # share of requests


@dataclass
class Catalogue:
    hotels: list[HotelTraits]
    owners: list[Owner]
    admins: list[uuid.UUID]
    hotels_by_destination: dict[str, list[HotelTraits]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for hotel in self.hotels:
            self.hotels_by_destination.setdefault(hotel.destination.name, []).append(hotel)


BRANDS = (
    "Aurora", "Brisa", "Cielo", "Terra", "Alma", "Palma", "Luz", "Vista", "Monte", "Oro",
    "Costa", "Puerto", "Real", "Villa", "Estrela", "Nomad", "Ceiba", "Jacarandá", "Olivo",
    "Salina", "Cóndor", "Quetzal", "Mirador", "Alameda", "Ribera", "Farol", "Azahar", "Tucán",
    "Mistral", "Lumbre", "Marea", "Atalaya", "Corona", "Sierra", "Laguna", "Ventana",
)  # fmt: skip
SUFFIXES = ("Hospitality", "Hotels", "Resorts", "Collection", "Stays", "Group")
STYLES = ("Palace", "Boutique", "Suites", "Inn", "Grand Hotel", "Lodge", "Plaza", "Residence")
AGENCIES = (
    ("Andina Viajes", "PE", Locale.ES), ("Carioca Turismo", "BR", Locale.PT),
    ("Pampa Tours", "AR", Locale.ES), ("Caribe Travel Group", "CO", Locale.ES),
    ("Maya Journeys", "MX", Locale.ES), ("Iberia Select Travel", "ES", Locale.ES),
    ("Lusitania Viagens", "PT", Locale.PT), ("Globetrotter Partners", "US", Locale.EN),
)  # fmt: skip
ARCHETYPES = (
    # name, weight, level range, responsiveness range, median delay hours range
    ("budget_slow", 0.25, (0.7, 0.9), (0.35, 0.55), (30.0, 72.0)),
    ("premium_fast", 0.2, (1.2, 1.5), (0.82, 0.95), (2.0, 8.0)),
    ("balanced", 0.4, (0.9, 1.2), (0.6, 0.85), (8.0, 30.0)),
    ("flaky", 0.15, (0.8, 1.1), (0.25, 0.45), (12.0, 48.0)),
)
CLIENTS = 40


def _slug(text: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in text.lower())
    ascii_only = kept.encode("ascii", "ignore").decode()
    return "-".join(filter(None, ascii_only.split("-")))


@dataclass
class _HotelSpec:
    """A hotel as planned, before its row exists."""

    destination: Destination
    archetype: str
    level: float
    stars: int
    responsiveness: float
    delay_hours: float
    reputation: float
    popularity: float
    name: str = ""
    capacity: int = 0
    group_rate: float = 1.0
    busy: float = 1.0


@dataclass
class _Plan:
    """The catalogue as names and traits, before any id is known."""

    companies: list[tuple[str, str, list[int]]]  # name, country, hotel indexes
    hotels: list[_HotelSpec]
    agencies: list[tuple[str, str, Locale, list[str], float, float, float, float]]
    clients: list[tuple[str, str, float, float, float]]


def _plan() -> _Plan:
    rng = random.Random(CATALOGUE_SEED)  # noqa: S311 - a made-up world, not secrets
    hotels: list[_HotelSpec] = []
    brands = list(BRANDS)
    rng.shuffle(brands)
    for destination in DESTINATIONS:
        for _ in range(destination.hotels):
            archetype = rng.choices(ARCHETYPES, weights=[a[1] for a in ARCHETYPES])[0]
            name, _, level, answer, delay = archetype
            level_value = rng.uniform(*level)
            stars = 5 if level_value > 1.25 else 4 if level_value > 0.92 else 3
            if rng.random() < 0.2:  # stars and price do not always agree
                stars = max(3, min(5, stars + rng.choice((-1, 1))))
            hotels.append(
                _HotelSpec(
                    destination=destination,
                    archetype=name,
                    level=level_value,
                    stars=stars,
                    responsiveness=rng.uniform(*answer),
                    delay_hours=rng.uniform(*delay),
                    reputation=max(-1.0, min(1.0, rng.gauss(0.3 * (stars - 4), 0.4))),
                    popularity=rng.uniform(0.5, 1.5) * (0.7 + 0.6 * rng.uniform(*answer)),
                )
            )
    # Traits that make a hotel's chances depend on the request (drawn apart, so the names and
    # the traits above stay what they were before these existed).
    extra = random.Random(CATALOGUE_SEED + 1)  # noqa: S311 - a made-up world, not secrets
    for spec in hotels:
        groups = extra.random() < (0.25 if spec.archetype == "premium_fast" else 0.45)
        spec.capacity = extra.randint(25, 60) if groups else extra.randint(6, 16)
        spec.group_rate = 0.85 if groups else 1.0
        spec.busy = extra.uniform(0.5, 0.7) if spec.stars >= 4 else extra.uniform(0.75, 0.95)
    order = list(range(len(hotels)))
    rng.shuffle(order)
    companies: list[tuple[str, str, list[int]]] = []
    while order:
        size = min(len(order), rng.choice((1, 1, 2, 2, 3)))
        members, order = order[:size], order[size:]
        brand = brands[len(companies) % len(brands)]
        suffix = SUFFIXES[(len(companies) // len(brands)) % len(SUFFIXES)]
        country = hotels[members[0]].destination.country
        companies.append((f"{brand} {suffix}", country, members))
        for k, member in enumerate(members):  # a style each: names differ within a company
            style = STYLES[(len(companies) + k) % len(STYLES)]
            hotels[member].name = f"{brand} {style} {hotels[member].destination.name}"
    agencies = []
    for name, country, locale in AGENCIES:
        users = [f"{_slug(name)}-{k + 1}" for k in range(rng.choice((1, 2, 3)))]
        agencies.append((name, country, locale, users, rng.uniform(0.45, 0.85),
                         rng.uniform(-3.0, 5.0), rng.uniform(0.6, 1.6),
                         rng.uniform(0.6, 2.0)))  # fmt: skip
    countries = ("US", "BR", "AR", "ES", "PE", "MX", "DE", "FR", "GB", "CO")
    clients = [
        (f"traveller{k + 1:02d}", rng.choice(countries), rng.uniform(0.3, 0.6),
         rng.uniform(3.0, 8.0), rng.uniform(0.8, 2.0))
        for k in range(CLIENTS)
    ]  # fmt: skip
    return _Plan(companies, hotels, agencies, clients)


async def _company(
    session: AsyncSession, name: str, kind: CompanyKind, country: str | None, at: datetime
) -> Company:
    found = await session.scalar(select(Company).where(func.lower(Company.name) == name.lower()))
    if found is not None:
        if found.kind != kind:
            raise ValueError(f"company {name!r} exists as {found.kind}, not {kind}")
        return found
    company = Company(id=uuid.uuid4(), name=name, kind=kind, country=country, created_at=at)
    session.add(company)
    return company


class _Users:
    """Finds or creates users; the password is hashed once for every new one."""

    def __init__(self, session: AsyncSession, at: datetime) -> None:
        self.session = session
        self.at = at
        self.hash: str | None = None
        self.existing: dict[str, User] = {}

    async def load(self) -> None:
        rows = await self.session.scalars(select(User).where(User.email.like("%.example")))
        self.existing = {user.email.lower(): user for user in rows}

    async def get(
        self, email: str, role: Role, name: str, company: Company | None, locale: Locale
    ) -> uuid.UUID:
        found = self.existing.get(email.lower())
        if found is not None:
            return found.id
        if self.hash is None:
            self.hash = await hash_password(HISTORY_PASSWORD)
        user = User(
            id=uuid.uuid4(), email=email, password_hash=self.hash, full_name=name, role=role,
            company_id=company.id if company else None, locale=locale, is_active=True,
            created_at=self.at,
        )  # fmt: skip
        self.session.add(user)
        self.existing[email.lower()] = user
        return user.id


async def ensure_catalogue(session: AsyncSession, since: datetime) -> Catalogue:
    """The catalogue's rows, created where missing (dated before the history starts)."""
    plan = _plan()
    at = since - timedelta(days=30)
    users = _Users(session, at)
    await users.load()
    operator = await _company(session, OPERATOR_COMPANY, CompanyKind.OPERATOR, "PE", at)
    await session.flush()
    admins = [
        await users.get(f"ops{k}@spirit-tours.example", Role.ADMIN, name, operator, Locale.ES)
        for k, name in enumerate(("Lucía Operaciones", "Diego Reservas", "Sofía Ventas"), 1)
    ]
    hotels: list[HotelTraits] = []
    for company_name, country, members in plan.companies:
        company = await _company(session, company_name, CompanyKind.HOTEL, country, at)
        await session.flush()
        email = f"reservas@{_slug(company_name)}.example"
        user_id = await users.get(email, Role.HOTEL, f"Reservas {company_name}", company,
                                  Locale.ES)  # fmt: skip
        existing = {
            hotel.name: hotel
            for hotel in await session.scalars(select(Hotel).where(Hotel.company_id == company.id))
        }
        for member in members:
            spec = plan.hotels[member]
            row = existing.get(spec.name)
            if row is None:
                row = Hotel(
                    id=uuid.uuid4(),
                    company_id=company.id,
                    name=spec.name,
                    city=spec.destination.name,
                    country=spec.destination.country,
                    stars=spec.stars,
                    created_at=at,
                )
                session.add(row)
            hotels.append(
                HotelTraits(
                    id=row.id,
                    company_id=company.id,
                    user_id=user_id,
                    name=spec.name,
                    destination=spec.destination,
                    stars=spec.stars,
                    archetype=spec.archetype,
                    level=spec.level,
                    responsiveness=spec.responsiveness,
                    delay_hours=spec.delay_hours,
                    reputation=spec.reputation,
                    popularity=spec.popularity,
                    capacity=spec.capacity,
                    group_rate=spec.group_rate,
                    busy=spec.busy,
                )
            )
    owners: list[Owner] = []
    for name, country, locale, logins, approval, shift, cancel, weight in plan.agencies:
        company = await _company(session, name, CompanyKind.AGENCY, country, at)
        await session.flush()
        for login in logins:
            user_id = await users.get(f"{login}@{_slug(name)}.example", Role.AGENCY,
                                      login.replace("-", " ").title(), company, locale)  # fmt: skip
            owners.append(Owner(user_id, company.id, country, approval, shift, cancel,
                                weight / len(logins)))  # fmt: skip
    for login, country, approval, shift, cancel in plan.clients:
        user_id = await users.get(f"{login}@clients.example", Role.CLIENT, login.title(), None,
                                  Locale.EN)  # fmt: skip
        owners.append(Owner(user_id, None, country, approval, shift, cancel, 0.06))
    await session.flush()
    return Catalogue(hotels, owners, admins)
