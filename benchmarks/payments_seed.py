"""The payment benchmark's data: one CLIENT payer per booking awaiting its deposit.

Written straight through the persistence layer, in bulk (a few thousand rows a second): each
payer is a CLIENT user with its own quotation (a copy of the demo's booked Machu Picchu one,
owned by the payer) and its PENDING_PAYMENT booking (a copy of the demo booking's frozen prices
and policies, nothing paid). Access tokens are minted with the server's own ``TokenService``
and secret, as ``login`` would issue them, so no password hashing runs while the clock runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.keys import KEYRING
from benchmarks.payments_checks import PAYER_DOMAIN
from spirit_tours.auth.passwords import hash_password
from spirit_tours.auth.tokens import TokenService
from spirit_tours.config import Settings
from spirit_tours.core.enums import BookingStatus, Locale, Role
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD, seed_demo
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.bookings import Booking, BookingHotel
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.quotations import Quotation

TOKEN_TTL_SECONDS = 24 * 3600
_BATCH = 1000
_LOCALES = (Locale.ES, Locale.EN, Locale.PT)


@dataclass(frozen=True)
class Payer:
    """One traveller paying one booking's deposit."""

    token: str
    booking_id: str


def _copy(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**row, **changes}


async def _template(session: AsyncSession) -> tuple[Booking, dict[str, Any], dict[str, Any]]:
    """The demo booking, its quotation's and hotel line's column values."""
    booking = await session.scalar(select(Booking).order_by(Booking.created_at).limit(1))
    assert booking is not None, "seed_demo makes one booking"
    quotation = (
        (
            await session.execute(
                select(Quotation.__table__).where(Quotation.id == booking.quotation_id)
            )
        )
        .mappings()
        .one()
    )
    hotel = (
        (
            await session.execute(
                select(BookingHotel.__table__).where(BookingHotel.booking_id == booking.id)
            )
        )
        .mappings()
        .one()
    )
    return booking, dict(quotation), dict(hotel)


async def _add_payers(session: AsyncSession, count: int, tokens: TokenService) -> list[Payer]:
    booking, quotation, hotel = await _template(session)
    booking_row = dict(
        (await session.execute(select(Booking.__table__).where(Booking.id == booking.id)))
        .mappings()
        .one()
    )
    password_hash = await hash_password(DEMO_PASSWORD)  # one hash for all: nobody logs in
    payers: list[Payer] = []
    for first in range(0, count, _BATCH):
        numbers = range(first, min(first + _BATCH, count))
        users, quotations, bookings, hotels = [], [], [], []
        for n in numbers:
            user_id, quotation_id, booking_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            users.append({
                "id": user_id, "email": f"payer{n}@{PAYER_DOMAIN}", "password_hash": password_hash,
                "full_name": f"Payer {n}", "role": Role.CLIENT, "company_id": None,
                "locale": _LOCALES[n % len(_LOCALES)], "is_active": True,
            })  # fmt: skip
            quotations.append(_copy(quotation, id=quotation_id, owner_user_id=user_id,
                                    owner_company_id=None, idempotency_key=None))  # fmt: skip
            copied = _copy(booking_row, id=booking_id, quotation_id=quotation_id,
                           owner_user_id=user_id, owner_company_id=None, created_by_id=user_id,
                           amount_paid=Decimal(0), status=BookingStatus.PENDING_PAYMENT,
                           confirmed_at=None)  # fmt: skip
            del copied["reference"]  # the sequence numbers each booking
            bookings.append(copied)
            hotels.append(_copy(hotel, id=uuid.uuid4(), booking_id=booking_id))
            viewer = Viewer(user_id=user_id, role=Role.CLIENT, company_id=None)
            payers.append(Payer(tokens.issue(viewer).token, str(booking_id)))
        await session.execute(insert(User), users)
        await session.execute(insert(Quotation), quotations)
        await session.execute(insert(Booking), bookings)
        await session.execute(insert(BookingHotel), hotels)
    return payers


async def prepare_database(payers: int, jwt_secret: str) -> tuple[str, list[Payer]]:
    """A scratch database, migrated, with the demo data and ``payers`` payers and bookings."""
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo(session, Settings(seed_demo=False))
            made = await _add_payers(session, payers, TokenService(jwt_secret, TOKEN_TTL_SECONDS))
    except BaseException:
        await engine.dispose()
        await devservers.drop_database(url)
        raise
    await engine.dispose()
    return url, made
