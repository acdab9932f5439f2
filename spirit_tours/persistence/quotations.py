"""Quotations, hotel invitations, offers and their revision history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import (
    CompetitorPrices,
    ExtraService,
    InvitationStatus,
    OfferStatus,
    QuotationStatus,
)
from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey, db_enum

MONEY = Numeric(14, 2)


class Quotation(UUIDPrimaryKey, Timestamps, Base):
    """A request for quotation. Owned by an agency company, or by a client user alone."""

    __tablename__ = "quotations"

    owner_company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id"))
    owner_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    destination: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date]
    travellers: Mapped[int]
    rooms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    extra_services: Mapped[list[ExtraService]] = mapped_column(
        ARRAY(db_enum(ExtraService, "extra_service"))
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    offer_deadline: Mapped[datetime]
    competitor_prices: Mapped[CompetitorPrices] = mapped_column(
        db_enum(CompetitorPrices, "competitor_prices"), default=CompetitorPrices.HIDDEN
    )
    status: Mapped[QuotationStatus] = mapped_column(
        db_enum(QuotationStatus, "quotation_status"), default=QuotationStatus.DRAFT
    )
    selected_offer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hotel_offers.id", use_alter=True)
    )
    markup_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    selling_price: Mapped[Decimal | None] = mapped_column(MONEY)
    proposed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    # ``createQuotation``'s optional idempotency key, unique per owner (the creating user),
    # and the digest of the input it came with: a retry returns this quotation.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        UniqueConstraint("owner_user_id", "idempotency_key", name="uq_quotations_idempotency"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("travellers > 0", name="travellers_positive"),
        CheckConstraint("selling_price IS NULL OR selling_price > 0", name="selling_positive"),
        Index("ix_quotations_owner_company_id", "owner_company_id"),
        Index("ix_quotations_owner_user_id", "owner_user_id"),
        Index("ix_quotations_created_at_id", "created_at", "id"),
    )


class HotelInvitation(UUIDPrimaryKey, Timestamps, Base):
    """A hotel asked to bid; ``alias`` ("Hotel B") is how competitors may see it, stable."""

    __tablename__ = "hotel_invitations"

    quotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"))
    hotel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotels.id"))
    hotel_company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    alias: Mapped[str] = mapped_column(String(40))
    status: Mapped[InvitationStatus] = mapped_column(
        db_enum(InvitationStatus, "invitation_status"), default=InvitationStatus.INVITED
    )
    decline_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        UniqueConstraint("quotation_id", "hotel_id", name="uq_hotel_invitations_hotel"),
        UniqueConstraint("quotation_id", "alias", name="uq_hotel_invitations_alias"),
        Index("ix_hotel_invitations_hotel_company_id", "hotel_company_id"),
    )


class HotelOffer(UUIDPrimaryKey, Timestamps, Base):
    """A hotel's current offer for a quotation; earlier versions live in ``offer_revisions``."""

    __tablename__ = "hotel_offers"

    quotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"))
    hotel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotels.id"))
    hotel_company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    net_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date]
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OfferStatus] = mapped_column(
        db_enum(OfferStatus, "offer_status"), default=OfferStatus.ACTIVE
    )
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        UniqueConstraint("quotation_id", "hotel_id", name="uq_hotel_offers_hotel"),
        CheckConstraint("net_price > 0", name="net_price_positive"),
        Index("ix_hotel_offers_quotation_id", "quotation_id"),
    )


class OfferRevision(UUIDPrimaryKey, Timestamps, Base):
    """One version of an offer, as submitted or revised (or withdrawn)."""

    __tablename__ = "offer_revisions"

    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotel_offers.id", ondelete="CASCADE"))
    revision: Mapped[int]
    net_price: Mapped[Decimal] = mapped_column(MONEY)
    valid_until: Mapped[date]
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OfferStatus] = mapped_column(db_enum(OfferStatus, "offer_status"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("offer_id", "revision", name="uq_offer_revisions_revision"),)
