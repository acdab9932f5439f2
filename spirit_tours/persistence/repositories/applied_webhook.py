"""What applying a webhook's first delivery changed, written in one statement.

Applying an event changes its payment and, on a credit, the booking, and adds audit entries
and outbox events; the delivery's row goes with them. Flushed by the unit of work, that was
five statements (one per table) plus the ORM's bookkeeping: half of a webhook's CPU. Here the
changes are read off the (locked) objects and written in one data-modifying CTE, built once
and bound per delivery. A change this statement does not know how to write (a column it does
not set, a new object of another kind, such as an overpayment's refund) is left to the unit of
work: :func:`write_applied` then answers False and writes nothing.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Enum,
    Integer,
    Select,
    String,
    Table,
    Text,
    bindparam,
    column,
    func,
    inspect,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE
from sqlalchemy.types import TypeEngine

from spirit_tours.core.clock import now_utc
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.events import AuditEntry, OutboxEvent
from spirit_tours.persistence.payments import Payment, WebhookDelivery


def _table(model: type[object]) -> Table:
    table = getattr(model, "__table__")  # noqa: B009 (the mapped classes' Table)
    assert isinstance(table, Table)
    return table


_PAYMENTS, _BOOKINGS = _table(Payment), _table(Booking)
_AUDIT, _EVENTS, _DELIVERIES = _table(AuditEntry), _table(OutboxEvent), _table(WebhookDelivery)
# What applying an event may change; anything else goes through the unit of work.
PAYMENT_COLUMNS = ("provider", "provider_reference", "card_last4", "status", "refunded_amount",
                   "failure_reason", "credited_at", "credited_amount")  # fmt: skip
BOOKING_COLUMNS = ("amount_paid", "status", "confirmed_at")
AUDIT_COLUMNS = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "details")
EVENT_COLUMNS = ("occurred_at", "kind", "aggregate_type", "aggregate_id", "payload", "trace_parent")
# A delivery's row but its payment (bound as ``delivery_<column>``, as the webhook claim
# binds a duplicate's).
DELIVERY_COLUMNS = ("provider", "received_at", "signature_valid", "event_id", "kind", "headers",
                    "body", "outcome", "detail", "replayed_by_id")  # fmt: skip
_DELIVERY_ROW = (*DELIVERY_COLUMNS, "payment_id")


def _changes(table: Table, prefix: str, names: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in names
    }
    values["updated_at"] = bindparam("changed_at", type_=table.c.updated_at.type)
    return values


def _unbounded(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    return Text() if isinstance(type_, String) and not isinstance(type_, Enum) else type_


def _insert_rows(
    table: Table, rows: str, names: Sequence[str], **computed: ColumnElement[Any]
) -> CTE:
    """Insert the rows bound as ``rows`` (a JSON array of objects with the columns ``names``
    and ``n``, the order they were added in, which the inserts follow) and the ``computed``
    columns. Strings are read as ``text``: the insert then refuses one too long for its column
    (an explicit ``varchar(n)`` would cut it short)."""
    typed = (column(name, _unbounded(table.c[name].type)) for name in names)
    found = (
        func.jsonb_to_recordset(bindparam(rows, type_=JSONB))
        .table_valued(*typed, column("n", Integer))
        .render_derived(with_types=True)
    )
    chosen = [*(found.c[name] for name in names), *computed.values()]
    values = select(*chosen).order_by(found.c.n)
    return insert(table).from_select([*names, *computed], values).cte(rows)


@functools.cache
def _statement() -> Select[tuple[uuid.UUID]]:
    """Bound with no payment or booking id when that row did not change: its update then
    matches nothing, as the unit of work would have written nothing. Built on first use, once
    every model is mapped (a foreign key's column takes its type from the column it names)."""
    payment = (
        update(_PAYMENTS)
        .where(_PAYMENTS.c.id == bindparam("changed_payment", type_=_PAYMENTS.c.id.type))
        .values(_changes(_PAYMENTS, "payment", PAYMENT_COLUMNS))
        .returning(_PAYMENTS.c.id)
        .cte("payment")
    )
    booking = (
        update(_BOOKINGS)
        .where(_BOOKINGS.c.id == bindparam("changed_booking", type_=_BOOKINGS.c.id.type))
        .values(_changes(_BOOKINGS, "booking", BOOKING_COLUMNS))
        .cte("booking")
    )
    audit = _insert_rows(_AUDIT, "audit_rows", AUDIT_COLUMNS, id=func.gen_random_uuid())
    # In the order they were emitted: the identity the relay publishes them by follows it.
    events = _insert_rows(
        _EVENTS, "event_rows", EVENT_COLUMNS, rooms=literal_column("'{}'", _EVENTS.c.rooms.type)
    )  # the relay's
    delivery = (
        insert(_DELIVERIES)
        .values(
            **{
                name: bindparam(f"delivery_{name}", type_=_DELIVERIES.c[name].type)
                for name in _DELIVERY_ROW
            },
        )
        .cte("delivery")
    )
    return select(payment.c.id).add_cte(booking, audit, events, delivery)


_WRITTEN: dict[type[object], set[str]] = {
    AuditEntry: set(AUDIT_COLUMNS),
    OutboxEvent: set(EVENT_COLUMNS),
}


def _modified(instance: object) -> set[str]:
    """The attributes of a loaded object changed since it was loaded: of those it was told
    of (set, even to the same value), the ones whose value differs. (Asking every attribute
    for its history was a tenth of a delivery's CPU.)"""
    state = inspect(instance)
    touched = set(state.manager).difference(state.unmodified)
    return {key for key in touched if state.attrs[key].history.added}


def _writable(instance: object) -> bool:
    """A new object this statement writes whole: an audit entry or an event, with nothing set
    but the columns it copies (an id or rooms given would be lost)."""
    columns = _WRITTEN.get(type(instance))
    return columns is not None and _modified(instance) <= columns


def _iso(moment: datetime | None) -> str:
    return (moment or now_utc()).isoformat()


def _audit_row(n: int, entry: AuditEntry) -> dict[str, Any]:
    return {
        "n": n,
        "at": _iso(entry.at),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_role": entry.actor_role.value if entry.actor_role else None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": str(entry.object_id) if entry.object_id else None,
        "details": entry.details or {},
    }


def _event_row(n: int, event: OutboxEvent) -> dict[str, Any]:
    return {
        "n": n,
        "occurred_at": _iso(event.occurred_at),
        "kind": str(event.kind),
        "aggregate_type": event.aggregate_type,
        "aggregate_id": str(event.aggregate_id),
        "payload": event.payload or {},
        "trace_parent": event.trace_parent,
    }


async def write_applied(
    session: AsyncSession, payment: Payment, booking: Booking, delivery: Mapping[str, Any]
) -> bool:
    """Write the changes to ``payment`` and ``booking`` (both locked in this transaction),
    the audit entries and events the session holds, and the delivery's row (values named as
    :data:`DELIVERY_COLUMNS`, and its ``payment_id``), in one statement; the objects then
    leave the session, so its commit writes nothing more. False, with nothing written, when a
    change is not one this statement knows: the caller lets the unit of work write it."""
    # In the order they were added, as the unit of work would insert them.
    new = sorted(session.new, key=lambda instance: inspect(instance).insert_order or 0)
    if not all(_writable(instance) for instance in new):
        return False
    if set(session.dirty) - {payment, booking} or session.deleted:
        return False
    payment_changed = _modified(payment)
    booking_changed = _modified(booking)
    if not payment_changed <= {*PAYMENT_COLUMNS, "updated_at"}:
        return False
    if not booking_changed <= {*BOOKING_COLUMNS, "updated_at"}:
        return False
    now = now_utc()
    values: dict[str, Any] = {
        "changed_payment": payment.id if payment_changed else None,
        "changed_booking": booking.id if booking_changed else None,
        "changed_at": now,
        "audit_rows": [
            _audit_row(n, entry) for n, entry in enumerate(new) if isinstance(entry, AuditEntry)
        ],
        "event_rows": [
            _event_row(n, event) for n, event in enumerate(new) if isinstance(event, OutboxEvent)
        ],
    }
    values.update((f"payment_{name}", getattr(payment, name)) for name in PAYMENT_COLUMNS)
    values.update((f"booking_{name}", getattr(booking, name)) for name in BOOKING_COLUMNS)
    values.update((f"delivery_{name}", delivery[name]) for name in _DELIVERY_ROW)
    for instance in (*new, payment, booking):
        session.expunge(instance)  # written below, not by the unit of work
    if payment_changed:
        payment.updated_at = now
    if booking_changed:
        booking.updated_at = now
    await session.execute(_statement(), values)
    return True
