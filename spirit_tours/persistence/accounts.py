"""Companies, hotels, users and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spirit_tours.core.enums import CompanyKind, Locale, Role
from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey
from spirit_tours.persistence.base import db_enum as _enum


class Company(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CompanyKind] = mapped_column(_enum(CompanyKind, "company_kind"))
    country: Mapped[str | None] = mapped_column(String(2))

    hotels: Mapped[list[Hotel]] = relationship(back_populates="company")

    __table_args__ = (Index("uq_companies_name_lower", func.lower(name), unique=True),)


class Hotel(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "hotels"

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    stars: Mapped[int | None]

    company: Mapped[Company] = relationship(back_populates="hotels")

    __table_args__ = (
        UniqueConstraint("company_id", "name", name="uq_hotels_company_name"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        Index("ix_hotels_company_id", "company_id"),
    )


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="RESTRICT")
    )
    locale: Mapped[Locale] = mapped_column(_enum(Locale, "user_locale"), default=Locale.ES)
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    birth_date: Mapped[date | None]  # for the birthday mail, when the user tells us

    company: Mapped[Company | None] = relationship()

    __table_args__ = (
        Index("uq_users_email_lower", func.lower(email), unique=True),
        Index("ix_users_company_id", "company_id"),
        CheckConstraint("(role = 'CLIENT') = (company_id IS NULL)", name="client_has_no_company"),
    )


class RefreshToken(UUIDPrimaryKey, Timestamps, Base):
    """One issued refresh token, stored as a SHA-256 digest.

    Tokens rotate: each use revokes the token and issues its successor in the same family.
    Presenting a revoked token again revokes the whole family (a stolen token was replayed).
    """

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
    )
