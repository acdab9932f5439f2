"""Guides and vehicles, and their assignments to bookings.

An active assignment (``released_at IS NULL``) occupies its guide or vehicle for the booking's
dates. An ``EXCLUDE USING gist`` constraint (btree_gist, migration 0008) refuses two active
assignments of the same guide (or vehicle) whose inclusive dates overlap, whatever the code path:
a second transaction inserting an overlapping assignment waits for the first to end, then fails
with ``exclusion_violation`` if the first committed.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spirit_tours.core.enums import ReleaseReason, VehicleKind
from spirit_tours.persistence.base import Base, Timestamps, UUIDPrimaryKey, db_enum

ACTIVE = text("released_at IS NULL")
DATES = text("daterange(start_date, end_date, '[]')")  # inclusive on both ends


class Guide(Timestamps, Base):
    """The guiding profile of a GUIDE user: the languages they guide in."""

    __tablename__ = "guides"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(8)))


class GuideTimeOff(UUIDPrimaryKey, Timestamps, Base):
    """Days a guide is not available (holidays, other work); inclusive dates."""

    __tablename__ = "guide_time_off"

    guide_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("guides.user_id", ondelete="CASCADE"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        Index("ix_guide_time_off_guide_id", "guide_id"),
    )


class Vehicle(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "vehicles"

    name: Mapped[str] = mapped_column(String(120))
    plate: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[VehicleKind] = mapped_column(db_enum(VehicleKind, "vehicle_kind"))
    capacity: Mapped[int]

    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)


class GuideAssignment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "guide_assignments"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    guide_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("guides.user_id"))
    language: Mapped[str | None] = mapped_column(String(8))
    start_date: Mapped[date]
    end_date: Mapped[date]
    assigned_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[ReleaseReason | None] = mapped_column(
        db_enum(ReleaseReason, "release_reason")
    )

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        Index(
            "uq_guide_assignments_active_booking",
            "booking_id",
            unique=True,
            postgresql_where=ACTIVE,
        ),
        Index("ix_guide_assignments_guide_id", "guide_id"),
        ExcludeConstraint(
            ("guide_id", "="),
            (DATES, "&&"),
            name="guide_assignments_no_overlap",
            using="gist",
            where=ACTIVE,
        ),
    )


class TransportAssignment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "transport_assignments"

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicles.id"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    assigned_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[ReleaseReason | None] = mapped_column(
        db_enum(ReleaseReason, "release_reason")
    )

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        Index(
            "uq_transport_assignments_active_booking",
            "booking_id",
            unique=True,
            postgresql_where=ACTIVE,
        ),
        Index("ix_transport_assignments_vehicle_id", "vehicle_id"),
        ExcludeConstraint(
            ("vehicle_id", "="),
            (DATES, "&&"),
            name="transport_assignments_no_overlap",
            using="gist",
            where=ACTIVE,
        ),
    )
