"""Payments, their refunds, and every webhook delivery received from a provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import PaymentMethod, PaymentStatus, Provider, RefundStatus
from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey, db_enum
from spirit_tours.persistence.encryption import EncryptedJSON, EncryptedText
from spirit_tours.persistence.quotations import MONEY

_OPEN = "status IN ('CREATED', 'REQUIRES_ACTION', 'PENDING')"
OPEN_PAYMENT = text(_OPEN)


class Payment(UUIDPrimaryKey, Timestamps, Base):
    """One payment a payer started for a booking.

    ``(payer_user_id, idempotency_key)`` is unique: the same key returns this row, never a
    second charge. ``request_hash`` tells a retry (same input) from a reused key (different
    input). The status only moves forward (``core.enums.STATUS_ORDER``). A booking has
    at most one open payment (CREATED, REQUIRES_ACTION or PENDING): a partial unique index
    holds that whatever the code path.

    Encrypted at rest: ``next_action`` (a Stripe client secret, a PIX code or boleto naming
    the payer), ``attempts`` (provider messages) and ``request_hash`` (a digest over the
    payer's tax id among known fields: a few billion guesses would recover the id).
    """

    __tablename__ = "payments"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"))
    payer_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(EncryptedText("payments.request_hash"))
    method: Mapped[PaymentMethod] = mapped_column(db_enum(PaymentMethod, "payment_method"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    installments: Mapped[int | None]
    payer_country: Mapped[str | None] = mapped_column(String(2))
    return_url: Mapped[str] = mapped_column(Text)
    status: Mapped[PaymentStatus] = mapped_column(
        db_enum(PaymentStatus, "payment_status"), default=PaymentStatus.CREATED
    )
    provider: Mapped[Provider | None] = mapped_column(db_enum(Provider, "payment_provider"))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    next_action: Mapped[dict[str, Any]] = mapped_column(
        EncryptedJSON("payments.next_action"), default=dict
    )
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # Every provider tried, in order: [{"provider", "outcome", "message", "at"}].
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(
        EncryptedJSON("payments.attempts"), default=list
    )
    # Set while a request is talking to providers for this row; a stale claim may be taken over.
    claimed_at: Mapped[datetime | None]
    # When the money was credited to the booking: exactly once, whatever the webhooks.
    credited_at: Mapped[datetime | None]
    # How much of it counts in the booking's ``amount_paid`` now: never more than the booking
    # could take (an excess becomes a refund due), less what credited refunds took back.
    credited_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # While open, it holds the booking until then; after that it may be EXPIRED.
    hold_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        UniqueConstraint("payer_user_id", "idempotency_key", name="uq_payments_idempotency"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"
        ),
        CheckConstraint(
            "credited_amount >= 0 AND credited_amount <= amount", name="credited_within_amount"
        ),
        CheckConstraint(f"hold_until IS NOT NULL OR NOT ({_OPEN})", name="open_has_hold"),
        Index("ix_payments_booking_id", "booking_id"),
        Index(
            "uq_payments_open_per_booking",
            "booking_id",
            unique=True,
            postgresql_where=OPEN_PAYMENT,
        ),
        Index("ix_payments_open_hold_until", "hold_until", postgresql_where=OPEN_PAYMENT),
        Index(
            "uq_payments_provider_reference",
            "provider",
            "provider_reference",
            unique=True,
            postgresql_where="provider_reference IS NOT NULL",
        ),
        Index("ix_payments_created_at_id", "created_at", "id"),
    )


class PaymentRefund(UUIDPrimaryKey, Timestamps, Base):
    """Money sent back to the payer, asked by the operator or made due by a cancellation."""

    __tablename__ = "payment_refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    booking_refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("booking_refunds.id"))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RefundStatus] = mapped_column(
        db_enum(RefundStatus, "refund_status"), default=RefundStatus.PROCESSING
    )
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payment_refunds_payment_id", "payment_id"),
    )


class WebhookDelivery(Base):
    """Every webhook received, verified or not, as it arrived: for audit and for replay.
    Headers and body are encrypted at rest (payer data, signatures)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    provider: Mapped[Provider] = mapped_column(db_enum(Provider, "payment_provider"))
    received_at: Mapped[datetime] = mapped_column(default=now_utc)
    signature_valid: Mapped[bool]
    event_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("webhook_deliveries.headers"))
    body: Mapped[str] = mapped_column(EncryptedText("webhook_deliveries.body"))
    outcome: Mapped[str] = mapped_column(String(20))  # APPLIED, DUPLICATE, IGNORED, REJECTED
    detail: Mapped[str | None] = mapped_column(Text)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    replayed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_webhook_deliveries_received_at", "received_at"),
        Index("ix_webhook_deliveries_payment_id", "payment_id"),
    )


class ProcessedWebhook(Base):
    """A provider event applied once: inserted in the transaction that applies it."""

    __tablename__ = "processed_webhooks"

    provider: Mapped[Provider] = mapped_column(db_enum(Provider, "payment_provider"))
    event_id: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (PrimaryKeyConstraint("provider", "event_id"),)
