"""The subscription benchmark's data: rooms (quotations) in each competitor mode, and the
viewers who watch them — operator staff, the owner agency's users and the invited hotels' users.

Every quotation is the demo one (Andes Travel asks, the three demo hotels bid); room ``i`` is
HIDDEN, RANK_ONLY or OPEN by ``i % 3``. Each kind of viewer has ``USERS_PER_KIND`` users, so a
room holds several users of each scope, as a busy bidding room does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from benchmarks.keys import KEYRING
from spirit_tours.config import Settings
from spirit_tours.core.enums import CompetitorPrices, Role
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD, DEMO_USERS, add_demo_quotation, seed_demo
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.quotations import Quotation
from spirit_tours.resolvers.accounts import NewUser, create_user

USERS_PER_KIND = 2
MODES = (CompetitorPrices.HIDDEN, CompetitorPrices.RANK_ONLY, CompetitorPrices.OPEN)
DESTINATION = "Cusco and the Sacred Valley"  # the demo quotation's


@dataclass(frozen=True)
class ViewerKind:
    """One scope of a room: who they are and which users sign in as them."""

    name: str  # "admin", "owner", "hotel:Inti Palace Cusco", …
    emails: tuple[str, ...]


@dataclass(frozen=True)
class Room:
    quotation_id: str
    mode: CompetitorPrices


def _demo(role: Role, company: str | None = None) -> list[NewUser]:
    return [new for new, _ in DEMO_USERS if new.role == role and new.company == company]


def viewer_kinds() -> list[ViewerKind]:
    """ADMIN, the owner (Andes Travel) and each demo hotel, with their benchmark users."""
    kinds: list[tuple[str, NewUser]] = [("admin", _demo(Role.ADMIN)[0])]
    kinds.append(("owner", _demo(Role.AGENCY, "Andes Travel")[0]))
    kinds += [(f"hotel:{new.hotel}", new) for new, _ in DEMO_USERS if new.role == Role.HOTEL]
    result = []
    for name, demo in kinds:
        local, domain = demo.email.split("@")
        extra = tuple(f"{local}+bench{n}@{domain}" for n in range(1, USERS_PER_KIND))
        result.append(ViewerKind(name, (demo.email, *extra)))
    return result


def _extra_users() -> list[NewUser]:
    """The benchmark users beyond the demo's: same role, company and hotel as their demo user."""
    by_email = {new.email: new for new, _ in DEMO_USERS}
    users = []
    for kind in viewer_kinds():
        demo = by_email[kind.emails[0]]
        users += [
            NewUser(email, DEMO_PASSWORD, demo.role, f"{demo.full_name} {n + 2}",
                    company=demo.company, hotel=demo.hotel, locale=demo.locale)
            for n, email in enumerate(kind.emails[1:])
        ]  # fmt: skip
    return users


async def prepare_database(rooms: int) -> tuple[str, list[Room]]:
    """A scratch database with the demo data, the benchmark users and ``rooms`` new quotations,
    room ``i`` in mode ``MODES[i % 3]`` (the demo's own quotation is left out)."""
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo(session, Settings(seed_demo=False))
            for new in _extra_users():
                await create_user(session, new)
            users = {user.email: user for user in await session.scalars(select(User))}
            before = set(await session.scalars(select(Quotation.id)))
            for index in range(rooms):
                await add_demo_quotation(session, users, MODES[index % len(MODES)])
            rows = await session.execute(
                select(Quotation.id, Quotation.competitor_prices)
                .where(Quotation.destination == DESTINATION, Quotation.id.not_in(before))
                .order_by(Quotation.created_at, Quotation.id)
            )
            made = [Room(str(quotation_id), CompetitorPrices(mode)) for quotation_id, mode in rows]
    finally:
        await engine.dispose()
    if [room.mode for room in made] != [MODES[i % len(MODES)] for i in range(rooms)]:
        raise RuntimeError("the rooms were not made in the expected competitor modes")
    return url, made
