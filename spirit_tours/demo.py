"""Demo data: an operator, two agencies, three competing hotels in Cusco, a client and a guide."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.enums import Locale, Role
from spirit_tours.persistence.repositories import accounts
from spirit_tours.resolvers.accounts import NewUser, create_user

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


async def seed_demo(session: AsyncSession) -> list[DemoLogin]:
    """Create whatever demo user is missing; safe to run again."""
    logins = []
    for new, what in DEMO_USERS:
        if await accounts.user_by_email(session, new.email) is None:
            await create_user(session, new)
        logins.append(DemoLogin(new.email, new.role, what))
    return logins


def format_logins(logins: list[DemoLogin]) -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {login.role:<7} {login.email:<36} {login.what}" for login in logins]
    return "\n".join(lines)
