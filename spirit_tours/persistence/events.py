"""The audit log and the transactional outbox of domain events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import Role
from spirit_tours.persistence.base import Base, UUIDPrimaryKey, db_enum


class AuditEntry(UUIDPrimaryKey, Base):
    """Who did what to which object, when; written in the same transaction as the change."""

    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(default=now_utc)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[Role | None] = mapped_column(db_enum(Role, "user_role"))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (
        Index("ix_audit_log_at_id", "at", "id"),
        Index("ix_audit_log_object_id", "object_id"),
        Index("ix_audit_log_actor_id", "actor_id"),
    )


class OutboxEvent(Base):
    """A domain event, committed with the change that caused it.

    Consumers (realtime fan-out, e-mail) read it in ``id`` order and mark it published; the
    payload holds identifiers only, so each consumer resolves what its reader may see.
    """

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=now_utc)
    kind: Mapped[str] = mapped_column(String(60))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    published_at: Mapped[datetime | None]
    # Set by the relay when it publishes the event: the order subscribers see (commit order,
    # gap-free), and the cursor they resume from.
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The live rooms the event belongs to ("quotation:<id>", "company:<id>", …).
    rooms: Mapped[list[str]] = mapped_column(
        ARRAY(String(80)), default=list, server_default=text("'{}'")
    )
    # The W3C traceparent of the request or job that caused the event, when it was traced
    # (core/tracing.py): the relay's span links to it, the e-mail it causes continues it.
    trace_parent: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ix_outbox_events_unpublished",
            "id",
            postgresql_where="published_at IS NULL",
        ),
        Index("ix_outbox_events_rooms", "rooms", postgresql_using="gin"),
    )


class Notification(Base):
    """An entry of a user's inbox, kept until they acknowledge it (offline delivery)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    event_position: Mapped[int] = mapped_column(BigInteger)
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    acknowledged_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_notifications_unacknowledged",
            "user_id",
            "id",
            postgresql_where="acknowledged_at IS NULL",
        ),
        UniqueConstraint("user_id", "event_position", name="uq_notifications_event"),
    )


class ChatMessage(UUIDPrimaryKey, Base):
    """A message in one of a quotation's threads: the operator with the owner (``OWNER``), or
    with one hotel company (``HOTEL`` + ``hotel_company_id``)."""

    __tablename__ = "chat_messages"

    quotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"))
    thread: Mapped[str] = mapped_column(String(10))
    hotel_company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint(
            "(thread = 'OWNER') = (hotel_company_id IS NULL)", name="thread_matches_company"
        ),
        Index("ix_chat_messages_quotation_thread", "quotation_id", "thread", "created_at"),
    )
