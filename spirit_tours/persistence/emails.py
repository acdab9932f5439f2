"""E-mail as data: every message we mean to send, the suppression list, and how far the
event feed has read. PostgreSQL is the record; saq in Redis only carries the work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus, SuppressionSource
from spirit_tours.persistence.base import Base, UUIDPrimaryKey, db_enum
from spirit_tours.persistence.encryption import EncryptedJSON


class EmailMessage(UUIDPrimaryKey, Base):
    """One message to one recipient: what to render, its delivery state and its tracking."""

    __tablename__ = "email_messages"

    template: Mapped[str] = mapped_column(String(60))
    locale: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    priority: Mapped[str] = mapped_column(String(10))
    # Encrypted at rest; a password reset's link is wiped once the mail is sent or dead.
    context: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("email_messages.context"))
    status: Mapped[EmailStatus] = mapped_column(db_enum(EmailStatus, "email_status"))
    # Why the message exists ("event:42:<user>", "birthday:2026:<user>"): producers that run
    # twice (a replayed event, a cron job on two workers) never queue it twice.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(250))  # the same header on every retry
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    scheduled_at: Mapped[datetime] = mapped_column(default=now_utc)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)  # claimed attempts, crashed ones included
    lease_until: Mapped[datetime | None]  # a SENDING claim past this belongs to no one
    last_error: Mapped[str | None] = mapped_column(Text)
    requeues: Mapped[int] = mapped_column(default=0)
    links: Mapped[list[str]] = mapped_column(JSONB, default=list)  # click targets it may open
    opened_at: Mapped[datetime | None]
    open_count: Mapped[int] = mapped_column(default=0)
    clicked_at: Mapped[datetime | None]
    click_count: Mapped[int] = mapped_column(default=0)
    unsubscribed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_email_messages_created_at", "created_at"),
        Index(
            "ix_email_messages_queued",
            "scheduled_at",
            postgresql_where=text("status IN ('QUEUED', 'SENDING')"),
        ),
        Index(
            "ix_email_messages_failed",
            "failed_at",
            "id",
            postgresql_where=text("status = 'FAILED'"),
        ),
    )


class EmailSuppression(Base):
    """An address that asked not to receive one kind of marketing mail."""

    __tablename__ = "email_suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    category: Mapped[str] = mapped_column(String(60), primary_key=True)  # a marketing template
    source: Mapped[SuppressionSource] = mapped_column(
        db_enum(SuppressionSource, "suppression_source")
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class EmailFeedCursor(Base):
    """The outbox position up to which domain events have been turned into mail."""

    __tablename__ = "email_feed_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
