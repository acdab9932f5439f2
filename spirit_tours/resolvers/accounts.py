"""Account rules: who may exist, in which company, with which password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from spirit_tours.core.enums import EventKind, Locale, Role
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input
from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories.events import emit_event
from spirit_tours.persistence.staffing import Guide

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPERATOR_COMPANY = "Spirit Tours"


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    role: Role
    full_name: str | None = None
    company: str | None = None
    hotel: str | None = None
    hotel_city: str = "Cusco"
    hotel_country: str = "PE"
    locale: Locale = Locale.ES
    birth_date: date | None = None


def _validate(new: NewUser) -> None:
    if not _EMAIL.match(new.email):
        raise bad_input("email", f"{new.email!r} is not an e-mail address.")
    if len(new.password) < MIN_PASSWORD_LENGTH:
        raise bad_input(
            "password", f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    if new.role == Role.CLIENT and new.company:
        raise bad_input("company", "A CLIENT belongs to no company.")
    if new.role in (Role.AGENCY, Role.HOTEL) and not new.company:
        raise bad_input("company", f"A {new.role} user needs a company.")
    if new.hotel and new.role != Role.HOTEL:
        raise bad_input("hotel", "Only HOTEL users run hotels.")


async def _company_for(session: AsyncSession, new: NewUser) -> Company | None:
    kind = new.role.company_kind
    if kind is None:
        return None
    name = new.company or OPERATOR_COMPANY
    company = await accounts.company_by_name(session, name)
    if company is None:
        return await accounts.add_company(session, name, kind)
    if company.kind != kind:
        raise bad_input(
            "company", f"{company.name} is an {company.kind} company; a {new.role} cannot join it."
        )
    return company


async def _ensure_hotel(session: AsyncSession, company: Company, new: NewUser) -> None:
    if not new.hotel:
        return
    if await accounts.hotel_by_name(session, company.id, new.hotel) is None:
        session.add(
            Hotel(
                company_id=company.id,
                name=new.hotel,
                city=new.hotel_city,
                country=new.hotel_country,
            )
        )
        await session.flush()


async def create_user(session: AsyncSession, new: NewUser) -> User:
    """Create a user, and the company (of the kind the role implies) and hotel if missing."""
    _validate(new)
    if await accounts.user_by_email(session, new.email) is not None:
        raise DomainError(
            ErrorCode.CONFLICT, f"A user with e-mail {new.email} already exists.", field="email"
        )
    company = await _company_for(session, new)
    if company is not None:
        await _ensure_hotel(session, company, new)
    user = User(
        email=new.email,
        password_hash=await hash_password(new.password),
        full_name=new.full_name or new.email.split("@")[0],
        role=new.role,
        company_id=company.id if company else None,
        locale=new.locale,
        birth_date=new.birth_date,
    )
    session.add(user)
    await session.flush()
    emit_event(session, EventKind.USER_CREATED, "User", user.id)  # the welcome mail
    if new.role == Role.GUIDE:
        session.add(Guide(user_id=user.id, languages=[new.locale.value]))
        await session.flush()
    return user
