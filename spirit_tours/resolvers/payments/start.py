"""Starting a payment: once per idempotency key, one at a time per booking, routed to a
provider with fallbacks.

The first request with a key inserts the payment row (the unique key decides who is first),
talks to the providers outside any transaction, then stores the outcome. Concurrent requests
with the same key and input wait for that outcome and return the same payment; the providers
are called once. A request whose owner died mid-way takes the row over after
:data:`STALE_CLAIM`; the provider-side idempotency key (derived from the payment id) keeps that
retry from charging twice. Requests with other keys queue on the booking's row lock and are
refused (CONFLICT, ``field: bookingId``, the open ``paymentId``) while the booking has an open
payment whose hold has not lapsed (see :mod:`.holds`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import (
    Select,
    String,
    Table,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from spirit_tours.core.booking_policies import payment_policy_of
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import (
    OPEN_STATUSES,
    AttemptOutcome,
    BookingStatus,
    EventKind,
    PaymentMethod,
    PaymentStatus,
)
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input
from spirit_tours.core.idempotency import fingerprint, idempotency_key, require_same_request
from spirit_tours.core.money import positive_amount
from spirit_tours.core.tracing import current_traceparent
from spirit_tours.payments.gateway import (
    Payer,
    PaymentError,
    PaymentGateway,
    PaymentRequest,
    ProviderPayment,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from spirit_tours.payments.outcomes import payment_moved
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.permissions.bookings import BOOKING_ALLOWED, BookingAction
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.repositories.events import audit_values, audited, emit_event
from spirit_tours.resolvers.bookings.rules import ACTIVE, load_booking, require_booking_status
from spirit_tours.resolvers.payments.holds import (
    STALE_CLAIM,
    Lapsed,
    call_off,
    expire_lapsed,
    open_payment,
)
from spirit_tours.resolvers.payments.rules import may_move

log = logging.getLogger(__name__)

__all__ = ["STALE_CLAIM", "PaymentOrder", "amount_due_now", "start_payment"]
_POLL_SECONDS = 0.1
_MAX_POLL_SECONDS = 0.8
_METHODS_NEEDING_DOCUMENT = (PaymentMethod.PIX, PaymentMethod.BOLETO, PaymentMethod.PSE)


@dataclass(frozen=True)
class PaymentOrder:
    booking_id: uuid.UUID
    method: PaymentMethod
    return_url: str
    idempotency_key: str
    amount: Decimal | None = None
    installments: int | None = None
    country: str | None = None
    document: str | None = None
    bank_code: str | None = None
    ip_address: str | None = None

    def validated(self) -> PaymentOrder:
        idempotency_key(self.idempotency_key)
        url = urlsplit(self.return_url)
        if url.scheme not in ("http", "https") or not url.netloc or len(self.return_url) > 2000:
            raise bad_input("returnUrl", "An absolute http(s) URL the payer returns to.")
        if self.installments is not None and not 1 <= self.installments <= 24:
            raise bad_input("installments", "From 1 to 24 installments.")
        if self.installments and self.installments > 1 and self.method != PaymentMethod.CARD:
            raise bad_input("installments", "Only card payments take installments.")
        if self.country is not None and not (len(self.country) == 2 and self.country.isalpha()):
            raise bad_input("country", "An ISO 3166-1 alpha-2 code, e.g. BR.")
        if self.method in _METHODS_NEEDING_DOCUMENT and not (self.document or "").strip():
            raise bad_input("payerDocument", f"{self.method.value} needs the payer's tax id.")
        if self.method == PaymentMethod.PSE and not self.bank_code:
            raise bad_input("bankCode", "PSE needs the payer's bank.")
        return self

    def digest(self) -> str:
        return fingerprint(
            booking=self.booking_id, method=self.method, return_url=self.return_url,
            amount=self.amount, installments=self.installments, country=self.country,
            document=self.document, bank_code=self.bank_code,
        )  # fmt: skip


def amount_due_now(booking: Booking) -> Decimal:
    """What the payer owes at this moment: the rest of the deposit while the booking waits
    for it, the whole balance afterwards."""
    outstanding = booking.selling_price - booking.amount_paid
    if booking.status == BookingStatus.PENDING_PAYMENT:
        policy = payment_policy_of(booking)
        deposit = policy.amount_to_confirm(booking.selling_price, booking.currency)
        return max(min(deposit - booking.amount_paid, outstanding), Decimal(0))
    return outstanding


async def _existing(session: AsyncSession, viewer: Viewer, key: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(
            Payment.payer_user_id == viewer.user_id, Payment.idempotency_key == key
        )
    )


# The payer joined to at most two payments: theirs with this key, and the booking's open one.
_PAYER_AND_PAYMENTS = (
    select(User, Payment)
    .outerjoin(
        Payment,
        ((Payment.payer_user_id == User.id) & (Payment.idempotency_key == bindparam("key")))
        | ((Payment.booking_id == bindparam("booking_id")) & Payment.status.in_(OPEN_STATUSES)),
    )
    .where(User.id == bindparam("user_id"))
)


async def _payer_and_payments(
    session: AsyncSession, viewer: Viewer, order: PaymentOrder, booking_id: uuid.UUID
) -> tuple[User, Payment | None, Payment | None]:
    """The payer, their payment with this idempotency key, and the booking's open payment:
    one statement instead of three, built once."""
    rows = await session.execute(
        _PAYER_AND_PAYMENTS,
        {"key": order.idempotency_key, "booking_id": booking_id, "user_id": viewer.user_id},
    )
    payer: User | None = None
    found = holding = None
    for user, payment in rows:
        payer = user
        if payment is None:
            continue
        if payment.payer_user_id == user.id and payment.idempotency_key == order.idempotency_key:
            found = payment
        if payment.booking_id == booking_id and payment.status in OPEN_STATUSES:
            holding = payment
    if payer is None:  # no such user: as session.get_one says it
        payer = await session.get_one(User, viewer.user_id)
    return payer, found, holding


def _same_request(payment: Payment, digest: str) -> Payment:
    require_same_request(payment.request_hash, digest, "payment", paymentId=str(payment.id))
    return payment


def _held(payment: Payment) -> DomainError:
    until = payment.hold_until.isoformat() if payment.hold_until else None
    return DomainError(
        ErrorCode.CONFLICT,
        "This booking already has a payment in progress: complete it (its nextAction is on "
        "payment(id)), or start a new one after it settles or its hold expires.",
        field="bookingId",
        paymentId=str(payment.id),
        holdExpiresAt=until,
    )


@dataclass(frozen=True)
class _Claim:
    payment_id: uuid.UUID
    owner: bool  # this request talks to the providers
    lapsed: list[Lapsed]  # payments whose hold lapsed on the way: to call off
    request: PaymentRequest | None = None  # the owner's, built from the rows it just read
    claimed_at: datetime | None = None  # the owner's claim, as stored
    booking: Booking | None = None  # the owner's, as read under its lock


async def _claim(
    session: AsyncSession, viewer: Viewer, order: PaymentOrder, hold: timedelta
) -> _Claim:
    """The payment for this key, and whether this request must talk to the providers."""
    digest = order.digest()
    try:
        booking, _ = await load_booking(
            session,
            viewer,
            order.booking_id,
            lock=True,  # starts for one booking queue here, whatever their keys
            allowed=BOOKING_ALLOWED[BookingAction.PAY],
        )
    except DomainError:
        # A key already used answers for its payment first (CONFLICT on a different input),
        # whatever booking the retry names.
        if (found := await _existing(session, viewer, order.idempotency_key)) is not None:
            return _Claim(_same_request(found, digest).id, False, [])
        raise
    # A retry, or a request that queued behind one with the same key, finds its payment now
    # (looked up once, under the lock, with the booking's open payment and the payer: a first
    # request, the common case, pays one read).
    payer, found, holding = await _payer_and_payments(session, viewer, order, booking.id)
    if found is not None:
        return _Claim(_same_request(found, digest).id, False, [])
    require_booking_status(booking, *ACTIVE, action="pay the booking")
    lapsed: list[Lapsed] = []
    if holding is not None:  # only an open payment can lapse: with none, nothing to expire
        lapsed = await expire_lapsed(session, booking_id=booking.id)
        if lapsed:
            holding = await open_payment(session, booking.id)
    if holding is not None:
        raise _held(holding)
    outstanding = booking.selling_price - booking.amount_paid
    amount = order.amount if order.amount is not None else amount_due_now(booking)
    positive_amount(amount, booking.currency, "amount")
    if amount > outstanding:
        raise bad_input("amount", f"Only {outstanding} {booking.currency} is outstanding.")
    now = now_utc()
    inserted = await _insert(session, viewer, order, booking, amount, now, now + hold)
    if inserted is None:  # another request with the same key won the insert just now
        found = await _existing(session, viewer, order.idempotency_key)
        assert found is not None
        return _Claim(_same_request(found, digest).id, False, lapsed)
    # The values _insert just stored (and audited), without reading them back.
    request = _request(inserted, booking, payer, order, amount=amount,
                       currency=booking.currency, method=order.method,
                       country=order.country.upper() if order.country else None,
                       return_url=order.return_url, installments=order.installments)  # fmt: skip
    return _Claim(inserted, True, lapsed, request, now, booking)


_PAYMENTS = Payment.__table__
assert isinstance(_PAYMENTS, Table)
_INSERTED_COLUMNS = (
    "id", "booking_id", "payer_user_id", "idempotency_key", "request_hash", "method", "amount",
    "currency", "installments", "payer_country", "return_url", "status", "next_action",
    "refunded_amount", "credited_amount", "attempts", "claimed_at", "hold_until", "created_at",
    "updated_at",
)  # fmt: skip
# Built once, bound per request (built anew, SQLAlchemy coerced twenty values and computed
# the statement's cache key each time: most of what a profile showed for it). On the table,
# not the entity: the ORM would take bound values for a bulk insert. Any arbiter: the key (a
# retry won the insert just now) or the one-open-payment index; told apart below. No
# savepoint: two round trips fewer than catching the IntegrityError of the index.
_INSERT = audited(
    insert(_PAYMENTS)
    .values({name: bindparam(name, type_=_PAYMENTS.c[name].type) for name in _INSERTED_COLUMNS})
    .on_conflict_do_nothing()
    .returning(_PAYMENTS.c.id)
)


async def _insert(
    session: AsyncSession,
    viewer: Viewer,
    order: PaymentOrder,
    booking: Booking,
    amount: Decimal,
    now: datetime,
    hold_until: datetime,
) -> uuid.UUID | None:
    """Insert the payment, audited; None when its key was taken. The partial unique index
    refuses a second open payment of the booking even on a path that skipped the row lock."""
    values = {
        "id": uuid.uuid4(),
        "booking_id": booking.id,
        "payer_user_id": viewer.user_id,
        "idempotency_key": order.idempotency_key,
        "request_hash": order.digest(),
        "method": order.method,
        "amount": amount,
        "currency": booking.currency,
        "installments": order.installments,
        "payer_country": order.country.upper() if order.country else None,
        "return_url": order.return_url,
        "status": PaymentStatus.CREATED,
        "next_action": {},
        "refunded_amount": Decimal(0),
        "credited_amount": Decimal(0),
        "attempts": [],
        "claimed_at": now,
        "hold_until": hold_until,
        "created_at": now,
        "updated_at": now,
        **audit_values(viewer, "payment.start", "Payment", booking_id=str(booking.id),
                       amount=str(amount), method=order.method.value),
    }  # fmt: skip
    inserted: uuid.UUID | None = await session.scalar(_INSERT, values)
    if inserted is not None or await _existing(session, viewer, order.idempotency_key):
        return inserted
    # Not the key: the partial unique index refused a second open payment.
    holding = await open_payment(session, booking.id)
    assert holding is not None
    raise _held(holding)


@dataclass(frozen=True)
class Started:
    """The payment a ``startPayment`` is about; when this request stored the provider's answer,
    the payment as stored and its booking (as read under the booking's lock), so the answer
    needs no read back. Neither has been checked against the viewer: see
    :func:`~spirit_tours.resolvers.payments.rules.visible_payment`."""

    payment_id: uuid.UUID
    stored: Payment | None = None
    booking: Booking | None = None


async def start_payment(
    sessions: SessionFactory,
    providers: PaymentProviders,
    viewer: Viewer,
    order: PaymentOrder,
    *,
    wait_seconds: float = 60.0,
) -> Started:
    order.validated()
    async with sessions() as session, session.begin():
        claim = await _claim(session, viewer, order, providers.hold)
    if claim.lapsed:
        await call_off(sessions, providers, claim.lapsed)
    if claim.owner:
        stored = await _pay(
            sessions, providers, claim.payment_id, order, claim.request, claim.claimed_at
        )
        return Started(claim.payment_id, stored, claim.booking if stored else None)
    return Started(await _await_outcome(sessions, providers, claim.payment_id, order, wait_seconds))


async def _await_outcome(
    sessions: SessionFactory,
    providers: PaymentProviders,
    payment_id: uuid.UUID,
    order: PaymentOrder,
    wait_seconds: float,
) -> uuid.UUID:
    """Wait for the request that owns this key; take over if it died.

    The pause between looks doubles up to :data:`_MAX_POLL_SECONDS`: a provider answers in
    well under a second, and under load many retries wait at once (each look is a round trip
    the owners then queue behind). The claim is taken over only once it is stale."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    pause = _POLL_SECONDS
    while loop.time() < deadline:
        taken = False
        async with sessions() as session, session.begin():
            status, claimed_at = (
                await session.execute(
                    select(Payment.status, Payment.claimed_at).where(Payment.id == payment_id)
                )
            ).one()
            if status != PaymentStatus.CREATED:
                return payment_id
            if claimed_at is not None and claimed_at < now_utc() - STALE_CLAIM:
                claimed_at = now_utc()
                result = await session.execute(
                    update(Payment)
                    .where(
                        Payment.id == payment_id,
                        Payment.status == PaymentStatus.CREATED,
                        Payment.claimed_at < claimed_at - STALE_CLAIM,
                    )
                    .values(claimed_at=claimed_at)
                )
                taken = bool(result.rowcount)  # type: ignore[attr-defined]
        if taken:
            await _pay(sessions, providers, payment_id, order, claimed_at=claimed_at)
            return payment_id
        await asyncio.sleep(min(pause, max(deadline - loop.time(), 0)))
        pause = min(pause * 2, _MAX_POLL_SECONDS)
    raise DomainError(
        ErrorCode.CONFLICT,
        "A payment with this idempotency key is still being processed; retry in a moment.",
        field="idempotencyKey",
        paymentId=str(payment_id),
    )


def _request(
    payment_id: uuid.UUID,
    booking: Booking,
    payer: User,
    order: PaymentOrder,
    *,
    amount: Decimal,
    currency: str,
    method: PaymentMethod,
    country: str | None,
    return_url: str,
    installments: int | None,
) -> PaymentRequest:
    """What the providers are asked for one payment: its stored values, the payer's name and
    e-mail, and what the order carries but the payment does not keep (document, IP, bank)."""
    return PaymentRequest(
        payment_id=payment_id,
        description=f"Spirit Tours {booking.reference}: {booking.destination}",
        amount=amount,
        currency=currency,
        method=method,
        payer=Payer(
            email=payer.email,
            full_name=payer.full_name,
            country=country,
            document=order.document,
            ip_address=order.ip_address,
        ),
        return_url=return_url,
        idempotency_key=f"spirit-{payment_id}",
        installments=installments,
        bank_code=order.bank_code,
    )


async def _request_for(
    sessions: SessionFactory, payment_id: uuid.UUID, order: PaymentOrder
) -> PaymentRequest:
    """The request of a payment taken over from a request that died: read back."""
    async with sessions() as session:
        payment = await session.get_one(Payment, payment_id)
        booking = await session.get_one(Booking, payment.booking_id)
        payer = await session.get_one(User, payment.payer_user_id)
    return _request(payment.id, booking, payer, order, amount=payment.amount,
                    currency=payment.currency, method=payment.method,
                    country=payment.payer_country, return_url=payment.return_url,
                    installments=payment.installments)  # fmt: skip


async def _try(
    gateway: PaymentGateway, request: PaymentRequest, limit_seconds: float
) -> ProviderPayment:
    try:
        async with asyncio.timeout(limit_seconds):
            return await gateway.create_payment(request)
    except TimeoutError as error:
        raise ProviderUnavailableError(gateway.provider, "timed out") from error


async def _pay(
    sessions: SessionFactory,
    providers: PaymentProviders,
    payment_id: uuid.UUID,
    order: PaymentOrder,
    request: PaymentRequest | None = None,
    claimed_at: datetime | None = None,
) -> Payment | None:
    """Try the planned providers in order; store what the first one to answer said. The payment
    as stored when it took the one-statement way (:func:`_store_started`), else None."""
    if request is None:
        request = await _request_for(sessions, payment_id, order)
    plan = providers.plan(request.method, request.currency, request.payer.country, request.amount)
    attempts: list[dict[str, str]] = []
    result: ProviderPayment | None = None
    chosen: PaymentGateway | None = None
    failure = f"No payment provider takes {request.method.value} in {request.currency} here."
    for gateway in plan:
        try:
            result = await _try(gateway, request, providers.call_timeout)
        except ProviderUnavailableError as error:
            providers.breaker.failed(gateway.provider)
            attempts.append(_attempt(gateway, AttemptOutcome.UNAVAILABLE, error))
            failure = "No payment provider is available right now; try again later."
            continue
        except ProviderRejectedError as error:
            providers.breaker.succeeded(gateway.provider)
            attempts.append(_attempt(gateway, AttemptOutcome.REJECTED, error))
            failure = error.message
            break
        except Exception as error:  # an adapter bug must not leave the payment stuck
            log.exception("payment provider %s failed unexpectedly", gateway.provider.value)
            providers.breaker.failed(gateway.provider)
            unexpected = ProviderUnavailableError(gateway.provider, type(error).__name__)
            attempts.append(_attempt(gateway, AttemptOutcome.UNAVAILABLE, unexpected))
            failure = "No payment provider is available right now; try again later."
            continue
        providers.breaker.succeeded(gateway.provider)
        accepted = AttemptOutcome.ACCEPTED.value
        attempts.append({"provider": gateway.provider.value, "outcome": accepted,
                         "at": now_utc().isoformat()})  # fmt: skip
        chosen = gateway
        break
    if chosen is not None and result is not None and claimed_at is not None:
        stored = await _store_started(sessions, payment_id, claimed_at, chosen, result, attempts)
        if stored is not None:
            return stored
    await _store(sessions, payment_id, chosen, result, attempts, failure)
    return None


def _attempt(
    gateway: PaymentGateway, outcome: AttemptOutcome, error: PaymentError
) -> dict[str, str]:
    log.warning("payment provider %s: %s", gateway.provider.value, error)
    return {"provider": gateway.provider.value, "outcome": outcome.value, "message": error.message,
            "at": now_utc().isoformat()}  # fmt: skip


def _started_statement() -> Select[Payment]:
    """The provider's answer stored on a payment still CREATED under this request's claim,
    with its ``payment.started`` event, in one statement (its values bound by name)."""
    moved = (
        update(Payment)
        .where(
            Payment.id == bindparam("payment_id"),
            Payment.status == PaymentStatus.CREATED,
            Payment.claimed_at == bindparam("claimed_at"),
        )
        .values(
            status=bindparam("status"),
            provider=bindparam("provider"),
            provider_reference=func.coalesce(
                Payment.provider_reference, bindparam("provider_reference")
            ),
            next_action=bindparam("next_action"),
            attempts=bindparam("attempts"),
            claimed_at=None,
            updated_at=bindparam("updated_at"),
        )
        .returning(*_PAYMENTS.c)  # the payment as stored: the answer, without a read back
        .cte("moved")
    )
    event = insert(OutboxEvent).from_select(
        ["occurred_at", "kind", "aggregate_type", "aggregate_id", "payload", "trace_parent",
         "rooms"],
        select(
            bindparam("updated_at", type_=OutboxEvent.occurred_at.type),
            literal(EventKind.PAYMENT_STARTED.value, OutboxEvent.kind.type),
            literal("Payment", OutboxEvent.aggregate_type.type),
            moved.c.id,
            func.jsonb_build_object(
                "booking_id", cast(moved.c.booking_id, String),
                "provider", bindparam("event_provider", type_=String),
            ),
            bindparam("trace_parent", type_=OutboxEvent.trace_parent.type),
            literal_column("'{}'", OutboxEvent.rooms.type),  # the relay assigns them
        ),
    )  # fmt: skip
    return select(aliased(Payment, moved)).add_cte(event.cte("event"))


_STARTED = _started_statement()


async def _store_started(
    sessions: SessionFactory,
    payment_id: uuid.UUID,
    claimed_at: datetime,
    gateway: PaymentGateway,
    result: ProviderPayment,
    attempts: list[dict[str, str]],
) -> Payment | None:
    """Store the provider's answer when the payment is still CREATED and still claimed by
    this request: then nothing but this request has written its attempts (only storing the
    outcome does, and it ends the claim), so they are replaced without being read, in one
    autocommit statement. The payment as stored; None when the claim was taken over or the
    payment moved: the caller then stores under the payment's lock."""
    status = result.status if may_move(PaymentStatus.CREATED, result.status) else None
    values = {
        "payment_id": payment_id,
        "claimed_at": claimed_at,
        "status": status or PaymentStatus.CREATED,
        "provider": gateway.provider,
        "provider_reference": result.reference,
        "next_action": _action_json(result),
        "attempts": attempts,
        "updated_at": now_utc(),
        "event_provider": gateway.provider.value,
        "trace_parent": current_traceparent(),
    }
    async with sessions() as session:
        # One statement is atomic by itself: no BEGIN and COMMIT round trips around it.
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        stored = await session.scalar(_STARTED, values)
    if stored is None:
        return None
    if status is not None and status != PaymentStatus.CREATED:
        payment_moved(gateway.provider, status)
    return stored


async def _store(
    sessions: SessionFactory,
    payment_id: uuid.UUID,
    gateway: PaymentGateway | None,
    result: ProviderPayment | None,
    attempts: list[dict[str, str]],
    failure: str,
) -> None:
    async with sessions() as session, session.begin():
        # next_action is replaced, never read, and request_hash is not needed: left sealed.
        payment = await session.scalar(
            select(Payment)
            .options(defer(Payment.next_action), defer(Payment.request_hash, raiseload=True))
            .where(Payment.id == payment_id)
            .with_for_update()
        )
        assert payment is not None
        payment.attempts = [*payment.attempts, *attempts]
        payment.claimed_at = None
        if gateway is None or result is None:
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = failure
            payment_moved(gateway.provider if gateway else None, PaymentStatus.FAILED)
            emit_event(session, EventKind.PAYMENT_FAILED, "Payment", payment.id,
                       booking_id=payment.booking_id)  # fmt: skip
            return
        payment.provider = gateway.provider
        if payment.provider_reference is None:
            payment.provider_reference = result.reference
        payment.next_action = _action_json(result)
        if may_move(payment.status, result.status) and payment.status != result.status:
            payment.status = result.status
            payment_moved(gateway.provider, result.status)
        emit_event(session, EventKind.PAYMENT_STARTED, "Payment", payment.id,
                   booking_id=payment.booking_id, provider=gateway.provider.value)  # fmt: skip


def _action_json(result: ProviderPayment) -> dict[str, str | None]:
    action = result.next_action
    return {
        "kind": action.kind.value,
        "client_secret": action.client_secret,
        "redirect_url": action.redirect_url,
        "qr_code": action.qr_code,
        "qr_code_image": action.qr_code_image,
        "voucher_url": action.voucher_url,
        "expires_at": action.expires_at.isoformat() if action.expires_at else None,
    }
