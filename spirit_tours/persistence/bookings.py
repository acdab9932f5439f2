"""Bookings made from approved quotations, their hotel lines, refunds due and reminders sent."""

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
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import BookingStatus, PaymentDue, RefundStatus
from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey, db_enum
from spirit_tours.persistence.quotations import MONEY

BOOKING_REFERENCE_SEQUENCE = Sequence("booking_reference_seq", start=1001)


class Booking(UUIDPrimaryKey, Timestamps, Base):
    """A trip sold: the approved quotation's request and prices, frozen at booking time.

    ``quotation_id`` is unique, so the database itself refuses a second booking of a quotation.
    The payment policy (deposit, due dates) and the cancellation policy (refund percentage by
    days before the start) are copied onto the booking: later changes to the defaults never
    change what the customer agreed to.
    """

    __tablename__ = "bookings"

    reference: Mapped[str] = mapped_column(
        String(20),
        unique=True,
        server_default=text("'ST-' || nextval('booking_reference_seq')::text"),
    )
    quotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotations.id"), unique=True)
    owner_company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id"))
    owner_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    destination: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date]
    travellers: Mapped[int]
    rooms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    currency: Mapped[str] = mapped_column(String(3))
    selling_price: Mapped[Decimal] = mapped_column(MONEY)
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    status: Mapped[BookingStatus] = mapped_column(
        db_enum(BookingStatus, "booking_status"), default=BookingStatus.PENDING_PAYMENT
    )
    # Payment policy: a deposit of ``deposit_percent`` due on ``deposit_due_date`` confirms
    # the booking, the rest is due on ``balance_due_date``; no deposit means full payment.
    deposit_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    deposit_due_date: Mapped[date | None]
    balance_due_date: Mapped[date]
    # Cancellation policy: [{"days_before": 30, "refund_percent": "100"}, …], most notice first.
    cancellation_tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    confirmed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("travellers > 0", name="travellers_positive"),
        CheckConstraint("selling_price > 0", name="selling_positive"),
        CheckConstraint(
            "amount_paid >= 0 AND amount_paid <= selling_price", name="paid_within_price"
        ),
        CheckConstraint(
            "deposit_percent IS NULL OR (deposit_percent > 0 AND deposit_percent < 100)",
            name="deposit_percent_range",
        ),
        CheckConstraint(
            "(deposit_percent IS NULL) = (deposit_due_date IS NULL)", name="deposit_has_due_date"
        ),
        Index("ix_bookings_owner_company_id", "owner_company_id"),
        Index("ix_bookings_owner_user_id", "owner_user_id"),
        Index("ix_bookings_created_at_id", "created_at", "id"),
    )


class BookingHotel(UUIDPrimaryKey, Base):
    """The rooms one hotel provides for a booking, at that hotel's frozen net price."""

    __tablename__ = "booking_hotels"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    hotel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotels.id"))
    hotel_company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hotel_offers.id"))
    net_price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    rooms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint("net_price > 0", name="net_price_positive"),
        Index("ix_booking_hotels_booking_id", "booking_id"),
        Index("ix_booking_hotels_hotel_company_id", "hotel_company_id"),
    )


class BookingRefund(UUIDPrimaryKey, Timestamps, Base):
    """A refund made due, recorded for the payments side to execute: by the cancellation
    policy, or (``payment_id`` set) money a payment brought beyond what the booking could take,
    sent back from that payment only and never counted as paid."""

    __tablename__ = "booking_refunds"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    paid_amount: Mapped[Decimal] = mapped_column(MONEY)
    refund_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    days_before_start: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RefundStatus] = mapped_column(
        db_enum(RefundStatus, "refund_status"), default=RefundStatus.DUE
    )
    # Who cancelled; None when the system made it due (an over-payment).
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("amount > 0 AND amount <= paid_amount", name="amount_within_paid"),
        Index("ix_booking_refunds_booking_id", "booking_id"),
        Index(
            "uq_booking_refunds_payment_id",
            "payment_id",
            unique=True,
            postgresql_where=text("payment_id IS NOT NULL"),
        ),
    )


class PaymentReminder(Base):
    """One reminder announced for one due date: the key makes the daily job idempotent."""

    __tablename__ = "payment_reminders"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    due: Mapped[PaymentDue] = mapped_column(db_enum(PaymentDue, "payment_due"))
    due_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (PrimaryKeyConstraint("booking_id", "due", "due_date"),)
