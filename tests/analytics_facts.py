"""A small known history for the analytics tests, written through the persistence models with
the timestamps each test names (the real flows stamp rows with the current time, and a report's
medians and months are about time)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import (
    BookingStatus,
    InvitationStatus,
    OfferStatus,
    PaymentMethod,
    PaymentStatus,
    Provider,
    QuotationStatus,
    RefundStatus,
    Role,
)
from spirit_tours.persistence.accounts import Hotel, User
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation
from tests.conftest import PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient

ANALYTICS_VIEWS = (
    "analytics_hotel_invitations",
    "analytics_hotel_monthly",
    "analytics_booking_cancellations",
    "analytics_payment_outcomes",
)


def at(day: str, hour: float = 0) -> datetime:
    """``at("2026-10-05", 10)``: that day at 10:00 UTC."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hour)


@dataclass(frozen=True)
class HotelRef:
    id: uuid.UUID
    company_id: uuid.UUID
    user_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Cast:
    admin: User
    agency: User
    hotels: list[HotelRef]


async def cast(sessions: SessionFactory, make_user: UserFactory) -> Cast:
    """An operator, an agency and three hotels of three companies."""
    admin = await make_user("admin@op.example", Role.ADMIN)
    agency = await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    hotels = []
    for n, name in enumerate(("Inti Palace", "Qorikancha Suites", "Andean Lodge")):
        user = await make_user(f"hotel{n}@hotels.example", Role.HOTEL, company=f"{name} Co",
                               hotel=name)  # fmt: skip
        async with sessions() as session:
            hotel = await session.scalar(select(Hotel).where(Hotel.company_id == user.company_id))
        assert hotel is not None
        hotels.append(HotelRef(hotel.id, hotel.company_id, user.id, name))
    return Cast(admin, agency, hotels)


async def quotation(
    session: AsyncSession,
    cast: Cast,
    created: datetime,
    *,
    destination: str = "Cusco",
    currency: str = "USD",
    status: QuotationStatus = QuotationStatus.OPEN,
) -> Quotation:
    row = Quotation(
        id=uuid.uuid4(),
        owner_company_id=cast.agency.company_id,
        owner_user_id=cast.agency.id,
        destination=destination,
        start_date=date(2027, 3, 1),
        end_date=date(2027, 3, 5),
        travellers=4,
        rooms=[{"type": "DOUBLE", "count": 2}],
        extra_services=[],
        currency=currency,
        offer_deadline=created + timedelta(days=10),
        status=status,
        created_at=created,
        updated_at=created,
    )
    session.add(row)
    await session.flush()
    return row


async def invite(
    session: AsyncSession, q: Quotation, hotel: HotelRef, invited: datetime, alias: str
) -> HotelInvitation:
    row = HotelInvitation(
        id=uuid.uuid4(),
        quotation_id=q.id,
        hotel_id=hotel.id,
        hotel_company_id=hotel.company_id,
        alias=alias,
        status=InvitationStatus.INVITED,
        created_at=invited,
        updated_at=invited,
    )
    session.add(row)
    await session.flush()
    return row


def decline(invitation: HotelInvitation, when: datetime) -> None:
    invitation.status = InvitationStatus.DECLINED
    invitation.decline_reason = "Full"
    invitation.updated_at = when


async def offer(
    session: AsyncSession,
    invitation: HotelInvitation,
    hotel: HotelRef,
    when: datetime,
    price: str,
    *,
    currency: str = "USD",
    withdrawn: bool = False,
) -> HotelOffer:
    invitation.status = InvitationStatus.RESPONDED
    invitation.updated_at = when
    row = HotelOffer(
        id=uuid.uuid4(),
        quotation_id=invitation.quotation_id,
        hotel_id=hotel.id,
        hotel_company_id=hotel.company_id,
        submitted_by_id=hotel.user_id,
        net_price=Decimal(price),
        currency=currency,
        valid_until=date(2027, 1, 1),
        status=OfferStatus.WITHDRAWN if withdrawn else OfferStatus.ACTIVE,
        revision=2 if withdrawn else 1,
        created_at=when,
        updated_at=when + timedelta(hours=1) if withdrawn else when,
    )
    session.add(row)
    await session.flush()
    return row


async def booking(
    session: AsyncSession,
    cast: Cast,
    booked: datetime,
    *,
    destination: str = "Cusco",
    currency: str = "USD",
    start: date = date(2027, 3, 1),
    price: str = "1000.00",
    paid: str = "0",
) -> Booking:
    """A booking of a quotation of its own (a booking needs one: ``quotation_id`` is unique)."""
    q = await quotation(session, cast, booked - timedelta(days=5), destination=destination,
                  currency=currency, status=QuotationStatus.BOOKED)  # fmt: skip
    row = Booking(
        id=uuid.uuid4(),
        quotation_id=q.id,
        owner_company_id=cast.agency.company_id,
        owner_user_id=cast.agency.id,
        created_by_id=cast.agency.id,
        destination=destination,
        start_date=start,
        end_date=start + timedelta(days=4),
        travellers=4,
        rooms=q.rooms,
        currency=currency,
        selling_price=Decimal(price),
        amount_paid=Decimal(paid),
        status=BookingStatus.CONFIRMED if Decimal(paid) else BookingStatus.PENDING_PAYMENT,
        balance_due_date=start - timedelta(days=30),
        cancellation_tiers=[{"days_before": 30, "refund_percent": "100"}],
        created_at=booked,
        updated_at=booked,
    )
    session.add(row)
    await session.flush()
    return row


async def cancel(
    session: AsyncSession,
    b: Booking,
    when: datetime,
    *,
    refund_percent: str | None = None,
    refund_status: RefundStatus = RefundStatus.DUE,
) -> BookingRefund | None:
    """Cancel as ``cancel_booking`` does: the refund its policy made due, if any."""
    b.status = BookingStatus.CANCELLED
    b.cancelled_at = when
    b.cancellation_reason = "Plans changed"
    if refund_percent is None:
        return None
    percent = Decimal(refund_percent)
    refund = BookingRefund(
        id=uuid.uuid4(),
        booking_id=b.id,
        amount=(b.amount_paid * percent / 100).quantize(Decimal("0.01")),
        currency=b.currency,
        paid_amount=b.amount_paid,
        refund_percent=percent,
        days_before_start=(b.start_date - when.date()).days,
        reason="Plans changed",
        status=refund_status,
        requested_by_id=b.owner_user_id,
        created_at=when,
    )
    session.add(refund)
    return refund


async def payment(
    session: AsyncSession,
    b: Booking,
    created: datetime,
    *,
    provider: Provider | None,
    method: PaymentMethod = PaymentMethod.CARD,
    status: PaymentStatus,
    amount: str = "100.00",
    credited_after: timedelta | None = None,
    failure_reason: str | None = None,
) -> Payment:
    open_ = status in (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PENDING)
    row = Payment(
        id=uuid.uuid4(),
        booking_id=b.id,
        payer_user_id=b.owner_user_id,
        idempotency_key=f"pay-{uuid.uuid4()}",
        request_hash="0" * 64,
        method=method,
        amount=Decimal(amount),
        currency=b.currency,
        return_url="https://app.example/return",
        status=status,
        provider=provider,
        failure_reason=failure_reason,
        credited_at=created + credited_after if credited_after is not None else None,
        credited_amount=Decimal(amount) if credited_after is not None else Decimal(0),
        hold_until=created + timedelta(minutes=30) if open_ else None,
        created_at=created,
        updated_at=created,
    )
    session.add(row)
    await session.flush()
    return row


async def refresh(sessions: SessionFactory) -> None:
    """Refresh the rollups as the scheduled job does: concurrently, outside a transaction
    block's other work."""
    async with sessions() as session, session.begin():
        for name in ANALYTICS_VIEWS:
            await session.execute(text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}"))


@dataclass(frozen=True)
class Tokens:
    """The ADMIN's token and one of every other role's: the HOTEL is Inti Palace, a hotel of
    the history (whose competitors' figures it must never read)."""

    admin: str
    others: dict[str, str]


async def role_tokens(gql: GraphQLClient, make_user: UserFactory) -> Tokens:
    """Sign in the cast (already made) and a client and a guide of their own."""
    await make_user("emma@example.com", Role.CLIENT)
    await make_user("guide@op.example", Role.GUIDE)
    others = {
        "AGENCY": await gql.token_for("maria@andes.example", PASSWORD),
        "HOTEL": await gql.token_for("hotel0@hotels.example", PASSWORD),
        "CLIENT": await gql.token_for("emma@example.com", PASSWORD),
        "GUIDE": await gql.token_for("guide@op.example", PASSWORD),
    }
    return Tokens(await gql.token_for("admin@op.example", PASSWORD), others)


async def assert_admin_only(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    tokens: Tokens,
    query: str,
    variables: dict[str, Any],
    exports: list[tuple[str, dict[str, str]]],
    secrets: list[str],
) -> None:
    """Every other role is FORBIDDEN and the anonymous UNAUTHENTICATED, on the GraphQL field
    and on each CSV export, and no answer holds any of ``secrets`` (names, figures, prices
    of the report as ADMIN reads it)."""
    viewers: dict[str, str | None] = {**tokens.others, "anonymous": None}
    for role, token in viewers.items():
        result = await gql.execute(query, variables, token=token)
        expected = "UNAUTHENTICATED" if token is None else "FORBIDDEN"
        assert result.codes == [expected], (role, result.body)
        assert not (result.data or {}).get("analytics"), role
        for report, params in exports:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = await http.get(f"/analytics/{report}.csv", params=params, headers=headers)
            assert answer.status_code == (401 if token is None else 403), (role, report)
            for secret in secrets:
                assert secret not in answer.text, (role, report, secret)
        for secret in secrets:
            assert secret not in json.dumps(result.body), (role, secret)
