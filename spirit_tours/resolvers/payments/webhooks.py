"""Provider webhooks, verified, recorded, applied exactly once and only forward.

The ``/webhooks/{provider}`` endpoint and the ADMIN ``paymentWebhook`` mutation both call
:func:`receive_webhook`. A delivery whose signature fails changes nothing and is not stored. A
verified event is applied in one transaction with its ``processed_webhooks`` row, so a
duplicate (same provider event id) is recognised and ignored, even when two arrive at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    Table,
    bindparam,
    cast,
    exists,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EventKind, PaymentStatus, Provider, RefundStatus
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.payments.gateway import InvalidSignatureError, WebhookEvent
from spirit_tours.payments.outcomes import WEBHOOK_FAILURES, payment_moved
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking, BookingRefund
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment, ProcessedWebhook, WebhookDelivery
from spirit_tours.persistence.repositories.applied_webhook import DELIVERY_COLUMNS, write_applied
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.bookings.lifecycle import credit_booking
from spirit_tours.resolvers.bookings.rules import ACTIVE
from spirit_tours.resolvers.payments.rules import may_move

_PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
MAX_BODY_BYTES = 256 * 1024
AMOUNT_MISMATCH = "Amount mismatch:"


class WebhookOutcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    IGNORED = "IGNORED"  # verified, but about no payment of ours
    REJECTED = "REJECTED"  # the signature did not verify: nothing changed


@dataclass(frozen=True)
class WebhookResult:
    outcome: WebhookOutcome
    event_id: str | None = None
    payment_id: uuid.UUID | None = None
    detail: str | None = None


def _delivery_values(
    provider: Provider,
    body: bytes,
    headers: Mapping[str, str],
    outcome: WebhookOutcome,
    *,
    event: WebhookEvent | None = None,
    detail: str | None = None,
    replayed_by: Viewer | None = None,
) -> dict[str, Any]:
    """The ``webhook_deliveries`` row of a delivery, but its payment."""
    return {
        "provider": provider,
        "received_at": now_utc(),
        "signature_valid": outcome != WebhookOutcome.REJECTED,
        "event_id": event.event_id if event else None,
        "kind": event.kind[:100] if event else None,
        "headers": dict(headers),
        "body": body.decode("utf-8", errors="replace"),
        "outcome": outcome.value,
        "detail": detail,
        "replayed_by_id": replayed_by.user_id if replayed_by else None,
    }


async def _store_delivery(
    session: AsyncSession,
    provider: Provider,
    body: bytes,
    headers: Mapping[str, str],
    result: WebhookResult,
    event: WebhookEvent,
    replayed_by: Viewer | None,
    claim: WebhookResult | tuple[Payment, Booking],
) -> None:
    """The delivery's row, with what applying it changed when there is a claimed payment, in
    one statement (:mod:`~spirit_tours.persistence.repositories.applied_webhook`); else, or
    when that statement cannot write a change, the row alone (built once, bound per delivery)
    and the unit of work the rest."""
    values = _delivery_values(provider, body, headers, result.outcome, event=event,
                              detail=result.detail, replayed_by=replayed_by)  # fmt: skip
    values["payment_id"] = result.payment_id
    if not isinstance(claim, WebhookResult) and await write_applied(session, *claim, values):
        return
    await session.execute(_STORE_DELIVERY, values)


async def receive_webhook(
    sessions: SessionFactory,
    providers: PaymentProviders,
    provider: Provider,
    body: bytes,
    headers: Mapping[str, str],
    *,
    replayed_by: Viewer | None = None,
) -> WebhookResult:
    gateway = providers.get(provider)
    if gateway is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{provider.value} is not configured here.")
    if len(body) > MAX_BODY_BYTES:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "The webhook body is too large.")
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        event = await gateway.parse_webhook(body, lowered, check_freshness=replayed_by is None)
    except InvalidSignatureError as error:
        # Nothing of an unverified delivery is stored: anyone can send one, as many as they
        # like. The endpoint counts refusals (and limits them per client address); an
        # operator's failed replay is audited, without the body.
        if replayed_by is not None:
            async with sessions() as session, session.begin():
                record_audit(session, replayed_by, "payment.webhook_replay", "Payment", None,
                             provider=provider.value, outcome=WebhookOutcome.REJECTED.value,
                             detail=error.message)  # fmt: skip
        return WebhookResult(WebhookOutcome.REJECTED, detail=error.message)
    try:
        async with sessions() as session, session.begin():
            claim = await _claim(session, provider, event, body, lowered, replayed_by)
            if isinstance(claim, WebhookResult):
                result = claim
            else:
                result = _apply(session, provider, event, *claim)
            if replayed_by is not None:
                record_audit(session, replayed_by, "payment.webhook_replay", "Payment",
                             result.payment_id, provider=provider.value,
                             event_id=event.event_id, outcome=result.outcome.value)  # fmt: skip
            if result.outcome != WebhookOutcome.DUPLICATE:  # the claim recorded a duplicate
                await _store_delivery(session, provider, body, lowered, result, event,
                                      replayed_by, claim)  # fmt: skip
    except Exception:
        WEBHOOK_FAILURES.labels(provider.value).inc()  # verified, yet not processed
        raise
    return result


# Which payment an event is about: our id, when the provider echoes it inside what it signed,
# decides; the provider's own reference is used only when no id came back (some fields of some
# schemes are unsigned). Built once, bound per delivery: building the expressions per call was
# a tenth of a webhook's CPU.
_BY_ID = (Payment.id == bindparam("payment_id")) & (
    (Payment.provider == bindparam("provider")) | Payment.provider.is_(None)
)
_BY_REFERENCE = (Payment.provider == bindparam("provider")) & (
    Payment.provider_reference == bindparam("reference")
)


def _table_of_deliveries() -> Table:
    table = WebhookDelivery.__table__
    assert isinstance(table, Table)
    return table


_DELIVERIES = _table_of_deliveries()
# On the table, not the entity: the ORM would take bound values for a bulk insert.
_STORE_DELIVERY = insert(_DELIVERIES).values(
    {name: bindparam(name, type_=_DELIVERIES.c[name].type)
     for name in (*DELIVERY_COLUMNS, "payment_id")}
)  # fmt: skip


def _claim_statement(condition: ColumnElement[bool]) -> Select[Payment, Booking, bool]:
    """One statement that locks the payment ``condition`` finds, marks the event processed
    and, when it already was, records the delivery as DUPLICATE (its values bound as
    ``delivery_<column>``). Answers the payment and its booking (both locked) and whether this
    delivery is the first; no row when the event is about no payment of ours.

    A duplicate, the most common delivery, costs this one statement; a copy racing the first
    waits for its payment's lock and then finds the event processed. The lock is taken before
    the processed row, as every path that changes a payment takes it first."""
    target = select(Payment).where(condition).limit(1).with_for_update().cte("target")
    locked = aliased(Payment, target)
    # Its booking too, which a success credits: locked after the payment, as every path does.
    # FOR NO KEY UPDATE: it serialises with every change to the booking, yet not with the
    # foreign-key checks of rows that merely point at it (a reminder, a notification).
    booking = (
        select(Booking)
        .join(target, Booking.id == target.c.booking_id)
        .with_for_update(of=Booking, key_share=True)
        .cte("booking")
    )
    locked_booking = aliased(Booking, booking)
    claimed = (
        insert(ProcessedWebhook)
        .from_select(
            ["provider", "event_id", "processed_at"],
            select(
                cast(
                    bindparam("provider", type_=ProcessedWebhook.provider.type),
                    ProcessedWebhook.provider.type,
                ),
                cast(bindparam("event_id", type_=String()), String()),
                cast(
                    bindparam("processed_at", type_=DateTime(timezone=True)),
                    DateTime(timezone=True),
                ),
            ).select_from(target),
        )
        .on_conflict_do_nothing()
        .returning(ProcessedWebhook.event_id)
        .cte("claimed")
    )
    first = exists(select(claimed.c.event_id))
    columns = _DELIVERIES.c
    duplicate_row = select(
        *(cast(bindparam(f"delivery_{name}", type_=columns[name].type), columns[name].type)
          for name in DELIVERY_COLUMNS),
        target.c.id,
    ).where(~first)  # fmt: skip
    # On the table, not the entity: the ORM would take bound values for a bulk insert.
    duplicate = (
        insert(_DELIVERIES)
        .from_select([*DELIVERY_COLUMNS, "payment_id"], duplicate_row)
        .returning(_DELIVERIES.c.id)
        .cte("duplicate")
    )
    # The payment as the lock found it (a READ COMMITTED read elsewhere in the statement could
    # see the version from before a concurrent change it waited for). Applying an event neither
    # reads nor writes its sealed columns: left unloaded, they cost no decryption per delivery
    # (and reading one here would raise instead of loading it).
    sealed = (locked.next_action, locked.attempts, locked.request_hash)
    return (
        select(locked, locked_booking, first.label("first"))
        .join(locked_booking, locked_booking.id == locked.booking_id)
        .options(*(defer(column, raiseload=True) for column in sealed))
        .add_cte(claimed, duplicate)
        .execution_options(populate_existing=True)  # the locked versions, whatever was loaded
    )


_CLAIM = {"id": _claim_statement(_BY_ID), "reference": _claim_statement(_BY_REFERENCE)}


def _payment_of(provider: Provider, event: WebhookEvent) -> tuple[str, dict[str, Any]] | None:
    """How to find the event's payment (``id`` or ``reference``) and the values to bind; None
    when the event names none."""
    if event.payment_id is not None:
        return "id", {"payment_id": event.payment_id, "provider": provider}
    if event.payment_reference:
        return "reference", {"provider": provider, "reference": event.payment_reference}
    return None


async def _claim(
    session: AsyncSession,
    provider: Provider,
    event: WebhookEvent,
    body: bytes,
    headers: Mapping[str, str],
    replayed_by: Viewer | None,
) -> WebhookResult | tuple[Payment, Booking]:
    """The payment this event is first applied to and its booking (both locked), or the result
    when there is nothing to apply: DUPLICATE (its delivery recorded) or IGNORED."""
    found = _payment_of(provider, event)
    if found is not None:
        by, values = found
        delivery = _delivery_values(provider, body, headers, WebhookOutcome.DUPLICATE,
                                    event=event, replayed_by=replayed_by)  # fmt: skip
        bound = {**values, "event_id": event.event_id, "processed_at": delivery["received_at"]}
        bound.update((f"delivery_{name}", delivery[name]) for name in DELIVERY_COLUMNS)
        row = (await session.execute(_CLAIM[by], bound)).first()
        if row is not None:
            payment, booking, first = row
            if first:
                return payment, booking
            return WebhookResult(WebhookOutcome.DUPLICATE, event.event_id, payment.id)
    return WebhookResult(WebhookOutcome.IGNORED, event.event_id, detail="No payment of ours.")


def _apply(
    session: AsyncSession,
    provider: Provider,
    event: WebhookEvent,
    payment: Payment,
    booking: Booking,
) -> WebhookResult:
    """Apply the first delivery of ``event`` to its payment, which :func:`_claim` locked with
    its booking."""
    detail = _update(payment, provider, event)
    if payment.status in _PAID and payment.credited_at is None:
        detail = _credit(session, payment, booking, event) or detail
    return WebhookResult(WebhookOutcome.APPLIED, event.event_id, payment.id, detail)


def _update(payment: Payment, provider: Provider, event: WebhookEvent) -> str | None:
    """Move the payment forward with what the event says; a late or stale event changes
    nothing it should not."""
    if payment.provider is None:
        payment.provider = provider
    if event.payment_reference and payment.provider == provider:
        payment.provider_reference = event.payment_reference
    if event.card_last4:
        payment.card_last4 = event.card_last4[-4:]
    status = event.status
    if event.refunded_amount is not None and event.refunded_amount > payment.refunded_amount:
        payment.refunded_amount = min(event.refunded_amount, payment.amount)
        full = payment.refunded_amount >= payment.amount
        status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    if status is None or not may_move(payment.status, status):
        return f"Stays {payment.status.value}."
    before = payment.status
    payment.status = status
    if status != before:
        payment_moved(provider, status)
    if status == PaymentStatus.FAILED:
        payment.failure_reason = payment.failure_reason or f"{provider.value}: {event.kind}"
    return f"{before.value} → {status.value}"


def _credit(
    session: AsyncSession, payment: Payment, booking: Booking, event: WebhookEvent
) -> str | None:
    """Credit a successful payment to its booking, once, and never beyond its selling price.

    Money the booking cannot take (two payments raced for the same balance, a payment that
    lapsed and was paid anyway, a booking cancelled meanwhile) becomes a refund due from this
    payment, which the refund worker executes like a cancellation's.
    """
    if payment.failure_reason and payment.failure_reason.startswith(AMOUNT_MISMATCH):
        return None  # flagged: only the operator settles it, whatever later events say
    mismatch = event.amount is not None and event.amount != payment.amount
    if mismatch or (event.currency is not None and event.currency != payment.currency):
        payment.failure_reason = (
            f"{AMOUNT_MISMATCH} the provider reports {event.amount} {event.currency}, "
            f"not {payment.amount} {payment.currency}."
        )
        emit_event(session, EventKind.PAYMENT_NEEDS_ATTENTION, "Payment", payment.id,
                   booking_id=payment.booking_id)  # fmt: skip
        return payment.failure_reason
    takes = booking.status in ACTIVE and booking.currency == payment.currency
    room = booking.selling_price - booking.amount_paid if takes else Decimal(0)
    credit = min(payment.amount, max(room, Decimal(0)))
    if credit > 0:
        credit_booking(session, booking, credit, payment.currency)  # locked by the claim
    payment.credited_at = now_utc()
    payment.credited_amount = credit
    if credit > 0:
        emit_event(session, EventKind.PAYMENT_SUCCEEDED, "Payment", payment.id,
                   booking_id=payment.booking_id, amount=str(payment.amount))  # fmt: skip
    excess = payment.amount - credit
    if excess <= 0:
        return None
    return _excess_due(session, payment, booking, excess)


def _excess_due(session: AsyncSession, payment: Payment, booking: Booking, excess: Decimal) -> str:
    """Record the money this payment brought beyond what the booking could take as a refund
    due (sent back from this payment only; never counted as paid), and the event."""
    why = (
        f"{payment.amount} {payment.currency} received, {excess} beyond what booking "
        f"{booking.reference} could take ({booking.status.value}, "
        f"{booking.amount_paid} of {booking.selling_price} paid): refund due to the payer."
    )
    due = BookingRefund(
        id=uuid.uuid4(),
        booking_id=booking.id,
        payment_id=payment.id,
        amount=excess,
        currency=payment.currency,
        paid_amount=payment.amount,
        refund_percent=(Decimal(100) * excess / payment.amount).quantize(Decimal("0.01")),
        days_before_start=(booking.start_date - now_utc().date()).days,
        reason="Paid beyond the booking's price",
        requested_by_id=None,
        status=RefundStatus.DUE,
    )
    session.add(due)
    record_audit(session, None, "payment.overpaid", "Payment", payment.id,
                 booking_id=str(booking.id), amount=str(payment.amount),
                 excess=str(excess), refund_id=str(due.id))  # fmt: skip
    emit_event(session, EventKind.PAYMENT_OVERPAID, "Payment", payment.id,
               booking_id=booking.id, refund_id=due.id, excess=str(excess))  # fmt: skip
    emit_event(session, EventKind.BOOKING_REFUND_DUE, "Booking", booking.id, refund_id=due.id)
    return why


def refunded(payment: Payment, amount: Decimal) -> None:
    """Record money sent back to the payer on the payment."""
    payment.refunded_amount = min(payment.refunded_amount + amount, payment.amount)
    full = payment.refunded_amount >= payment.amount
    target = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    if may_move(payment.status, target) and payment.status != target:
        payment.status = target
        payment_moved(payment.provider, target)
