"""Who makes up each audience of notifications and mail (permissions.audiences), run against
PostgreSQL over a table of accounts: every role, an inactive account, a company-less client."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import ColumnElement, select, update

from spirit_tours.core.enums import Role
from spirit_tours.permissions.audiences import (
    company_staff,
    hotel_staff,
    hotel_staff_of,
    operator_staff,
)
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import UserFactory

# account → (role, company, hotel, active)
ACCOUNTS: dict[str, tuple[Role, str | None, str | None, bool]] = {
    "admin": (Role.ADMIN, None, None, True),
    "former admin": (Role.ADMIN, None, None, False),
    "guide": (Role.GUIDE, None, None, True),
    "sol staff": (Role.HOTEL, "Sol Hotels", "Hotel Sol", True),
    "sol former staff": (Role.HOTEL, "Sol Hotels", "Hotel Sol", False),
    "luna staff": (Role.HOTEL, "Luna Hotels", "Hotel Luna", True),
    "agency staff": (Role.AGENCY, "Andes Travel", None, True),
    "agency colleague": (Role.AGENCY, "Andes Travel", None, True),
    "client": (Role.CLIENT, None, None, True),
}


@pytest.fixture
async def accounts(make_user: UserFactory, sessions: SessionFactory) -> dict[str, User]:
    made = {}
    for name, (role, company, hotel, active) in ACCOUNTS.items():
        email = name.replace(" ", ".") + "@example.com"
        made[name] = await make_user(email, role, company=company, hotel=hotel)
        if not active:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(User).where(User.id == made[name].id).values(is_active=False)
                )
    return made


async def _members(sessions: SessionFactory, audience: ColumnElement[bool]) -> set[uuid.UUID]:
    async with sessions() as session:
        return set(await session.scalars(select(User.id).where(audience)))


async def test_each_audience_is_exactly_its_active_accounts(
    accounts: dict[str, User], sessions: SessionFactory
) -> None:
    sol = accounts["sol staff"].company_id
    andes = accounts["agency staff"].company_id
    assert sol is not None
    assert andes is not None
    cases: list[tuple[str, ColumnElement[bool], set[str]]] = [
        ("operator staff", operator_staff(), {"admin"}),
        ("hotel staff", hotel_staff(), {"sol staff", "luna staff"}),
        ("hotel staff of Sol", hotel_staff_of([sol]), {"sol staff"}),
        ("hotel staff of an agency", hotel_staff_of([andes]), set()),
        ("hotel staff of nobody", hotel_staff_of([]), set()),
        ("Andes' staff", company_staff(andes), {"agency staff", "agency colleague"}),
        ("Sol's staff", company_staff(sol), {"sol staff"}),
        # a company-less owner (a client) is one person, never "every account without a company"
        ("no company", company_staff(None), set()),
    ]
    for what, audience, expected in cases:
        found = await _members(sessions, audience)
        assert found == {accounts[name].id for name in expected}, what
