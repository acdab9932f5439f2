"""Reading and writing companies, hotels, users and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import CompanyKind
from spirit_tours.persistence.accounts import Company, Hotel, RefreshToken, User
from spirit_tours.persistence.repositories.batching import children_by_parent, plain_by_ids


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def company_by_name(session: AsyncSession, name: str) -> Company | None:
    result = await session.execute(select(Company).where(func.lower(Company.name) == name.lower()))
    return result.scalar_one_or_none()


async def hotel_by_name(session: AsyncSession, company_id: uuid.UUID, name: str) -> Hotel | None:
    result = await session.execute(
        select(Hotel).where(Hotel.company_id == company_id, func.lower(Hotel.name) == name.lower())
    )
    return result.scalar_one_or_none()


async def companies_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Company]:
    return await plain_by_ids(session, Company, ids)


async def users_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    return await plain_by_ids(session, User, ids)


async def hotels_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Hotel]:
    return await plain_by_ids(session, Hotel, ids)


async def hotels_by_company_ids(
    session: AsyncSession, company_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Hotel]]:
    return await children_by_parent(
        session, Hotel, Hotel.company_id, company_ids, Hotel.name, plain=True
    )


async def add_company(
    session: AsyncSession, name: str, kind: CompanyKind, country: str | None = None
) -> Company:
    company = Company(name=name, kind=kind, country=country)
    session.add(company)
    await session.flush()
    return company


async def refresh_token_by_digest(
    session: AsyncSession, token_hash: str, *, for_update: bool = False
) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, at: datetime
) -> list[uuid.UUID]:
    """Revoke every live refresh token of the user; returns their families (the sessions that
    were open: a family has one live token at a time)."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(RefreshToken.family_id)
    )
    return list(result.scalars())
