"""Creating, editing, closing and cancelling quotations."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import (
    CompetitorPrices,
    EventKind,
    ExtraService,
    QuotationStatus,
    Role,
    RoomType,
)
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input, forbidden
from spirit_tours.core.idempotency import fingerprint
from spirit_tours.core.money import currency_code
from spirit_tours.permissions.quotations import (
    ALLOWED,
    Action,
    Relation,
    asks_for_quotations,
    may,
)
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import Quotation
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.quotations import idempotency
from spirit_tours.resolvers.quotations.rules import load_for, require_status

MAX_TRAVELLERS = 500
MAX_ROOMS = 300


@dataclass(frozen=True)
class RoomNeed:
    type: RoomType
    count: int


@dataclass
class QuotationRequest:
    """The request part of a quotation; every field optional on update."""

    destination: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    travellers: int | None = None
    rooms: list[RoomNeed] | None = None
    extra_services: list[ExtraService] | None = None
    notes: str | None = None
    currency: str | None = None
    offer_deadline: datetime | None = None
    competitor_prices: CompetitorPrices | None = None
    provided: set[str] = field(default_factory=set)


def _validate(quotation: Quotation, now: datetime) -> None:
    """Check the whole request as it would be stored."""
    if not quotation.destination.strip():
        raise bad_input("destination", "The destination is required.")
    if len(quotation.destination) > 200:
        raise bad_input("destination", "The destination is at most 200 characters.")
    if quotation.start_date <= now.date():
        raise bad_input("startDate", "The trip must start after today.")
    if quotation.end_date < quotation.start_date:
        raise bad_input("endDate", "The end date is before the start date.")
    if not 1 <= quotation.travellers <= MAX_TRAVELLERS:
        raise bad_input("travellers", f"Travellers must be between 1 and {MAX_TRAVELLERS}.")
    if not quotation.rooms:
        raise bad_input("rooms", "Ask for at least one room.")
    if any(room["count"] < 1 for room in quotation.rooms):
        raise bad_input("rooms", "Each room need asks for at least one room.")
    if sum(room["count"] for room in quotation.rooms) > MAX_ROOMS:
        raise bad_input("rooms", f"At most {MAX_ROOMS} rooms.")
    if quotation.offer_deadline.tzinfo is None:
        raise bad_input("offerDeadline", "The deadline needs a time zone.")
    if quotation.offer_deadline <= now:
        raise bad_input("offerDeadline", "The deadline for offers is in the past.")
    trip_start = datetime.combine(quotation.start_date, time.min, tzinfo=now.tzinfo)
    if quotation.offer_deadline > trip_start:
        raise bad_input("offerDeadline", "The deadline for offers is after the trip starts.")


def _rooms(rooms: list[RoomNeed]) -> list[dict[str, Any]]:
    merged: dict[RoomType, int] = {}
    for room in rooms:
        merged[room.type] = merged.get(room.type, 0) + room.count
    return [{"type": kind.value, "count": count} for kind, count in merged.items()]


def _apply(quotation: Quotation, request: QuotationRequest) -> None:
    if request.destination is not None:
        quotation.destination = request.destination.strip()
    if request.start_date is not None:
        quotation.start_date = request.start_date
    if request.end_date is not None:
        quotation.end_date = request.end_date
    if request.travellers is not None:
        quotation.travellers = request.travellers
    if request.rooms is not None:
        quotation.rooms = _rooms(request.rooms)
    if request.extra_services is not None:
        quotation.extra_services = sorted(set(request.extra_services))
    if request.notes is not None:
        quotation.notes = request.notes
    if request.currency is not None:
        quotation.currency = currency_code(request.currency)
    if request.offer_deadline is not None:
        quotation.offer_deadline = request.offer_deadline
    if request.competitor_prices is not None:
        quotation.competitor_prices = request.competitor_prices


def request_digest(request: QuotationRequest) -> str:
    """The fingerprint of what was asked (not of which fields were given): a retry matches."""
    fields = asdict(request)
    fields.pop("provided")
    return fingerprint(**fields)


async def create_quotation(
    session: AsyncSession,
    viewer: Viewer,
    request: QuotationRequest,
    idempotency_key: str | None = None,
) -> Quotation:
    """An AGENCY (for its company) or a CLIENT (for themselves) asks for a quotation; a retry
    with the same ``idempotency_key`` and input returns the quotation it created."""
    if not asks_for_quotations(viewer):
        raise forbidden("Only agencies and clients ask for quotations.")
    digest = request_digest(request)
    if idempotency_key is not None:
        found = await idempotency.created_before(session, viewer, idempotency_key, digest)
        if found is not None:
            return found
    missing = [
        name
        for name in ("destination", "start_date", "end_date", "travellers", "rooms",
                     "currency", "offer_deadline")
        if getattr(request, name) is None
    ]  # fmt: skip
    if missing:
        raise bad_input(missing[0], f"{missing[0]} is required.")
    if request.competitor_prices is not None:
        raise forbidden("The operator decides what competing hotels see.")
    quotation = Quotation(
        id=uuid.uuid4(),
        owner_company_id=viewer.company_id if viewer.role == Role.AGENCY else None,
        owner_user_id=viewer.user_id,
        extra_services=[],
        notes="",
        competitor_prices=CompetitorPrices.HIDDEN,
        status=QuotationStatus.DRAFT,
    )
    _apply(quotation, request)
    now = now_utc()
    _validate(quotation, now)
    if idempotency_key is None:
        session.add(quotation)
        await session.flush()
    elif await idempotency.insert_once(session, viewer, quotation, idempotency_key, digest) is None:
        found = await idempotency.created_before(session, viewer, idempotency_key, digest)
        assert found is not None  # the concurrent request that won the key committed it
        return found
    record_audit(session, viewer, "quotation.create", "Quotation", quotation.id,
                 destination=quotation.destination)  # fmt: skip
    emit_event(session, EventKind.QUOTATION_CREATED, "Quotation", quotation.id)
    return quotation


async def update_quotation(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, request: QuotationRequest
) -> Quotation:
    """The owner or the operator edits a DRAFT; the operator may also move the deadline
    and set what competitors see while it is OPEN."""
    quotation, relation = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.UPDATE]
    )
    now = now_utc()
    if request.competitor_prices is not None and not may(Action.SET_COMPETITOR_PRICES, relation):
        raise forbidden("The operator decides what competing hotels see.")
    if quotation.status == QuotationStatus.OPEN and relation == Relation.ADMIN:
        allowed_open = {"offer_deadline", "competitor_prices", "notes"}
        if request.provided - allowed_open:
            raise DomainError(
                ErrorCode.INVALID_STATE,
                "While hotels are bidding only the deadline, notes and competitor "
                "visibility can change.",
                status=quotation.status.value,
            )
    else:
        require_status(quotation, now, QuotationStatus.DRAFT, action="edit the quotation")
    _apply(quotation, request)
    _validate(quotation, now)
    record_audit(session, viewer, "quotation.update", "Quotation", quotation.id,
                 fields=sorted(request.provided))  # fmt: skip
    emit_event(session, EventKind.QUOTATION_UPDATED, "Quotation", quotation.id)
    return quotation


async def close_quotation(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID
) -> Quotation:
    """The operator stops taking offers before the deadline."""
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.CLOSE]
    )
    now = now_utc()
    require_status(quotation, now, QuotationStatus.OPEN, QuotationStatus.CLOSED,
                   action="close the quotation")  # fmt: skip
    quotation.status = QuotationStatus.CLOSED
    record_audit(session, viewer, "quotation.close", "Quotation", quotation.id)
    emit_event(session, EventKind.QUOTATION_CLOSED, "Quotation", quotation.id)
    return quotation


_CANCELLABLE = (
    QuotationStatus.DRAFT,
    QuotationStatus.OPEN,
    QuotationStatus.CLOSED,
    QuotationStatus.PROPOSED,
    QuotationStatus.APPROVED,
)


async def cancel_quotation(
    session: AsyncSession, viewer: Viewer, quotation_id: uuid.UUID, reason: str
) -> Quotation:
    quotation, _ = await load_for(
        session, viewer, quotation_id, lock="update", allowed=ALLOWED[Action.CANCEL]
    )
    require_status(quotation, now_utc(), *_CANCELLABLE, action="cancel the quotation")
    quotation.status = QuotationStatus.CANCELLED
    quotation.decided_at = now_utc()
    record_audit(session, viewer, "quotation.cancel", "Quotation", quotation.id, reason=reason)
    emit_event(session, EventKind.QUOTATION_CANCELLED, "Quotation", quotation.id)
    return quotation


async def expire_started(session: AsyncSession, today: date) -> list[uuid.UUID]:
    """Quotations never booked whose trip has started become EXPIRED, each with its event."""
    live = (
        QuotationStatus.DRAFT,
        QuotationStatus.OPEN,
        QuotationStatus.CLOSED,
        QuotationStatus.PROPOSED,
        QuotationStatus.APPROVED,
    )
    expired = list(
        await session.scalars(
            update(Quotation)
            .where(Quotation.status.in_(live), Quotation.start_date <= today)
            .values(status=QuotationStatus.EXPIRED)
            .returning(Quotation.id)
        )
    )
    for quotation_id in expired:
        emit_event(session, EventKind.QUOTATION_EXPIRED, "Quotation", quotation_id)
    return expired
